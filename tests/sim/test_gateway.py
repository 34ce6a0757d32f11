"""Real hikari GatewayBot ↔ simulator over loopback: entries, resume, invalid session, drops."""

from __future__ import annotations

import hikari
from sim_helpers import BotHandle, eventually

from console.model.actions import ACTION_TYPES
from console.sim import SimServer
from console.sim.scenario import FUTURE_ACTION_TYPE, HIKARI_DROPPED

AUDIT = "GUILD_AUDIT_LOG_ENTRY_CREATE"


def _ids(payloads: list[dict]) -> set[str]:
    return {p["id"] for p in payloads}


async def test_every_entry_type_reaches_the_raw_listener_and_hikari_drops_some(sim: SimServer, bot: BotHandle) -> None:
    await eventually(lambda: bot.seen.raw_named("GUILD_CREATE") != [], what="GUILD_CREATE")
    entries = sim.emit_all_types()
    types = {e["action_type"] for e in entries}
    assert set(ACTION_TYPES) <= types
    assert FUTURE_ACTION_TYPE in types

    await eventually(lambda: _ids(bot.seen.raw_named(AUDIT)) >= _ids(entries), what="all raw entries")
    raw = {p["id"]: p for p in bot.seen.raw_named(AUDIT)}
    for entry in entries:
        assert raw[entry["id"]] == {**entry, "guild_id": str(sim.guild_id)}

    # hikari 2.7.0 drops entries whose options have no converter: integration 20/25, 83–85,
    # 121, 143–146 and the future type. Seeing exactly that proves the sim is faithful.
    dropped = {
        e["id"]
        for e in entries
        if "options" in e and (e["action_type"] in HIKARI_DROPPED or "integration_type" in e["options"])
    }
    dropped_types = {e["action_type"] for e in entries if e["id"] in dropped}
    assert {83, 84, 85, 121, 143, 144, 145, 146, FUTURE_ACTION_TYPE} <= dropped_types
    assert sum(1 for e in entries if e["id"] in dropped and e["action_type"] in (20, 25)) == 2
    expected_typed = {int(e["id"]) for e in entries} - {int(i) for i in dropped}
    await eventually(lambda: {int(t.id) for t in bot.seen.typed_entries} >= expected_typed, what="typed entries")
    assert {int(t.id) for t in bot.seen.typed_entries} == expected_typed

    # The entries' side effects reach the client as the events Discord sends for them, and
    # hikari's typed consumers accept every payload the sim sends.
    names = {n for n, _ in bot.seen.raw}
    assert {
        "GUILD_ROLE_CREATE",
        "GUILD_ROLE_UPDATE",
        "CHANNEL_CREATE",
        "CHANNEL_UPDATE",
        "GUILD_BAN_ADD",
        "GUILD_MEMBER_REMOVE",
        "GUILD_MEMBER_UPDATE",
    } <= names

    ready = bot.seen.raw_named("READY")[0]
    assert ready["user"]["id"] == str(sim.bot_id)
    assert sim.gateway.identifies == 1
    assert bot.seen.loop_errors == []


async def test_reconnect_resumes_and_replays_missed_dispatches(sim: SimServer, bot: BotHandle) -> None:
    before = sim.emit_random(3)
    await sim.gateway.send_reconnect()
    await sim.gateway.wait_for(lambda: not sim.gateway.connected, timeout=5)
    missed = sim.emit_random(5)  # buffered for the session while nobody is connected
    await sim.gateway.wait_resumed(1, timeout=10)
    want = _ids(before) | _ids(missed)
    await eventually(lambda: _ids(bot.seen.raw_named(AUDIT)) >= want, what="replayed entries")
    assert sim.gateway.identifies == 1
    assert sim.gateway.connection_paths[-1] == "/resume"
    # Replay delivers each dispatch once and keeps the order of emission.
    got = [p["id"] for p in bot.seen.raw_named(AUDIT)]
    assert got == [e["id"] for e in before + missed]
    assert bot.seen.raw_named("RESUMED")
    assert bot.seen.loop_errors == []


async def test_invalid_session_forces_identify_and_loses_the_gap(sim: SimServer, bot: BotHandle) -> None:
    await sim.gateway.send_invalid_session(resumable=False)
    await sim.gateway.wait_for(lambda: not sim.gateway.connected, timeout=5)
    lost = sim.emit_random(2)  # no session exists: Discord delivers these nowhere
    await sim.gateway.wait_identified(2, timeout=10)
    after = sim.emit_random(2)
    await eventually(lambda: _ids(bot.seen.raw_named(AUDIT)) >= _ids(after), what="entries after re-identify")
    assert not _ids(lost) & _ids(bot.seen.raw_named(AUDIT))
    assert len(bot.seen.raw_named("READY")) == 2
    assert sim.gateway.resumes == 0
    assert bot.seen.loop_errors == []


async def test_server_close_4000_and_zombie_come_back_with_resume(sim: SimServer, bot: BotHandle) -> None:
    await sim.gateway.disconnect_all(4000)
    gap = sim.emit_random(2)
    await sim.gateway.wait_resumed(1, timeout=10)
    await eventually(lambda: _ids(bot.seen.raw_named(AUDIT)) >= _ids(gap), what="entries after 4000")

    # No heartbeat ACKs: hikari declares the connection zombied, reconnects and resumes.
    sim.gateway.zombie = True
    await sim.gateway.wait_for(lambda: not sim.gateway.connected, timeout=5)
    sim.gateway.zombie = False
    gap2 = sim.emit_random(2)
    await sim.gateway.wait_resumed(2, timeout=10)
    await eventually(lambda: _ids(bot.seen.raw_named(AUDIT)) >= _ids(gap2), what="entries after zombie")
    assert sim.gateway.identifies == 1
    assert bot.seen.loop_errors == []


async def test_role_put_through_hikari_logs_reason_and_dispatches_member_update(sim: SimServer, bot: BotHandle) -> None:
    g = sim.guild
    uid = g.regular_ids()[0]
    rid = next(r for r in g.assignable_role_ids() if r not in g.members[uid]["roles"])
    reason = "héllo [bold]x[/]"
    await bot.bot.rest.add_role_to_member(sim.guild_id, uid, rid, reason=reason)

    entry = g.audit_log[-1]
    assert entry["action_type"] == 25
    assert entry["user_id"] == str(sim.bot_id)
    assert entry["target_id"] == str(uid)
    assert entry["reason"] == reason
    assert entry["changes"] == [{"key": "$add", "new_value": [{"id": str(rid), "name": g.roles[rid]["name"]}]}]
    assert rid in g.members[uid]["roles"]

    def updated() -> bool:
        return any(
            p["user"]["id"] == str(uid) and str(rid) in p["roles"] for p in bot.seen.raw_named("GUILD_MEMBER_UPDATE")
        )

    await eventually(updated, what="GUILD_MEMBER_UPDATE")
    await eventually(lambda: entry["id"] in _ids(bot.seen.raw_named(AUDIT)), what="role entry event")
    member = await bot.bot.rest.fetch_member(sim.guild_id, uid)
    assert rid in member.role_ids
    # hikari chunked the guild (op 8 → GUILD_MEMBERS_CHUNK) and its cache saw the update.
    await eventually(lambda: bot.seen.raw_named("GUILD_MEMBERS_CHUNK") != [], what="chunk")
    cached = bot.bot.cache.get_member(sim.guild_id, uid)
    assert cached is not None
    assert rid in cached.role_ids
    assert isinstance(bot.bot.cache.get_guild(sim.guild_id), hikari.GatewayGuild)
    assert bot.seen.loop_errors == []
