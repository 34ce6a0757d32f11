"""Member role PUT/DELETE through hikari's RESTClient, and every fault knob on that path."""

from __future__ import annotations

import asyncio
import time

import hikari
import pytest
from sim_helpers import eventually

from console.sim import SimServer


def _target(sim: SimServer) -> tuple[int, int]:
    """A regular member and an assignable role they do not have yet."""
    g = sim.guild
    uid = g.regular_ids()[0]
    rid = next(r for r in g.assignable_role_ids() if r not in g.members[uid]["roles"])
    return uid, rid


async def test_put_and_delete_apply_and_log(sim: SimServer, rest: hikari.api.RESTClient) -> None:
    uid, rid = _target(sim)
    n = len(sim.guild.audit_log)
    await rest.add_role_to_member(sim.guild_id, uid, rid, reason="grant/ok 100%")
    await rest.add_role_to_member(sim.guild_id, uid, rid)  # no-op: 204, nothing logged
    await rest.remove_role_from_member(sim.guild_id, uid, rid)
    log = sim.guild.audit_log[n:]
    assert [c["key"] for e in log for c in e["changes"]] == ["$add", "$remove"]
    assert log[0]["reason"] == "grant/ok 100%"
    assert "reason" not in log[1]
    assert rid not in sim.guild.members[uid]["roles"]


async def test_drop_knob_answers_204_but_never_applies(sim: SimServer, rest: hikari.api.RESTClient) -> None:
    uid, rid = _target(sim)
    sim.knobs.role_drop_probability = 1.0
    await rest.add_role_to_member(sim.guild_id, uid, rid, reason="dropped")
    assert rid not in sim.guild.members[uid]["roles"]
    member = await rest.fetch_member(sim.guild_id, uid)
    assert rid not in member.role_ids
    # Discord still logged it: an audit entry is no proof the role was applied.
    assert sim.guild.audit_log[-1]["reason"] == "dropped"
    sim.knobs.role_drop_logs_entry = False
    n = len(sim.guild.audit_log)
    await rest.add_role_to_member(sim.guild_id, uid, rid)
    assert len(sim.guild.audit_log) == n


async def test_delay_and_revert_knobs(sim: SimServer, rest: hikari.api.RESTClient) -> None:
    uid, rid = _target(sim)
    sim.knobs.role_delay_probability = 1.0
    sim.knobs.role_delay_s = 0.2
    await rest.add_role_to_member(sim.guild_id, uid, rid)
    assert rid not in sim.guild.members[uid]["roles"]
    await eventually(lambda: rid in sim.guild.members[uid]["roles"], within=3, what="delayed apply")

    sim.knobs.role_delay_probability = 0.0
    sim.knobs.role_revert_probability = 1.0
    sim.knobs.role_revert_after_s = 0.05
    await rest.remove_role_from_member(sim.guild_id, uid, rid)
    assert rid not in sim.guild.members[uid]["roles"]
    await eventually(lambda: rid in sim.guild.members[uid]["roles"], within=3, what="revert")
    revert = sim.guild.audit_log[-1]
    assert revert["action_type"] == 25
    assert revert["user_id"] != str(sim.bot_id)
    assert revert["changes"][0]["key"] == "$add"


async def test_forbidden_and_not_found_map_to_hikari_errors(sim: SimServer, rest: hikari.api.RESTClient) -> None:
    uid, rid = _target(sim)
    sim.knobs.forbidden_role_ids.add(rid)
    with pytest.raises(hikari.ForbiddenError) as forbidden:
        await rest.add_role_to_member(sim.guild_id, uid, rid)
    assert forbidden.value.code == 50013
    admin = sim.guild.role_id("Admin")  # above the bot's own role: hierarchy says no
    with pytest.raises(hikari.ForbiddenError):
        await rest.add_role_to_member(sim.guild_id, uid, admin)

    sim.emit(20, target_id=uid)  # kicked: the member has left
    assert uid not in sim.guild.members
    with pytest.raises(hikari.NotFoundError) as gone:
        await rest.add_role_to_member(sim.guild_id, uid, sim.guild.role_id("Verified"))
    assert gone.value.code == 10007
    leaver = sim.guild.regular_ids()[-1]
    sim.member_leave(leaver)  # left on their own: no audit entry, same 404
    with pytest.raises(hikari.NotFoundError):
        await rest.remove_role_from_member(sim.guild_id, leaver, sim.guild.role_id("Members"))
    other = sim.guild.regular_ids()[0]
    with pytest.raises(hikari.NotFoundError) as unknown_role:
        await rest.remove_role_from_member(sim.guild_id, other, 12345)
    assert unknown_role.value.code == 10011


async def test_rate_limit_knob_hikari_sleeps_and_retries(sim: SimServer, rest: hikari.api.RESTClient) -> None:
    sim.knobs.rate_limit_every = 2
    sim.knobs.rate_limit_retry_after = 0.2
    uid, rid = _target(sim)
    started = time.monotonic()
    await rest.add_role_to_member(sim.guild_id, uid, rid, reason="through 429s")
    for _ in range(3):
        await rest.fetch_member(sim.guild_id, uid)
    assert sim.rest.rate_limited >= 2
    assert time.monotonic() - started >= 0.4  # hikari slept retry_after each time
    assert rid in sim.guild.members[uid]["roles"]
    assert sum(1 for e in sim.guild.audit_log if e.get("reason") == "through 429s") == 1


async def test_bucket_headers_pace_hikari_without_errors(sim: SimServer, rest: hikari.api.RESTClient) -> None:
    sim.knobs.bucket_limit = 3
    sim.knobs.bucket_window_s = 0.3
    uid = sim.guild.regular_ids()[0]
    members = await asyncio.gather(*(rest.fetch_member(sim.guild_id, uid) for _ in range(8)))
    assert all(m.id == uid for m in members)


async def test_outage_knob_gives_5xx(sim: SimServer, rest: hikari.api.RESTClient) -> None:
    sim.knobs.rest_fail_status = 403  # not retried by hikari: a quick check that the knob bites
    with pytest.raises(hikari.ForbiddenError):
        await rest.fetch_my_user()
    sim.knobs.rest_fail_status = None
    assert (await rest.fetch_my_user()).id == sim.bot_id


async def test_gateway_drop_knob_reconnects(sim: SimServer) -> None:
    bot = hikari.GatewayBot(
        sim.token,
        rest_url=sim.rest_url,
        banner=None,
        logs=None,
        intents=hikari.Intents.GUILD_MODERATION,
    )
    await bot.start(check_for_updates=False)
    try:
        await sim.gateway.wait_identified(1)
        sim.knobs.gateway_drop_interval_s = 0.2
        await sim.gateway.wait_for(lambda: not sim.gateway.connected, timeout=3)
        sim.knobs.gateway_drop_interval_s = None
        await sim.gateway.wait_resumed(1, timeout=10)
        await asyncio.sleep(0)
        assert sim.gateway.identifies == 1
    finally:
        await bot.close()
