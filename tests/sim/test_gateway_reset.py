"""``Gateway.reset_all``: a TCP reset (no close frame) — hikari reconnects and resumes."""

from __future__ import annotations

from sim_helpers import BotHandle, eventually

from console.sim import SimServer

AUDIT = "GUILD_AUDIT_LOG_ENTRY_CREATE"


async def test_tcp_reset_is_resumed_and_the_missed_dispatches_replayed(sim: SimServer, bot: BotHandle) -> None:
    before = sim.emit_random(2)
    assert sim.gateway.reset_all() == 1
    await sim.gateway.wait_for(lambda: not sim.gateway.connected, timeout=5)
    # A reset is not a close: the server recorded no close code, the session stays resumable.
    assert len(sim.gateway.sessions) == 1
    missed = sim.emit_random(3)
    await sim.gateway.wait_resumed(1, timeout=15)
    want = {e["id"] for e in before + missed}
    await eventually(lambda: {p["id"] for p in bot.seen.raw_named(AUDIT)} >= want, what="replayed entries")
    assert [p["id"] for p in bot.seen.raw_named(AUDIT)] == [e["id"] for e in before + missed]
    assert sim.gateway.identifies == 1
    assert sim.gateway.connection_paths[-1] == "/resume"
    assert bot.seen.loop_errors == []


async def test_reset_without_connections_does_nothing(sim: SimServer) -> None:
    assert sim.gateway.reset_all() == 0
