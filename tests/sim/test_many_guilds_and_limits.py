"""Several guilds in one simulated Discord, and its rate limits as Discord sends them: per-route
buckets keyed by the major parameter, a global limit, 429s counted by scope. Checked on the wire
(aiohttp, headers as sent) and with the real hikari client (whose limiter must understand them)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import hikari
import pytest
from sim_helpers import FIXED_NOW, INTENTS, eventually

from console.sim import SimConfig, SimServer

GUILDS = 3


@pytest.fixture
async def many() -> AsyncIterator[SimServer]:
    server = SimServer(SimConfig(seed=1, heartbeat_interval_ms=400, clock=lambda: FIXED_NOW, guilds=GUILDS))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def _get(sim: SimServer, path: str) -> tuple[int, dict[str, str], Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(sim.rest_url + path, headers={"Authorization": f"Bot {sim.token}"}) as resp,
    ):
        return resp.status, dict(resp.headers), await resp.json()


def test_the_first_guild_is_the_same_whatever_the_number_of_guilds() -> None:
    one = SimServer(SimConfig(seed=3, clock=lambda: FIXED_NOW))
    three = SimServer(SimConfig(seed=3, clock=lambda: FIXED_NOW, guilds=3))
    assert list(one.guilds) == [one.guild_id]
    assert three.guild.gateway_guild_object() == one.guild.gateway_guild_object()
    assert len(three.guilds) == 3
    others = [g for g in three.guilds.values() if g is not three.guild]
    assert {g.bot_id for g in others} == {three.bot_id}  # one bot in every guild
    assert [g.name for g in others] == ["Sim Guild 2", "Sim Guild 3"]
    # (A guild's id is its @everyone role's.)
    ids = [i for g in three.guilds.values() for i in (*g.roles, *g.channels, *g.members)]
    bots = len(three.guilds) - 1  # the bot is a member of each guild
    assert len(ids) - len(set(ids)) == bots  # ids never repeat across guilds (but the bot's)


async def test_every_guild_comes_in_one_session(many: SimServer) -> None:
    bot = hikari.GatewayBot(many.token, rest_url=many.rest_url, banner=None, logs=None, intents=INTENTS)
    created: list[int] = []

    async def available(event: hikari.GuildAvailableEvent) -> None:
        created.append(int(event.guild_id))

    bot.subscribe(hikari.GuildAvailableEvent, available)
    await bot.start(check_for_updates=False)
    try:
        await eventually(lambda: len(created) == GUILDS, what="a GUILD_CREATE per guild")
        assert sorted(created) == sorted(many.guilds)
        assert many.gateway.identifies == 1
        assert {int(g.id) for g in bot.cache.get_guilds_view().values()} == set(many.guilds)
    finally:
        await bot.close()


async def test_rest_answers_for_the_guild_in_the_path(many: SimServer) -> None:
    many.seed_missed(4, [g for g in many.guilds if g != many.guild_id])
    app = hikari.RESTApp(url=many.rest_url)
    await app.start()
    try:
        async with app.acquire(many.token, hikari.TokenType.BOT) as rest:
            mine = [g async for g in rest.fetch_my_guilds()]
            assert sorted(int(g.id) for g in mine) == sorted(many.guilds)
            for gid, g in many.guilds.items():
                assert (await rest.fetch_guild(gid)).name == g.name
                assert {int(r.id) for r in await rest.fetch_roles(gid)} == set(g.roles)
                log = [e async for page in rest.fetch_audit_log(gid) for e in page.entries.values()]
                assert sorted(int(e.id) for e in log) == sorted(int(e["id"]) for e in g.audit_log)
                member = next(iter(g.members))
                assert (await rest.fetch_member(gid, member)).guild_id == gid
    finally:
        await app.close()
    status, _, body = await _get(many, "/guilds/12345/audit-logs")
    assert (status, body["code"]) == (404, 10004)
    status, _, body = await _get(many, "/users/@me/guilds?limit=2")
    assert status == 200
    assert [int(g["id"]) for g in body] == sorted(many.guilds)[:2]


async def test_a_bucket_is_a_route_and_its_guild(many: SimServer) -> None:
    many.knobs.bucket_limit = 2
    many.knobs.bucket_window_s = 30.0  # no window ends during the test
    first, second = list(many.guilds)[:2]
    seen = [await _get(many, f"/guilds/{first}/audit-logs") for _ in range(2)]
    assert [h["X-RateLimit-Remaining"] for _, h, _ in seen] == ["1", "0"]
    assert {h["X-RateLimit-Limit"] for _, h, _ in seen} == {"2"}
    assert float(seen[0][1]["X-RateLimit-Reset-After"]) <= 30.0
    assert float(seen[0][1]["X-RateLimit-Reset"]) > FIXED_NOW  # wall-clock epoch seconds

    status, headers, body = await _get(many, f"/guilds/{first}/audit-logs")
    assert status == 429
    assert (body["global"], headers["X-RateLimit-Scope"], headers["X-RateLimit-Remaining"]) == (False, "user", "0")
    assert 0 < body["retry_after"] <= 30.0
    assert headers["X-RateLimit-Bucket"] == seen[0][1]["X-RateLimit-Bucket"]

    status, other, _ = await _get(many, f"/guilds/{second}/audit-logs")  # the other guild: its own bucket
    assert (status, other["X-RateLimit-Remaining"]) == (200, "1")
    assert other["X-RateLimit-Bucket"] == seen[0][1]["X-RateLimit-Bucket"]  # same route, same hash
    assert many.rest.limited_by_scope == {"user": 1}


async def test_the_global_limit_answers_as_discord_does(many: SimServer) -> None:
    many.knobs.global_limit = 3
    many.knobs.global_window_s = 30.0
    answers = [await _get(many, "/users/@me") for _ in range(4)]
    assert [s for s, _, _ in answers] == [200, 200, 200, 429]
    _, headers, body = answers[-1]
    assert body["global"] is True
    assert 0 < body["retry_after"] <= 30.0
    assert (headers["X-RateLimit-Global"], headers["X-RateLimit-Scope"]) == ("true", "global")
    assert "X-RateLimit-Bucket" not in headers
    assert many.rest.limited_by_scope == {"global": 1}
    assert many.rest.rate_limited == 1


async def test_hikari_waits_out_the_global_limit_and_the_buckets(many: SimServer) -> None:
    many.knobs.global_limit = 3
    many.knobs.global_window_s = 0.3
    many.knobs.bucket_limit = 2  # hikari paces each guild's bucket …
    many.knobs.bucket_window_s = 0.3
    app = hikari.RESTApp(url=many.rest_url)
    await app.start()
    try:
        async with app.acquire(many.token, hikari.TokenType.BOT) as rest:
            # Until a route's bucket is known hikari queues every guild's requests behind the first
            # one's: one request each first, then a bucket per guild.
            for gid in many.guilds:
                await rest.fetch_guild(gid)
            calls = [rest.fetch_guild(gid) for gid in many.guilds for _ in range(4)]
            fetched = await asyncio.gather(*calls)
    finally:
        await app.close()
    assert sorted(int(g.id) for g in fetched) == sorted(gid for gid in many.guilds for _ in range(4))
    assert many.rest.limited_by_scope["user"] == 0  # the buckets: hikari kept to them
    assert many.rest.limited_by_scope["global"] > 0  # … and meets the global limit, then waits
