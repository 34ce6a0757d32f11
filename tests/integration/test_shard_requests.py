"""Role requests on a store shared by collectors that split a bot's shards (PostgreSQL): a request
is carried out only by the leader of the shard group that holds its guild
(``(guild_id >> 22) % shard_count``). While that group has no collector, the request waits, and
the store says so for that guild ("no collector is running for this guild") though another
group's collector runs; once the group's collector is back, it carries the request out."""

from __future__ import annotations

import os
from pathlib import Path

import asyncpg

from console.model.location import PgLocation
from console.model.shards import ShardGroup, shard_of
from console.roles.reconciler import new_change
from console.sim import SimConfig, SimServer
from console.store.postgres.store import PgStore
from console.store.team_access import collector_running

from .collect_process import Collect, kill_left, no_tracebacks, start_collect, until

SHARDS = 2


async def test_a_request_waits_for_the_collector_of_its_guilds_shard(pg_url: str, tmp_path: Path) -> None:
    sim = SimServer(SimConfig(seed=37, heartbeat_interval_ms=500, guilds=6, shard_count=SHARDS, max_concurrency=2))
    await sim.start()
    env = {
        **os.environ,
        "DISCORD_TOKEN": sim.token,
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    common = ["--rest-url", sim.rest_url, "--db", pg_url, "--shard-count", str(SHARDS)]
    mine = {s: next(g for g in sim.guilds if shard_of(g, SHARDS) == s) for s in range(SHARDS)}
    db = await asyncpg.connect(pg_url)
    console = None
    procs: list[Collect] = []
    try:
        first = await start_collect([*common, "--shards", "0"], env)
        procs.append(first)
        await until(lambda: first.said("collecting into"), 60, "shard 0's collector did not start", first)
        second = await start_collect([*common, "--shards", "1"], env)
        procs.append(second)
        await until(lambda: second.said("collecting into"), 60, "shard 1's collector did not start", second)
        assert await second.end() == 0  # shard 1 has no collector now

        guild = sim.guilds[mine[1]]
        verified = guild.role_id("Verified")
        member = next(u for u in guild.regular_ids() if verified not in [int(r) for r in guild.members[u]["roles"]])
        console = await PgStore.open(pg_url, collector_lock=False)  # a console handing in a request
        change = new_change(
            console, mine[1], member, verified, "grant", reason="r", requested_by=1, source="TUI",
            decision_id=None, deadline_s=600,
        )  # fmt: skip
        await console.record_role_change(change)
        location = PgLocation(pg_url)
        assert await collector_running(location, mine[0])
        assert not await collector_running(location, mine[1])  # "no collector is running for this guild"
        assert not await console.collector_active(mine[1])
        assert await console.collector_active(mine[0])
        assert await console.collector_active()  # some collector runs

        # Shard 0's collector reads the pending requests every 2 s and would call Discord at once:
        # three of its heartbeats later, it has left the request alone.
        scope = ShardGroup(0, 0, SHARDS).key
        beat = await db.fetchval("SELECT heartbeat FROM leadership WHERE scope = $1", scope)

        async def beaten() -> bool:
            return bool(await db.fetchval("SELECT heartbeat > $1 FROM leadership WHERE scope = $2", beat + 6000, scope))

        await until(beaten, 30, "shard 0's collector stopped beating", first)
        assert await db.fetchval("SELECT count(*) FROM role_change_attempts") == 0
        assert await db.fetchval("SELECT state FROM role_changes WHERE id = $1", change.id) == "pending"

        again = await start_collect([*common, "--shards", "1"], env)
        procs.append(again)

        async def confirmed() -> bool:
            return await db.fetchval("SELECT state FROM role_changes WHERE id = $1", change.id) == "confirmed"

        await until(confirmed, 60, "shard 1's collector did not carry the request out", again)
        # Every call was made by shard 1's group, in its second epoch (shard 0's group is in its first).
        epochs = {r[0] for r in await db.fetch("SELECT epoch FROM role_change_attempts")}
        assert epochs == {2}
        assert verified in [int(r) for r in guild.members[member]["roles"]]
        for p in (first, again):
            assert await p.end() == 0
        no_tracebacks(procs)
    finally:
        if console is not None:
            await console.close()
        await kill_left(procs)
        await db.close()
        await sim.stop()
