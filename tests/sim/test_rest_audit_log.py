"""GET /guilds/{g}/audit-logs semantics, raw (aiohttp) and through hikari's RESTApp."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import hikari
import pytest

from console.model.snowflake import RETENTION_MS, to_ms
from console.sim import SimServer
from console.sim.scenario import HIKARI_DROPPED

KEYS = {
    "audit_log_entries",
    "application_commands",
    "auto_moderation_rules",
    "guild_scheduled_events",
    "integrations",
    "threads",
    "users",
    "webhooks",
}


@pytest.fixture
async def http(sim: SimServer) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers={"Authorization": f"Bot {sim.token}"}) as session:
        yield session


async def _get(http: aiohttp.ClientSession, sim: SimServer, **query: Any) -> tuple[int, Any]:
    url = f"{sim.rest_url}/guilds/{sim.guild_id}/audit-logs"
    async with http.get(url, params={k: str(v) for k, v in query.items()}) as resp:
        if resp.status == 200:
            assert resp.content_type == "application/json"
        return resp.status, await resp.json()


def _ids(body: dict[str, Any]) -> list[int]:
    return [int(e["id"]) for e in body["audit_log_entries"]]


@pytest.fixture
def history(sim: SimServer) -> list[dict[str, Any]]:
    sim.seed_history(180, days_back=60)
    sim.emit_random(20)
    horizon = sim.now_ms() - RETENTION_MS
    retained = [e for e in sim.guild.audit_log if to_ms(int(e["id"])) >= horizon]
    assert 0 < len(retained) < len(sim.guild.audit_log), "history must straddle the 45-day horizon"
    return retained


async def test_default_page_is_newest_first_with_all_keys(
    sim: SimServer, http: aiohttp.ClientSession, history: list[dict[str, Any]]
) -> None:
    status, body = await _get(http, sim)
    assert status == 200
    assert set(body) == KEYS
    ids = _ids(body)
    assert len(ids) == 50
    assert ids == sorted((int(e["id"]) for e in history), reverse=True)[:50]
    # users = everyone the page refers to as actor
    user_ids = {u["id"] for u in body["users"]}
    assert {e["user_id"] for e in body["audit_log_entries"] if e["user_id"]} <= user_ids
    assert all("guild_id" not in e for e in body["audit_log_entries"])


async def test_before_after_ordering_and_retention(
    sim: SimServer, http: aiohttp.ClientSession, history: list[dict[str, Any]]
) -> None:
    retained = sorted(int(e["id"]) for e in history)
    _, oldest = await _get(http, sim, after=0, limit=100)
    assert _ids(oldest) == retained[:100]  # after → ascending, after=0 → the oldest retained

    pivot = retained[len(retained) // 2]
    _, before = await _get(http, sim, before=pivot, limit=100)
    assert _ids(before) == sorted([i for i in retained if i < pivot], reverse=True)[:100]
    _, after = await _get(http, sim, after=pivot, limit=10)
    assert _ids(after) == [i for i in retained if i > pivot][:10]

    # Paging forward with after= reaches every retained entry and nothing older.
    seen: list[int] = []
    cursor = 0
    while True:
        _, page = await _get(http, sim, after=cursor, limit=100)
        if not page["audit_log_entries"]:
            break
        seen += _ids(page)
        cursor = max(_ids(page))
    assert seen == retained


async def test_limit_validation_and_filters(
    sim: SimServer, http: aiohttp.ClientSession, history: list[dict[str, Any]]
) -> None:
    for bad in (0, 101, -1):
        status, body = await _get(http, sim, limit=bad)
        assert status == 400
        assert body["code"] == 50035
    status, body = await _get(http, sim, limit="abc")
    assert status == 400
    assert body["code"] == 50035
    status, body = await _get(http, sim, limit=100)
    assert status == 200
    assert len(body["audit_log_entries"]) == 100
    status, body = await _get(http, sim, limit=1)
    assert len(body["audit_log_entries"]) == 1

    actor = history[-1]["user_id"]
    _, by_user = await _get(http, sim, user_id=actor, limit=100)
    assert by_user["audit_log_entries"]
    assert all(e["user_id"] == actor for e in by_user["audit_log_entries"])
    assert len(by_user["audit_log_entries"]) == sum(1 for e in history if e["user_id"] == actor)

    _, by_type = await _get(http, sim, action_type=72, limit=100)
    assert all(e["action_type"] == 72 for e in by_type["audit_log_entries"])
    assert len(by_type["audit_log_entries"]) == sum(1 for e in history if e["action_type"] == 72)


async def test_unauthorised_and_unknown_guild(sim: SimServer) -> None:
    bad_auth = {"Authorization": "Bot nope"}
    async with aiohttp.ClientSession(headers=bad_auth) as bad:
        resp = await bad.get(f"{sim.rest_url}/guilds/{sim.guild_id}/audit-logs")
        assert resp.status == 401
    async with aiohttp.ClientSession() as anonymous:
        resp = await anonymous.get(f"{sim.rest_url}/users/@me")
        assert resp.status == 401
    async with aiohttp.ClientSession(headers={"Authorization": f"Bot {sim.token}"}) as ok:
        resp = await ok.get(f"{sim.rest_url}/guilds/1/audit-logs")
        assert resp.status == 404
        assert (await resp.json())["code"] == 10004


async def test_hikari_fetch_audit_log_pages_and_skips_what_it_cannot_parse(
    sim: SimServer, rest: hikari.api.RESTClient, history: list[dict[str, Any]]
) -> None:
    sim.emit_all_types()
    horizon = sim.now_ms() - RETENTION_MS
    retained = [e for e in sim.guild.audit_log if to_ms(int(e["id"])) >= horizon]
    parseable = {
        int(e["id"])
        for e in retained
        if "options" not in e or (e["action_type"] not in HIKARI_DROPPED and "integration_type" not in e["options"])
    }
    got: set[int] = set()
    pages = 0
    async for page in rest.fetch_audit_log(sim.guild_id):
        pages += 1
        got |= {int(i) for i in page.entries}
    assert pages >= 2
    assert got == parseable

    ascending: list[int] = []
    async for page in rest.fetch_audit_log(sim.guild_id, after=hikari.Snowflake(0)):
        ascending += sorted(int(i) for i in page.entries)
    assert set(ascending) == parseable


async def test_hikari_reads_guild_roles_channels_members_and_app(sim: SimServer, rest: hikari.api.RESTClient) -> None:
    guild = await rest.fetch_guild(sim.guild_id)
    assert guild.owner_id == sim.guild.owner_id
    assert len(guild.roles) == len(sim.guild.roles)
    assert guild.roles[sim.guild_id].name == "@everyone"
    channels = await rest.fetch_guild_channels(sim.guild_id)
    kinds = {type(c).__name__ for c in channels}
    assert {"GuildCategory", "GuildTextChannel", "GuildVoiceChannel", "GuildStageChannel"} <= kinds
    members = [m async for m in rest.fetch_members(sim.guild_id)]
    assert {m.id for m in members} == set(sim.guild.members)
    me = await rest.fetch_my_user()
    assert me.id == sim.bot_id
    assert me.is_bot
    app = await rest.fetch_application()
    assert app.id == sim.guild.application_id
    message = await rest.create_message(sim.guild.channel_ids(0)[0], "audit digest ready")
    assert message.content == "audit digest ready"
    assert sim.guild.messages[-1]["content"] == "audit digest ready"
