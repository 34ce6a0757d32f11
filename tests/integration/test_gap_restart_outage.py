"""A console restarted during a guild outage: the outage's gap, opened by the process before,
is recovered by the new process's first backfill instead of staying open for ever."""

from __future__ import annotations

from backends import BOTH

from console.sim import SimServer

from .conftest import Console, eventually

BACKENDS = BOTH


async def test_a_restart_during_an_outage_recovers_the_outage_gap(sim: SimServer, console: Console) -> None:
    sim.emit_random(5)  # a history: the outage's gap starts where it ends
    await console.start()
    sim.guild_delete(unavailable=True)

    async def outage_gap_open() -> bool:
        assert console.store is not None
        return [g.status for g in await console.store.gaps(sim.guild_id) if g.reason == "guild-outage"] == ["open"]

    await eventually(outage_gap_open, what="the outage's gap")
    made = sim.emit_random(6)  # during the outage: never dispatched
    await console.stop()  # … and the console restarts before the guild is back

    sim.guild_create()
    collector = await console.start()
    await collector.wait_idle()
    assert console.store is not None
    gaps = await console.store.gaps(sim.guild_id)
    assert [g.status for g in gaps if g.status == "open"] == []
    [outage] = [g for g in gaps if g.reason == "guild-outage"]
    assert (outage.status, outage.recovered) == ("recovered", len(made))
    assert await console.store.open_gap_count() == 0
