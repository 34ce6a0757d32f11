"""The periodic "live until" mark must not run during an outage: it would move the next gap's
start past entries that never arrived (found with the gateway fault soak,
tests/faults/case_gateway.py, where outages can outlast the mark's interval)."""

from __future__ import annotations

from backends import BOTH

from console.discord.bot import HikariGateway
from console.ingest.collector import Collector
from console.ingest.state import CollectorState
from console.model.location import StoreLocation
from console.secret import Secret
from console.sim import SimServer
from console.store import open_store

from .conftest import eventually

BACKENDS = BOTH


async def test_gap_starts_when_the_connection_dropped_not_at_the_last_tick(
    sim: SimServer, location: StoreLocation
) -> None:
    store = await open_store(location)
    downs: list[int] = []
    ups: list[int] = []

    def on_state(state: CollectorState) -> None:
        if state.gateway == "disconnected" and not downs:
            downs.append(store.now_ms())
        elif state.gateway == "connected" and downs and not ups:
            ups.append(store.now_ms())

    tick = 0.1
    collector = Collector(store, guild_ids=[sim.guild_id], live_mark_interval_s=tick, on_state=on_state)
    try:
        await collector.start(HikariGateway(Secret(sim.token), rest_url=sim.rest_url, events=collector))
        sim.emit_random(3)
        await eventually(lambda: collector.backfills, what="first backfill")
        await collector.wait_idle()
        await eventually(lambda: collector.state.stored >= 3, what="entries stored")

        await sim.gateway.send_invalid_session(resumable=False)
        await sim.gateway.wait_for(lambda: not sim.gateway.connected)
        missed = sim.emit_random(4)
        await sim.gateway.wait_identified(2)

        async def closed() -> bool:
            return any(g.reason == "reconnect" and g.ended_at for g in await store.gaps(sim.guild_id))

        await eventually(closed, what="the reconnect gap recovered")
        gap = next(g for g in await store.gaps(sim.guild_id) if g.reason == "reconnect")
        assert gap.recovered == len(missed)
        assert downs, "outage shorter than the test needs"
        assert ups, "outage shorter than the test needs"
        assert ups[0] - downs[0] > 5 * tick * 1000, "outage shorter than the test needs"
        assert gap.started_at is not None
        assert gap.started_at - downs[0] < tick * 1000, (
            f"gap starts {gap.started_at - downs[0]} ms after the drop (outage {ups[0] - downs[0]} ms)"
        )
    finally:
        await collector.stop()
        await store.close()
