"""Integrity chain benchmark (not in CI): what the chain costs ingest, and how long verify and
prune take.

Ingests the same rows through Store.add_entries (1000-row batches, as bench_store.py) with the
chain on and off — off is the store with the chain's hashing and link writes stubbed out —
interleaved, each rep into a fresh file; then verifies and prunes the last store.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import bench_store as b  # noqa: E402

from console.model.retention import Retention  # noqa: E402
from console.store import Store, chain  # noqa: E402
from console.store.retention import PruneResult  # noqa: E402
from console.store.sqlite import links  # noqa: E402
from console.store.verify import verify  # noqa: E402


@contextmanager
def chain_off() -> Iterator[None]:
    saved = links.append, chain.entry_hash

    async def no_links(*args: Any, **kwargs: Any) -> None:
        return None

    links.append, chain.entry_hash = no_links, lambda head, raw: b""  # type: ignore[assignment]
    try:
        yield
    finally:
        links.append, chain.entry_hash = saved  # type: ignore[assignment]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000, help="rows per ingest (default 100,000)")
    ap.add_argument("--reps", type=int, default=3, help="interleaved reps (default 3)")
    args = ap.parse_args(argv)
    batches = list(b.generate(args.rows, seed=11, start_ms=b.END_MS - 200 * b.DAY, end_ms=b.END_MS))
    on: list[float] = []
    off: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-integrity-") as tmp:
        last = Path(tmp) / "on-last.db"
        for rep in range(args.reps):
            for chained in (True, False) if rep % 2 == 0 else (False, True):
                path = Path(tmp) / f"{'on' if chained else 'off'}-{rep}.db"
                if chained:
                    n, dt = asyncio.run(b.ingest_store(path, batches))
                    on.append(n / dt)
                else:
                    with chain_off():
                        n, dt = asyncio.run(b.ingest_store(path, batches))
                    off.append(n / dt)
                print(f"rep {rep} chain {'on ' if chained else 'off'}: {n / dt:,.0f} rows/s", flush=True)
                if chained:
                    path.replace(last)
                else:
                    path.unlink()
        ratios = [a / c for a, c in zip(on, off, strict=True)]
        print(
            f"ingest {args.rows:,} rows: chain on {statistics.median(on):,.0f} rows/s, off"
            f" {statistics.median(off):,.0f} rows/s: {statistics.median(ratios):.2f}x"
            f" (reps {', '.join(f'{r:.2f}' for r in ratios)})"
        )
        t = time.perf_counter()
        report = verify(last)
        print(f"verify {args.rows:,} records: {time.perf_counter() - t:.1f} s ({report.summary()})")

        async def prune() -> list[PruneResult]:
            store = await Store.open(last, clock=lambda: b.END_MS)
            try:
                return await store.prune(Retention(90))
            finally:
                await store.close()

        t = time.perf_counter()
        removed = sum(r.total for r in asyncio.run(prune()))
        print(
            f"prune to 90 days: {removed:,} rows in {time.perf_counter() - t:.1f} s;"
            f" verify after: {'ok' if verify(last).ok else 'PROBLEMS'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
