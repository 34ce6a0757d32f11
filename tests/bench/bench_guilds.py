"""Many-guilds backfill benchmark (not in CI): a bot in 50 guilds comes back after an outage.

The simulator (in this process, on loopback) holds 50 guilds; the collector stores a few entries
of each, stops, and each guild gets ``--missed`` entries while it is away. Then a fresh collector
(the real hikari client, a SQLite store) backfills all of them with the simulator's per-route
limits on (``--bucket-limit`` requests per guild and route per second) and its global limit
(50/s). Printed: the time from start to every guild recovered, the requests, the 429s by scope,
entries/s, and PASS/FAIL for "all recovered" and "0 global 429s".
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from pathlib import Path

from console.discord.bot import HikariGateway
from console.ingest.collector import Collector
from console.ingest.state import CollectorState, backfill_progress
from console.model.filters import Filter
from console.secret import Secret
from console.sim import SimConfig, SimServer
from console.store import Store


async def collect(sim: SimServer, db: Path, guilds: int, progress: bool = False) -> tuple[Collector, float]:
    """A collector on every guild, its start's backfills done; and how long that took."""
    store = await Store.open(db)
    shown = [-1]

    def on_state(state: CollectorState) -> None:
        # A line per guild done (the round's total climbs as the backfills are asked for).
        if progress and state.backfilling and state.backfill_done != shown[0]:
            shown[0] = state.backfill_done
            print(f"  {backfill_progress(state)}", flush=True)

    collector = Collector(store, on_state=on_state)
    started = time.perf_counter()
    await collector.start(HikariGateway(Secret(sim.token), rest_url=sim.rest_url, events=collector))
    while len(collector.backfills) < guilds or collector.state.backfilling:
        await asyncio.sleep(0.05)
    await collector.wait_idle(60)
    return collector, time.perf_counter() - started


async def close(collector: Collector) -> None:
    await collector.stop()
    await collector.store.close()


async def run(args: argparse.Namespace) -> int:
    logging.getLogger("hikari").setLevel(logging.CRITICAL)  # a 429 is counted, not logged here
    with tempfile.TemporaryDirectory(prefix="bench-guilds-") as tmp:
        db = Path(tmp) / "audit.db"
        sim = SimServer(SimConfig(seed=5, guilds=args.guilds))
        async with sim:
            sim.seed_missed(3)
            await close((await collect(sim, db, args.guilds))[0])
            made_at = time.perf_counter()
            missed = sim.seed_missed(args.missed)
            print(f"{args.guilds} guilds, {missed:,} missed entries (made in {time.perf_counter() - made_at:.1f} s)")

            sim.knobs.bucket_limit = args.bucket_limit
            sim.knobs.bucket_window_s = 1.0
            sim.knobs.rate_limit_every = args.shared_every
            requests_before = sim.rest.requests
            sim.rest.limited_by_scope.clear()
            collector, seconds = await collect(sim, db, args.guilds, progress=True)
            try:
                lacking = 0
                for gid, guild in sim.guilds.items():
                    lacking += len(guild.audit_log) - await collector.store.count(Filter(guild_ids=frozenset({gid})))
                recovered = sum(r.recovered for r in collector.backfills)
            finally:
                await close(collector)
            requests = sim.rest.requests - requests_before
            limited = sim.rest.limited_by_scope

    print(
        f"backfill of {args.guilds} guilds: {seconds:.1f} s, {recovered:,} entries recovered, "
        f"{recovered / seconds:,.0f} entries/s"
    )
    print(
        f"requests {requests:,} ({requests / seconds:.1f}/s); 429s: global {limited['global']}, "
        f"route (user) {limited['user']}, shared {limited['shared']}"
    )
    ok_all = lacking == 0 and recovered == missed
    ok_global = limited["global"] == 0
    print(f"{'PASS' if ok_all else 'FAIL'} all recovered ({lacking} missing)")
    print(f"{'PASS' if ok_global else 'FAIL'} 0 global 429s")
    return 0 if ok_all and ok_global else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--guilds", type=int, default=50, help="guilds the bot is in (default 50)")
    ap.add_argument("--missed", type=int, default=5000, help="entries each guild gets while away (default 5,000)")
    ap.add_argument("--bucket-limit", type=int, default=5, help="requests per guild and route per second (default 5)")
    ap.add_argument("--shared-every", type=int, default=0, help="every Nth request a shared 429 (default off)")
    return asyncio.run(run(ap.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
