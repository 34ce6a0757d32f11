"""A new session in a guild whose audit log was empty at the first sync: there is no high-water
mark yet, but the gap must still say when the console stopped receiving (found by the gateway
fault soak, tests/faults/case_gateway.py: the gap's start was left unknown)."""

from __future__ import annotations

from backends import BOTH

from console.sim import SimServer

from .conftest import Console, eventually

BACKENDS = BOTH


async def test_gap_after_an_empty_first_sync_starts_when_the_gateway_dropped(sim: SimServer, console: Console) -> None:
    collector = await console.start()  # nothing to backfill: no hwm is set
    store = console.store
    assert store is not None
    assert await store.hwm(sim.guild_id) is None
    live = sim.emit_random(3)
    await eventually(lambda: collector.state.stored >= len(live), what="live entries stored")

    dropped_at = store.now_ms()
    await sim.gateway.send_invalid_session(resumable=False)  # the session is gone: a new one
    await sim.gateway.wait_for(lambda: not sim.gateway.connected)
    missed = sim.emit_random(4)
    await sim.gateway.wait_identified(2)

    async def reconnect_gap_closed() -> bool:
        return any(g.reason == "reconnect" and g.ended_at for g in await store.gaps(sim.guild_id))

    await eventually(reconnect_gap_closed, what="the reconnect gap recovered")
    gap = next(g for g in await store.gaps(sim.guild_id) if g.reason == "reconnect")
    assert gap.status == "recovered"
    assert gap.recovered == len(missed)
    assert gap.started_at is not None, "the gap does not say when the console stopped receiving"
    assert dropped_at - 5_000 <= gap.started_at <= dropped_at + 1_000
