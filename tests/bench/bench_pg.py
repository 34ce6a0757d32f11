"""PostgreSQL store benchmark for issue #19's budgets (not collected by pytest). Run it as a file::

    python tests/bench/bench_pg.py --db /tmp/bench-1m.db \\
        --url postgresql://postgres@127.0.0.1:5432/ac_bench_pg

``--url`` is a PostgreSQL store holding the same 1,000,000 entries as ``--db`` (made once with
``audit-console migrate --from /tmp/bench-1m.db --to URL``, then ANALYZE); it is only read. The
ingest goal writes into fresh databases of its own (``ac_pgbench_ingest_*`` on the same server,
dropped afterwards) and fresh SQLite files.

Goals, in one run on one machine:

- I: ingest through ``PgStore.add_entries`` (batches of 500, the collector's writer's largest, one
  call per guild in a batch) ≥ 0.5× the floor: a bare asyncpg loop writing the same rows into the
  same schema with ``executemany`` (audit_entries and audit_fts, one transaction per batch, rows
  prebuilt; it writes no chain, as bench_store's sqlite3 floor does not), and ≥ the SQLite
  store's rate through ``Store.add_entries``; interleaved reps, medians. A COPY floor (entries by
  binary COPY, full text by executemany: binary COPY has no tsvector) is printed as information.
- Q: the feed's pages (``timeline_page`` + ``timeline_records``, as the feed's first page reads)
  for bench_store's Q1 shapes, and 500,000 deep by keyset (Q2): p95 ≤ 10 ms.
- F: full text, newest 100: a rare term p95 ≤ 20 ms, a common one p95 ≤ 50 ms.
- C: capped counts (``timeline_count(cap=10_000)``, what the feed shows first), with and without
  text: p95 ≤ 25 ms.
- U: store attached → the feed's first frame with rows on the PostgreSQL store (bench_ui's U1):
  ≤ 150 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
for p in (str(ROOT), str(ROOT / "tests" / "bench")):
    if p not in sys.path:
        sys.path.insert(0, p)

import asyncpg  # noqa: E402
from bench_store import (  # noqa: E402
    ACTORS,
    DAY,
    END_MS,
    G_BIG,
    HEADER,
    RARE_WORD,
    TARGETS,
    Line,
    _row_count,
    all_names,
    generate,
    ingest_store,
    ms,
    p95,
    query_shapes,
    raw_rows,
)
from bench_ui import _first_frame, _MemoryTimeline  # noqa: E402

from console import logs  # noqa: E402
from console.model.filters import Filter  # noqa: E402
from console.store import Store  # noqa: E402
from console.store.ingest_batch import ROW_COLUMNS  # noqa: E402
from console.store.postgres import fulltext  # noqa: E402
from console.store.postgres.store import PgStore  # noqa: E402

Batches = list[list[tuple[dict[str, Any], int]]]
#: The collector's writer's largest batch (console/ingest/writer.py, max_batch).
BATCH = 500
COMMON_WORD = "spam"  # one of bench_store's 62 words: in ~12% of reasons


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


async def _fresh_db(url: str, name: str) -> str:
    """An empty database ``name`` on ``url``'s server (dropped first if it exists)."""
    admin = await asyncpg.connect(_with_db(url, "postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return _with_db(url, name)


async def _drop_db(url: str, name: str) -> None:
    admin = await asyncpg.connect(_with_db(url, "postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


# -- I: ingest --------------------------------------------------------------------------------------


def _regroup(batches: Batches, size: int) -> Batches:
    flat = [row for batch in batches for row in batch]
    return [flat[i : i + size] for i in range(0, len(flat), size)]


async def ingest_pg(url: str, batches: Batches) -> tuple[int, float]:
    """Through the app's API: PgStore.add_entries, one call per guild in each batch."""
    store = await PgStore.open(url)
    try:
        for kind, items in all_names():
            await store.upsert_names(None, kind, items)
        n = 0
        t0 = time.perf_counter()
        for batch in batches:
            by_guild: dict[int, list[dict[str, Any]]] = {}
            for raw, gid in batch:
                by_guild.setdefault(gid, []).append(raw)
            for gid, raws in by_guild.items():
                await store.add_entries(raws, source="backfill", guild_id=gid)
            n += len(batch)
        return n, time.perf_counter() - t0
    finally:
        await store.close()


Prebuilt = list[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]


def prebuild(batches: Batches) -> Prebuilt:
    """The rows the store writes (bench_store's, with each full-text row's tsvector text), built
    before the clock starts."""
    names = {(k, i): n for k, items in all_names() for i, n in items}
    return [
        (rows, [(*f, fulltext.document(*f[1:])) for f in fts]) for rows, fts in raw_rows(batches, names, now=END_MS)
    ]


_INSERT_ENTRIES = f"INSERT INTO audit_entries ({ROW_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
_INSERT_FTS = "INSERT INTO audit_fts (entry_id, reason, names, changes, doc) VALUES ($1, $2, $3, $4, $5::tsvector)"
_ENTRY_NAMES = [c.strip() for c in ROW_COLUMNS.split(",")]


async def ingest_raw_pg(url: str, prebuilt: Prebuilt, copy: bool = False) -> tuple[int, float]:
    """The floor: bare asyncpg into the store's schema (made by opening the store once, untimed),
    one transaction per batch; entries by ``executemany`` or (``copy``) binary COPY."""
    await (await PgStore.open(url)).close()
    db = await asyncpg.connect(url)
    try:
        n = 0
        t0 = time.perf_counter()
        for rows, fts in prebuilt:
            async with db.transaction():
                if copy:
                    await db.copy_records_to_table("audit_entries", records=rows, columns=_ENTRY_NAMES)
                else:
                    await db.executemany(_INSERT_ENTRIES, rows)
                await db.executemany(_INSERT_FTS, fts)
            n += len(rows)
        return n, time.perf_counter() - t0
    finally:
        await db.close()


def bench_ingest(url: str, work: Path, chunk: int, reps: int, lines: list[Line]) -> None:
    batches = _regroup(
        list(generate(chunk, seed=11, start_ms=END_MS + DAY, end_ms=END_MS + 2 * DAY, first=1 << 21)), BATCH
    )
    prebuilt = prebuild(batches)
    rates: dict[str, list[float]] = {"pg": [], "raw": [], "copy": [], "sqlite": []}
    order = list(rates)
    for rep in range(reps):
        for key in order if rep % 2 == 0 else order[::-1]:
            if key == "sqlite":
                target = work / f"ingest-{rep}.db"
                n, dt = asyncio.run(ingest_store(target, batches))
                for f in work.glob("ingest-*"):
                    f.unlink()
            else:
                name = f"ac_pgbench_ingest_{key}"
                fresh = asyncio.run(_fresh_db(url, name))
                if key == "pg":
                    n, dt = asyncio.run(ingest_pg(fresh, batches))
                else:
                    n, dt = asyncio.run(ingest_raw_pg(fresh, prebuilt, copy=key == "copy"))
                asyncio.run(_drop_db(url, name))
            rates[key].append(n / dt)
            print(f"  ingest rep {rep} {key}: {n / dt:,.0f} rows/s", flush=True)
    med = {k: statistics.median(v) for k, v in rates.items()}

    def paired(a: str, b: str) -> float:
        return statistics.median(x / y for x, y in zip(rates[a], rates[b], strict=True))

    what = f"ingest {chunk:,} rows, batches of {BATCH} (rows/s)"
    r = paired("pg", "raw")
    lines.append(
        Line("I", what, f"{med['pg']:,.0f}", f"{med['raw']:,.0f}", f"{r:.2f}", ">= 0.50 x executemany", r >= 0.5)
    )
    r = paired("pg", "sqlite")
    lines.append(
        Line(
            "I",
            "  against the SQLite store",
            f"{med['pg']:,.0f}",
            f"{med['sqlite']:,.0f}",
            f"{r:.2f}",
            ">= 1.00 x SQLite",
            r >= 1.0,
        )
    )
    r = paired("pg", "copy")
    lines.append(
        Line("I", "  against a COPY floor", f"{med['pg']:,.0f}", f"{med['copy']:,.0f}", f"{r:.2f}", "info", None)
    )


# -- Q, F, C: reads on the 1M store ------------------------------------------------------------


async def _timed(runs: int, fn: Callable[[], Awaitable[Any]]) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        await fn()
        out.append(time.perf_counter() - t)
    return out


async def bench_reads(url: str, runs: int, lines: list[Line]) -> None:
    store = await PgStore.open(url, readonly=True)
    raw = await asyncpg.connect(url)
    cols = "id, guild_id, action_type, actor_id, target_id, reason, created_at, received_at, source, raw, revision"
    try:
        total = int(await raw.fetchval("SELECT count(*) FROM audit_entries"))
        depth = min(500_000, total - 200)
        cursor = await raw.fetchval("SELECT id FROM audit_entries ORDER BY id DESC LIMIT 1 OFFSET $1", depth)
        actor_rows = int(await raw.fetchval("SELECT count(*) FROM audit_entries WHERE actor_id = $1", ACTORS[0]))
        actor_cursor = await raw.fetchval(
            "SELECT id FROM audit_entries WHERE actor_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2",
            ACTORS[0],
            actor_rows // 2,
        )

        def first_page(flt: Filter, anchor: int | None = None) -> Callable[[], Awaitable[Any]]:
            async def read() -> Any:  # what the feed reads for a page: refs, then their records
                return await store.timeline_records(await store.timeline_page(flt, anchor=anchor, limit=100))

            return read

        shapes = query_shapes(total)
        plain = {name: flt for name, flt in shapes.items() if not flt.text}
        text = {
            f"FTS rare '{RARE_WORD}' newest 100": Filter(text=RARE_WORD),
            f"FTS common '{COMMON_WORD}' newest 100": Filter(text=COMMON_WORD),
            "FTS prefix 'comp*' newest 100": Filter(text="comp*"),
            "FTS rare + actor (busy)": Filter(text=RARE_WORD, actor_ids=frozenset({ACTORS[0]})),
            "FTS common + actor (busy)": Filter(text=COMMON_WORD, actor_ids=frozenset({ACTORS[0]})),
        }
        actor = Filter(actor_ids=frozenset({ACTORS[0]}))
        deep = {
            f"page at depth {depth:,}": first_page(Filter(), cursor),
            f"actor page {actor_rows // 2:,} deep": first_page(actor, actor_cursor),
        }
        counts = {
            "count total": Filter(),
            "count guild (big)": Filter(guild_ids=frozenset({G_BIG})),
            "count actor+action": Filter(actor_ids=frozenset({ACTORS[3]}), actions=frozenset({22, 20})),
            "count action": Filter(actions=frozenset({22})),
            "count category moderation": Filter(categories=frozenset({"moderation"})),
            "count target": Filter(target_ids=frozenset({TARGETS[1234]})),
            "count 30-day range": Filter(since_ms=END_MS - 30 * DAY),
            f"count FTS rare '{RARE_WORD}'": Filter(text=RARE_WORD),
            f"count FTS common '{COMMON_WORD}'": Filter(text=COMMON_WORD),
        }
        # Information, measured after the goals' shapes in a pass of their own: a common word with
        # another filter joins ~40,000 full-text rows (most of audit_fts's heap, 235 MB), which
        # evicts the other shapes' pages from a default 128 MB shared_buffers.
        combined = {
            "count FTS rare + actor": Filter(text=RARE_WORD, actor_ids=frozenset({ACTORS[0]})),
            "count FTS common + actor": Filter(text=COMMON_WORD, actor_ids=frozenset({ACTORS[0]})),
        }
        jobs: dict[str, Callable[[], Awaitable[Any]]] = {}
        jobs["floor"] = lambda: raw.fetch(f"SELECT {cols} FROM audit_entries ORDER BY id DESC LIMIT 100")
        for name, flt in {**plain, **text}.items():
            jobs[name] = first_page(flt)
        jobs.update(deep)
        for name, flt in counts.items():
            jobs[name] = lambda flt=flt: store.timeline_count(flt, cap=10_000)
        for fn in jobs.values():  # warm the cache
            await fn()
        times: dict[str, list[float]] = {name: [] for name in jobs}
        for _ in range(runs):  # interleaved: each run visits every shape once
            for name, fn in jobs.items():
                times[name] += await _timed(1, fn)
        floor = p95(times["floor"])

        def add(goal: str, name: str, budget: float, target: str) -> None:
            v = p95(times[name])
            lines.append(Line(goal, f"{name} p95", ms(v), ms(floor), f"{v / floor:.1f}", target, v <= budget))

        for name in plain:
            add("Q", name, 0.010, "<= 10 ms")
        for name in deep:
            add("Q", name, 0.010, "<= 10 ms")
        for name in text:
            if "common" in name and "+" not in name:
                add("F", name, 0.050, "<= 50 ms")
            elif "rare" in name and "+" not in name:
                add("F", name, 0.020, "<= 20 ms")
            elif "+" in name:  # docs/performance.md, Q3: a filter and full text combined
                add("Q3", name, 0.050, "<= 50 ms")
            else:  # Q5: prefix search
                add("Q5", name, 0.050, "<= 50 ms")
        for name in counts:
            add("C", name, 0.025, "<= 25 ms")
        for name, flt in combined.items():
            fn = lambda flt=flt: store.timeline_count(flt, cap=10_000)  # noqa: E731
            await fn()
            times[name] = await _timed(max(5, runs // 3), fn)
            add("C", name, 0.025, "info")
            lines[-1].ok = None
    finally:
        await raw.close()
        await store.close()


# -- U: first frame ------------------------------------------------------------------------------


def bench_first_frame(url: str, work: Path, reps: int, lines: list[Line]) -> None:
    def opener() -> Awaitable[Any]:
        return PgStore.open(url, readonly=True)

    async def load_memory() -> list[Any]:
        store = await opener()
        try:
            return await store.page(limit=100_000)
        finally:
            await store.close()

    async def make_empty(path: Path) -> None:
        await (await Store.open(path)).close()

    memory = asyncio.run(load_memory())
    empty = work / "empty.db"
    asyncio.run(make_empty(empty))
    real, mem = [], []
    for _ in range(reps):
        real.append(asyncio.run(_first_frame(empty, empty, opener=opener)))
        mem.append(asyncio.run(_first_frame(empty, empty, opener=opener, wrap=lambda s: _MemoryTimeline(s, memory))))
    r, m = statistics.median(real), statistics.median(mem)
    lines.append(Line("U", "first frame after attach (median)", ms(r), ms(m), f"{r / m:.2f}", "<= 150 ms", r <= 0.150))


# -- main -----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, default=Path("/tmp/bench-1m.db"), help="the SQLite fixture (information)")
    ap.add_argument("--url", required=True, help="the PostgreSQL store with the fixture's entries (read only)")
    ap.add_argument("--chunk", type=int, default=50_000, help="rows per ingest rep (default 50,000)")
    ap.add_argument("--reps", type=int, default=3, help="interleaved reps for ingest and the first frame")
    ap.add_argument("--runs", type=int, default=30, help="runs per query shape (default 30)")
    ap.add_argument("--only", default="I,Q,U", help="comma list of I, Q (Q, F and C), U")
    args = ap.parse_args(argv)
    only = set(args.only.split(","))
    logs.setup(None)
    lines: list[Line] = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-pg-") as tmp:
        work = Path(tmp)
        if "I" in only:
            bench_ingest(args.url, work, args.chunk, args.reps, lines)
            for line in lines:
                print(line.render(), flush=True)
        if "Q" in only:
            asyncio.run(bench_reads(args.url, args.runs, lines))
        if "U" in only:
            bench_first_frame(args.url, work, args.reps, lines)

    async def describe() -> tuple[int, str, int]:
        db = await asyncpg.connect(args.url)
        try:
            n = int(await db.fetchval("SELECT count(*) FROM audit_entries"))
            version = str(await db.fetchval("SHOW server_version"))
            size = int(await db.fetchval("SELECT pg_database_size(current_database())"))
            return n, version, size
        finally:
            await db.close()

    n, version, size = asyncio.run(describe())
    print()
    print(
        f"store: {n:,} entries · {size / 2**20:,.0f} MB · PostgreSQL {version} · SQLite fixture "
        f"{_row_count(args.db):,} rows · python {sys.version.split()[0]} · {os.cpu_count()} cpus · "
        f"{time.perf_counter() - t0:.0f} s"
    )
    print(HEADER)
    for line in lines:
        print(line.render())
    return 1 if any(line.ok is False for line in lines) else 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
