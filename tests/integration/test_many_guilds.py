"""A bot in 50 guilds comes back after being away and backfills all of them within Discord's rate
limits: the real hikari client against the simulator's per-route buckets (5 requests a second
per guild here, plus a shared 429 now and then) and its global limit (50/s)."""

from __future__ import annotations

import re
from pathlib import Path

from console.discord.bot import HikariGateway
from console.ingest.collector import Collector
from console.ingest.state import CollectorState, backfill_progress
from console.model.filters import Filter
from console.secret import Secret
from console.sim import SimConfig, SimServer
from console.store import Store

from .conftest import eventually

GUILDS = 50
MISSED = 200


async def _collect_once(sim: SimServer, db: Path, states: list[CollectorState] | None = None) -> Collector:
    """A collector started on every guild of the bot, its start's backfills done."""
    store = await Store.open(db)
    collector = Collector(store, on_state=states.append if states is not None else None)
    await collector.start(HikariGateway(Secret(sim.token), rest_url=sim.rest_url, events=collector))
    await eventually(lambda: len(collector.backfills) >= GUILDS, what="every guild backfilled")
    await collector.wait_idle(60)
    return collector


async def _close(collector: Collector) -> None:
    await collector.stop()
    await collector.store.close()


async def test_fifty_guilds_backfill_what_they_missed_without_a_global_429(tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    async with SimServer(SimConfig(seed=7, heartbeat_interval_ms=500, guilds=GUILDS)) as sim:
        sim.seed_missed(3)  # each guild has a log the console stores …
        await _close(await _collect_once(sim, db))  # … then it goes away

        assert sim.seed_missed(MISSED) == GUILDS * MISSED
        sim.knobs.bucket_limit = 5  # per guild and route, per second
        sim.knobs.rate_limit_every = 37  # and a shared 429 now and then, which hikari sleeps out
        sim.rest.limited_by_scope.clear()
        states: list[CollectorState] = []
        collector = await _collect_once(sim, db, states)
        try:
            store = collector.store
            for gid, guild in sim.guilds.items():
                stored = await store.count(Filter(guild_ids=frozenset({gid})))
                assert stored == len(guild.audit_log) == 3 + MISSED, guild.name
                (gap,) = [g for g in await store.gaps(gid) if g.reason == "start"][-1:]
                assert (gap.status, gap.recovered) == ("recovered", MISSED), guild.name
            assert sim.rest.limited_by_scope["global"] == 0
            assert sim.rest.limited_by_scope["shared"] > 0  # hikari's retry path was taken

            # Progress across guilds, as the header says it, from 0 to all of them.
            # (The 50 backfills are asked for one after the other within one turn of the loop.)
            round_ = [s for s in states if s.backfilling and s.backfill_total == GUILDS]
            said = [backfill_progress(s) for s in round_]
            assert said[0] == "backfill 0/50 guilds · 0 entries"
            assert all(re.fullmatch(r"backfill \d+/50 guilds · [\d,]+ entries", line) for line in said)
            assert any(line.startswith("backfill 25/50 guilds") for line in said)
            done = [s.backfill_done for s in round_]
            assert done == sorted(done)
            assert len(set(done)) == GUILDS  # 0 … 49 while some guild still runs
            last = states[-1]
            assert (last.backfill_done, last.backfill_total, last.backfill_entries) == (50, 50, GUILDS * MISSED)
            assert not last.backfilling
            assert max(len(s.backfilling) for s in states) == GUILDS  # asked for all at once …
        finally:
            await _close(collector)
