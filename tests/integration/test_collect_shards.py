"""Collectors that split a bot's shards (PostgreSQL): a simulated bot in 40 guilds over 4 shards,
two real ``audit-console collect`` processes (shards 0-1 and 2-3 of 4) on one store. Each runs
only its shards, backfills only its guilds, leads its own shard group, and the two start in turn
(never two IDENTIFYs of one bucket in Discord's 5 s window). Every entry of every guild is stored
once; an event without a guild (shard 0's) is stored once, not by both."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import asyncpg

from console.model.shards import ShardGroup
from console.sim import SimConfig, SimServer
from console.store.postgres.verify import verify_postgres

from .collect_process import Collect, start_collect, until

GUILDS = 40
SHARDS = 4
MISSED = 3
LIVE = 2


async def test_two_collectors_split_four_shards_and_store_every_entry_once(pg_url: str, tmp_path: Path) -> None:
    config = SimConfig(seed=31, heartbeat_interval_ms=500, guilds=GUILDS, shard_count=SHARDS, max_concurrency=2)
    sim = SimServer(config)
    await sim.start()
    sim.seed_missed(MISSED)  # what each guild's collector must backfill at its start
    env = {
        **os.environ,
        "DISCORD_TOKEN": sim.token,
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    common = ["--rest-url", sim.rest_url, "--db", pg_url, "--shard-count", str(SHARDS)]
    db = await asyncpg.connect(pg_url)
    procs: list[Collect] = []
    try:
        # Both at once: the store's startup lock makes them take turns.
        procs = list(
            await asyncio.gather(
                start_collect([*common, "--shards", "0-1"], env), start_collect([*common, "--shards", "2-3"], env)
            )
        )

        async def started() -> bool:
            return all(p.said("collecting into") for p in procs)

        await until(started, 60, "the collectors did not both start", *procs)
        assert sorted(sim.gateway.identified_shards) == [(i, SHARDS) for i in range(SHARDS)]
        assert sim.gateway.identifies_refused == 0  # no two starts in one bucket's window

        for gid in sim.guilds:
            sim.emit_in(gid, LIVE)
        # An event without a guild: Discord sends it on shard 0, to one collector.
        sim.gateway.dispatch("GUILD_AUDIT_LOG_ENTRY_CREATE", {"id": "1", "action_type": 1})

        async def all_stored() -> bool:
            stored = await db.fetchval("SELECT count(*) FROM audit_entries")
            return stored >= GUILDS * (MISSED + LIVE) and await db.fetchval("SELECT count(*) FROM parse_failures") > 0

        await until(all_stored, 60, "entries the simulator sent are missing", *procs)
        await asyncio.sleep(1.0)  # anything stored twice would have landed by now
        for gid, guild in sim.guilds.items():
            sent = sorted(int(e["id"]) for e in guild.audit_log)
            rows = await db.fetch("SELECT id FROM audit_entries WHERE guild_id = $1 ORDER BY id", gid)
            assert [r["id"] for r in rows] == sent, guild.name
        assert await db.fetchval("SELECT count(*) FROM audit_entries") == GUILDS * (MISSED + LIVE)
        assert await db.fetchval("SELECT count(*) FROM parse_failures") == 1

        # Each group led by its own collector; the unsharded row untouched.
        leaders = {
            r["scope"]: (r["epoch"], r["pid"]) for r in await db.fetch("SELECT scope, epoch, pid FROM leadership")
        }
        assert leaders == {
            "": (0, None),
            ShardGroup(0, 1, SHARDS).key: (1, procs[0].proc.pid),
            ShardGroup(2, 3, SHARDS).key: (1, procs[1].proc.pid),
        }
        # Each collector backfilled its own guilds only: one start gap per guild in all.
        gaps = await db.fetch("SELECT guild_id, count(*) AS n FROM gaps GROUP BY guild_id")
        assert {r["guild_id"] for r in gaps} == set(sim.guilds)
        assert all(r["n"] == 1 for r in gaps), [tuple(r) for r in gaps]

        for p in procs:
            assert await p.end() == 0, "\n".join(p.lines)
            assert not any("Traceback" in line for line in p.lines), "\n".join(p.lines)
        report = await asyncio.to_thread(verify_postgres, pg_url)
        assert report.ok, report.problems
    finally:
        for p in procs:
            if p.proc.returncode is None:
                p.proc.kill()
                await p.proc.wait()
        await db.close()
        await sim.stop()
