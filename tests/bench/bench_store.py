"""Storage, query and export benchmark for the goals I1, I3, Q1, Q2, Q4, Q6, E1, E2 of docs/performance.md.

Not collected by pytest (no ``test_`` prefix). Run it as a file::

    python tests/bench/bench_store.py                 # 1,000,000 rows, fixture DB in a temp folder
    python tests/bench/bench_store.py --rows 200000 --db /tmp/bench-200k.db   # reused when it exists

Protocol (docs/performance.md): every goal is a ratio to a floor measured in the same run,
interleaved with the app path, ≥3 reps, median (queries: p95 over ≥20 runs each).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import gc
import io
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402

from console.model import entry as entries  # noqa: E402
from console.model.export_format import AuditRecords  # noqa: E402
from console.model.filters import Exclusions, Filter  # noqa: E402
from console.model.snowflake import DISCORD_EPOCH_MS  # noqa: E402
from console.store import (  # noqa: E402
    Store,
    export_workers,  # noqa: E402
    queries,
    timeline,  # noqa: E402
)
from console.store import export as exporter  # noqa: E402
from console.store.connection import _split  # noqa: E402
from console.store.schema import APPLICATION_ID, MIGRATIONS  # noqa: E402

DAY = 86_400_000
END_MS = 1_780_000_000_000  # 2026-05-28: the fixture's "now"
SPAN_MS = 365 * DAY
G_BIG, G_SMALL = 700_000_000_000_000_001, 700_000_000_000_000_002
ACTORS = [210_000_000_000_000_000 + i for i in range(30)]
TARGETS = [320_000_000_000_000_000 + i for i in range(5000)]
ROLES = [430_000_000_000_000_000 + i for i in range(50)]
CHANNELS = [540_000_000_000_000_000 + i for i in range(30)]
WORDS = [
    "spam",
    "raid",
    "alt",
    "account",
    "phishing",
    "link",
    "scam",
    "nsfw",
    "toxic",
    "harassment",
    "slur",
    "threat",
    "doxxing",
    "warned",
    "repeated",
    "offence",
    "appeal",
    "denied",
    "granted",
    "evading",
    "ban",
    "bot",
    "selfbot",
    "advertising",
    "invite",
    "dm",
    "mention",
    "everyone",
    "caps",
    "flood",
    "emoji",
    "wall",
    "copypasta",
    "gore",
    "shock",
    "underage",
    "impersonation",
    "mod",
    "staff",
    "verification",
    "failed",
    "passed",
    "joined",
    "left",
    "rejoined",
    "nickname",
    "inappropriate",
    "profile",
    "picture",
    "banner",
    "status",
    "crypto",
    "giveaway",
    "steam",
    "gift",
    "nitro",
    "free",
    "hacked",
    "compromised",
    "token",
    "grabber",
    "malware",
]
RARE_WORD = "zeitgeist"  # in ~0.05% of reasons


def snowflake(ms: int, low: int) -> int:
    return (ms - DISCORD_EPOCH_MS) << 22 | (low & 0x3FFFFF)


def iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + ".000000+00:00"


# -- data ---------------------------------------------------------------------------------------


def generate(
    n: int, seed: int, start_ms: int, end_ms: int, first: int = 0
) -> Iterator[list[tuple[dict[str, Any], int]]]:
    """Batches of 1000 (raw entry, guild id), ids increasing from ``start_ms`` to ``end_ms``."""
    rnd = random.Random(seed)
    step = (end_ms - start_ms) / max(n, 1)
    actor_w = [1 / (i + 1) for i in range(len(ACTORS))]  # a few moderators do most of it
    kinds = ["ban", "unban", "kick", "timeout", "untimeout", "nick", "roles", "msgdel", "perms", "overwrite", "bulk"]
    kind_w = [15, 3, 10, 15, 5, 5, 20, 20, 3, 2, 2]
    batch: list[tuple[dict[str, Any], int]] = []
    choice, choices, randint, rand = rnd.choice, rnd.choices, rnd.randint, rnd.random
    for i in range(n):
        ms = int(start_ms + i * step)
        eid = snowflake(ms, first + i)
        kind = choices(kinds, kind_w)[0]
        actor = choices(ACTORS, actor_w)[0]
        raw: dict[str, Any] = {"id": str(eid), "user_id": str(actor)}
        reason = None
        if rand() < 0.85:
            words = [choice(WORDS) for _ in range(randint(1, 8))]
            if rand() < 0.0005:
                words.append(RARE_WORD)
            reason = " ".join(words)
        target = choice(TARGETS)
        if kind == "ban":
            raw["action_type"] = 22
        elif kind == "unban":
            raw["action_type"] = 23
        elif kind == "kick":
            raw["action_type"] = 20
        elif kind == "timeout":
            raw["action_type"] = 24
            raw["changes"] = [{"key": "communication_disabled_until", "new_value": iso(ms + randint(1, 28) * DAY)}]
        elif kind == "untimeout":
            raw["action_type"] = 24
            raw["changes"] = [{"key": "communication_disabled_until", "old_value": iso(ms + DAY)}]
        elif kind == "nick":
            raw["action_type"] = 24
            raw["changes"] = [{"key": "nick", "old_value": choice(WORDS), "new_value": choice(WORDS)}]
        elif kind == "roles":
            raw["action_type"] = 25
            role = choice(ROLES)
            raw["changes"] = [
                {"key": choice(("$add", "$remove")), "new_value": [{"id": str(role), "name": f"role-{role % 1000}"}]}
            ]
        elif kind == "msgdel":
            raw["action_type"] = 72
            raw["options"] = {"channel_id": str(choice(CHANNELS)), "count": str(randint(1, 20))}
        elif kind == "perms":
            raw["action_type"] = 31
            target = choice(ROLES)
            old = rnd.getrandbits(40)
            raw["changes"] = [
                {"key": "permissions", "old_value": str(old), "new_value": str(old ^ (1 << randint(0, 45)))}
            ]
        elif kind == "overwrite":
            raw["action_type"] = 14
            target = choice(CHANNELS)
            role = choice(ROLES)
            raw["options"] = {"id": str(role), "type": "0", "role_name": f"role-{role % 1000}"}
            raw["changes"] = [{"key": "allow", "old_value": "0", "new_value": str(1 << randint(0, 45))}]
        else:
            raw["action_type"] = 73
            target = choice(CHANNELS)
            raw["options"] = {"count": str(randint(2, 100))}
        raw["target_id"] = str(target)
        if reason is not None:
            raw["reason"] = reason
        batch.append((raw, G_SMALL if rand() < 0.1 else G_BIG))
        if len(batch) == 1000:
            yield batch
            batch = []
    if batch:
        yield batch


def all_names() -> list[tuple[str, list[tuple[int, str]]]]:
    rnd = random.Random(99)
    users = [(a, f"mod-{i}") for i, a in enumerate(ACTORS)]
    users += [(t, f"{rnd.choice(WORDS)}{i}") for i, t in enumerate(TARGETS)]
    return [
        ("user", users),
        ("role", [(r, f"role-{r % 1000}") for r in ROLES]),
        ("channel", [(c, f"chan-{c % 1000}") for c in CHANNELS]),
    ]


async def ingest_store(
    path: Path,
    batches: list[list[tuple[dict[str, Any], int]]] | Iterator[list[tuple[dict[str, Any], int]]],
    on_batch: Callable[[int], None] | None = None,
) -> tuple[int, float]:
    """Ingest through the app's API: Store.add_entries, one call per 1000-row batch."""
    s = await Store.open(path, quick_check=False)
    try:
        for kind, items in all_names():
            await s.upsert_names(None, kind, items)
        n = 0
        t0 = time.perf_counter()
        for batch in batches:
            by_guild: dict[int, list[dict[str, Any]]] = {}
            for raw, gid in batch:
                by_guild.setdefault(gid, []).append(raw)
            for gid, raws in by_guild.items():
                await s.add_entries(raws, source="backfill", guild_id=gid)
            n += len(batch)
            if on_batch:
                on_batch(n)
        return n, time.perf_counter() - t0
    finally:
        await s.close()


def raw_rows(
    batches: list[list[tuple[dict[str, Any], int]]], names: dict[tuple[str, int], str], now: int
) -> list[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """The exact rows the store writes, prebuilt for the raw-sqlite3 floor (parsing not timed)."""
    out = []
    for batch in batches:
        rows, fts = [], []
        for raw, gid in batch:
            e = entries.parse_entry(raw, gid)
            found = [names.get(("user", e.actor_id), "")] if e.actor_id is not None else []
            t = int(e.target_id) if e.target_id else None
            for kind in ("user", "role", "channel"):
                if t is not None and (kind, t) in names:
                    found.append(names[(kind, t)])
                    break
            rows.append(
                (
                    e.id,
                    e.guild_id,
                    e.action_type,
                    e.actor_id,
                    t,
                    e.reason,
                    e.created_ms,
                    now,
                    "backfill",
                    orjson.dumps(raw).decode(),
                    entries.content_hash(raw),
                )
            )
            fts.append((e.id, e.reason or "", " ".join(x for x in found if x), entries.changes_text(e)))
        out.append((rows, fts))
    return out


def raw_db(path: Path) -> sqlite3.Connection:
    """A fresh database with the app's schema and the writer's pragmas, through bare sqlite3."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA temp_store = MEMORY")
    db.execute("PRAGMA cache_size = -32000")
    db.execute("BEGIN")
    for stmt in _split(MIGRATIONS[0]):
        db.execute(stmt)
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    db.execute("COMMIT")
    return db


def ingest_raw(path: Path, prebuilt: list[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]) -> tuple[int, float]:
    if path.exists():  # a copy of the fixture: same pragmas as the store's writer
        db = sqlite3.connect(path, isolation_level=None)
        for pragma in (
            "journal_mode = WAL",
            "synchronous = FULL",
            "foreign_keys = ON",
            "temp_store = MEMORY",
            "cache_size = -32000",
        ):
            db.execute(f"PRAGMA {pragma}")
    else:
        db = raw_db(path)
    n = 0
    t0 = time.perf_counter()
    for rows, fts in prebuilt:
        db.execute("BEGIN IMMEDIATE")
        db.executemany(
            "INSERT INTO audit_entries (id, guild_id, action_type, actor_id, target_id, reason, created_at,"
            " received_at, source, raw, content_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
        db.executemany("INSERT INTO audit_fts (rowid, reason, names, changes) VALUES (?,?,?,?)", fts)
        db.execute("COMMIT")
        n += len(rows)
    dt = time.perf_counter() - t0
    db.close()
    return n, dt


# -- measurement helpers ----------------------------------------------------------------------


@dataclass
class Line:
    goal: str
    what: str
    value: str
    floor: str
    ratio: str
    target: str
    ok: bool | None

    def render(self) -> str:
        verdict = {True: "PASS", False: "FAIL", None: "info"}[self.ok]
        head = f"{self.goal:<4} {self.what:<38} {self.value:>14} {self.floor:>14}"
        return f"{head} {self.ratio:>7} {self.target:<26} {verdict}"


HEADER = f"{'goal':<4} {'what':<38} {'measured':>14} {'floor':>14} {'ratio':>7} {'target':<26} verdict"


def p95(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))]


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


class LagProbe:
    """A 1 ms sleeper on the loop; records how late each wake-up is."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            t = time.perf_counter()
            await asyncio.sleep(0.001)
            self.lags.append(max(0.0, time.perf_counter() - t - 0.001))

    def __enter__(self) -> LagProbe:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


def ms(x: float) -> str:
    return f"{x * 1000:.2f} ms"


# -- the goals ----------------------------------------------------------------------------------


def bench_i1(work: Path, chunk: int, reps: int, lines: list[Line], base: Path | None = None) -> None:
    """Raw sqlite3 vs Store.add_entries, interleaved, each rep into an identical starting DB:
    empty (``base`` None) or a fresh copy of the fixture (ingest "at 1M")."""
    batches = list(generate(chunk, seed=11, start_ms=END_MS + DAY, end_ms=END_MS + 2 * DAY, first=1 << 21))
    names = {(k, i): n for k, items in all_names() for i, n in items}
    prebuilt = raw_rows(batches, names, now=END_MS)
    raw_rates, app_rates = [], []
    for rep in range(reps):
        for order in (0, 1) if rep % 2 == 0 else (1, 0):
            target = work / f"i1-{order}-{rep}.db"
            if base is not None:
                shutil.copyfile(base, target)
            if order == 0:
                n, dt = ingest_raw(target, prebuilt)
                raw_rates.append(n / dt)
            else:
                n, dt = asyncio.run(ingest_store(target, batches))
                app_rates.append(n / dt)
            for f in work.glob("i1-*"):
                f.unlink()
    raw, app = statistics.median(raw_rates), statistics.median(app_rates)
    r = statistics.median([a / r for a, r in zip(app_rates, raw_rates, strict=True)])
    if base is None:
        lines.append(
            Line(
                "I1",
                f"ingest {chunk:,} rows, empty DB (rows/s)",
                f"{app:,.0f}",
                f"{raw:,.0f}",
                f"{r:.2f}",
                "info (>= 0.50 at scale)",
                None,
            )
        )
    else:
        rows = _row_count(base)
        lines.append(
            Line(
                "I1",
                f"ingest {chunk:,} rows into {rows:,} (rows/s)",
                f"{app:,.0f}",
                f"{raw:,.0f}",
                f"{r:.2f}",
                ">= 0.50 x raw",
                r >= 0.5,
            )
        )


def bench_i3(work: Path, chunk: int, lines: list[Line]) -> None:
    batches = list(generate(chunk, seed=13, start_ms=END_MS + 3 * DAY, end_ms=END_MS + 4 * DAY))
    # The test data is not the app's heap: keep its 50k dicts out of the collector's full passes
    # (a gen-2 collection over them showed up as 50–90 ms "lag" that the app itself would not have).
    gc.collect()
    gc.freeze()

    async def run() -> tuple[list[float], float]:
        with LagProbe() as probe:
            n, dt = await ingest_store(work / "i3.db", batches)
        return probe.lags, n / dt

    lags, rate = asyncio.run(run())
    for f in work.glob("i3*"):
        f.unlink()
    p99, mx = pct(lags, 0.99), max(lags)
    lines.append(Line("I3", f"loop lag ingesting ({rate:,.0f} rows/s) p99", ms(p99), "", "", "<= 10 ms", p99 <= 0.010))
    lines.append(Line("I3", "loop lag ingesting max", ms(mx), "", "", "<= 50 ms", mx <= 0.050))


def query_shapes(rows: int) -> dict[str, Filter]:
    start = END_MS - SPAN_MS
    mid = start + SPAN_MS // 2
    return {
        "newest 100": Filter(),
        "guild (small guild)": Filter(guild_ids=frozenset({G_SMALL})),
        "action MEMBER_BAN_ADD": Filter(actions=frozenset({22})),
        "action ROLE_UPDATE (rare, 3%)": Filter(actions=frozenset({31})),
        "actor (busy)": Filter(actor_ids=frozenset({ACTORS[0]})),
        "actor (quiet)": Filter(actor_ids=frozenset({ACTORS[-1]})),
        "target": Filter(target_ids=frozenset({TARGETS[1234]})),
        "category moderation": Filter(categories=frozenset({"moderation"})),
        "category permission (rare)": Filter(categories=frozenset({"permission"})),
        "date range (7 days, mid)": Filter(since_ms=mid, until_ms=mid + 7 * DAY),
        "actor+action": Filter(actor_ids=frozenset({ACTORS[3]}), actions=frozenset({22, 20})),
        "FTS 'spam' newest 100": Filter(text="spam"),
        "FTS rare term": Filter(text=RARE_WORD),
        "FTS prefix 'comp*'": Filter(text="comp*"),
        # Exclusions (the query's -field: and -word).
        "not category moderation": Filter(exclude=Exclusions(categories=frozenset({"moderation"}))),
        "not actor (busy)": Filter(exclude=Exclusions(actor_ids=frozenset({ACTORS[0]}))),
        "not FTS 'spam' (common)": Filter(exclude=Exclusions(text="spam")),
        "action, not actor": Filter(actions=frozenset({22}), exclude=Exclusions(actor_ids=frozenset({ACTORS[0]}))),
    }


async def bench_queries(path: Path, runs: int, lines: list[Line]) -> None:
    store = await Store.open(path, readonly=True, quick_check=False)
    raw = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    cols = "id, guild_id, action_type, actor_id, target_id, reason, created_at, received_at, source, raw, revision"
    try:
        (total,) = raw.execute("SELECT count(*) FROM audit_entries").fetchone()
        depth = min(500_000, total - 200)
        (cursor,) = raw.execute("SELECT id FROM audit_entries ORDER BY id DESC LIMIT 1 OFFSET ?", (depth,)).fetchone()
        shapes = query_shapes(total)
        times: dict[str, list[float]] = {k: [] for k in shapes}
        floor: list[float] = []
        deep: dict[str, list[float]] = {"depth 0": [], f"depth {depth:,}": [], "actor depth 0": [], "actor deep": []}
        (actor_rows,) = raw.execute("SELECT count(*) FROM audit_entries WHERE actor_id = ?", (ACTORS[0],)).fetchone()
        actor_depth = actor_rows // 2
        (actor_cursor,) = raw.execute(
            "SELECT id FROM audit_entries WHERE actor_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?",
            (ACTORS[0], actor_depth),
        ).fetchone()
        counts = {
            "count total": Filter(),
            "count guild (big)": Filter(guild_ids=frozenset({G_BIG})),
            "count actor+action": Filter(actor_ids=frozenset({ACTORS[3]}), actions=frozenset({22, 20})),
            "count action": Filter(actions=frozenset({22})),
            "count category moderation": Filter(categories=frozenset({"moderation"})),
            "count 30-day range": Filter(since_ms=END_MS - 30 * DAY),
            "count 365-day range": Filter(since_ms=END_MS - 365 * DAY),
            "count FTS rare term": Filter(text=RARE_WORD),
            "count FTS common term": Filter(text="spam"),
            "count not FTS common term": Filter(exclude=Exclusions(text="spam")),
            "count not category moderation": Filter(exclude=Exclusions(categories=frozenset({"moderation"}))),
        }
        ctimes: dict[str, list[float]] = {k: [] for k in counts}
        capped: dict[str, list[float]] = {k: [] for k in counts}
        for _ in range(3):  # warm the cache
            for flt in shapes.values():
                await store.page(flt, limit=100)
        for _ in range(runs):
            t = time.perf_counter()
            raw.execute(f"SELECT {cols} FROM audit_entries ORDER BY id DESC LIMIT 100").fetchall()
            floor.append(time.perf_counter() - t)
            for name, flt in shapes.items():
                t = time.perf_counter()
                await store.page(flt, limit=100)
                times[name].append(time.perf_counter() - t)
            for key, kw in (("depth 0", {}), (f"depth {depth:,}", {"before": cursor})):
                t = time.perf_counter()
                await store.page(Filter(), limit=100, **kw)
                deep[key].append(time.perf_counter() - t)
            actor = Filter(actor_ids=frozenset({ACTORS[0]}))
            for key, kw in (("actor depth 0", {}), ("actor deep", {"before": actor_cursor})):
                t = time.perf_counter()
                await store.page(actor, limit=100, **kw)
                deep[key].append(time.perf_counter() - t)
            for name, flt in counts.items():
                t = time.perf_counter()
                await store.count(flt)
                ctimes[name].append(time.perf_counter() - t)
                # What the feed shows first: a count capped at 10,000 ("≥ 10,000"), the exact one
                # following in the background (docs/performance.md, Q4: "otherwise an approximation").
                t = time.perf_counter()
                await timeline.count(store.reader, flt, cap=10_000)
                capped[name].append(time.perf_counter() - t)
        f95 = p95(floor)
        budget = max(0.010, 20 * f95)
        for name in shapes:
            v = p95(times[name])
            if "prefix" in name:  # docs/performance.md, Q5: prefix search has its own budget
                lines.append(Line("Q5", f"{name} p95", ms(v), ms(f95), f"{v / f95:.1f}", "<= 50 ms", v <= 0.050))
                continue
            goal = "Q6" if "not " in name else "Q1"  # docs/performance.md, Q6: exclusions, Q1's budget
            lines.append(
                Line(goal, f"{name} p95", ms(v), ms(f95), f"{v / f95:.1f}", "<= max(10 ms, 20x floor)", v <= budget)
            )
        d0, dd = p95(deep["depth 0"]), p95(deep[f"depth {depth:,}"])
        lines.append(
            Line("Q2", f"page at depth {depth:,} p95", ms(dd), ms(d0), f"{dd / d0:.2f}", "<= 2 x depth 0", dd <= 2 * d0)
        )
        a0, ad = p95(deep["actor depth 0"]), p95(deep["actor deep"])
        lines.append(
            Line(
                "Q2",
                f"actor page {actor_depth:,} deep p95",
                ms(ad),
                ms(a0),
                f"{ad / a0:.2f}",
                "<= 2 x depth 0",
                ad <= 2 * a0,
            )
        )
        for name in counts:
            v, c = p95(ctimes[name]), p95(capped[name])
            goal = "Q6" if "not " in name else "Q4"
            lines.append(Line(goal, f"{name} exact p95", ms(v), "", "", "info (shown when ready)", None))
            lines.append(Line(goal, f"{name} as shown (cap 10k) p95", ms(c), "", "", "<= 25 ms", c <= 0.025))
    finally:
        raw.close()
        await store.close()


EXPORT_COLS = exporter.COLUMNS


def floor_csv(path: Path, sink: io.RawIOBase | Any) -> int:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    sql, args = queries.entry_page(Filter(), before=None, after=None, limit=-1, columns=EXPORT_COLS)
    text = io.TextIOWrapper(sink, encoding="utf-8", newline="")
    w = csv.writer(text, quoting=csv.QUOTE_ALL)
    cur = db.execute(sql, args)
    n = 0
    while rows := cur.fetchmany(1000):
        w.writerows(rows)
        n += len(rows)
    text.flush()
    text.detach()
    db.close()
    return n


def floor_jsonl(path: Path, sink: Any) -> int:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    sql, args = queries.entry_page(Filter(), before=None, after=None, limit=-1, columns=EXPORT_COLS)
    names = [c.strip() for c in EXPORT_COLS.split(",")]
    cur = db.execute(sql, args)
    n = 0
    dumps, opt = orjson.dumps, orjson.OPT_APPEND_NEWLINE
    while rows := cur.fetchmany(1000):
        sink.write(b"".join([dumps(dict(zip(names, r, strict=False)), option=opt) for r in rows]))
        n += len(rows)
    db.close()
    return n


def app_export(path: Path, fmt: str, sink: Any) -> int:
    return exporter.export(path, Filter(), fmt, sink).rows


def render_only(path: Path, sink: Any) -> int:
    """E1's floor: the export's rows read as the export reads them, each decoded and built into its
    record by the project's own renderer (:class:`AuditRecords`), and written nowhere. What the
    export does beyond this (encoding, writing, merging, the helper processes) is what E1 measures."""
    del sink  # nothing is written: the records are the product
    db = exporter.open_readonly(path)
    try:
        record, loads = AuditRecords(exporter.load_names(db)).record, orjson.loads
        sql, args = queries.entry_page(Filter(), before=None, after=None, limit=-1, columns=exporter.COLUMNS)
        cur = db.execute(sql, args)
        n = 0
        while rows := cur.fetchmany(1000):
            for _id, gid, recv, src, rev, raw in rows:
                record(loads(raw), gid, recv, src, rev)
            n += len(rows)
    finally:
        db.close()
    return n


def bench_export(path: Path, reps: int, lines: list[Line]) -> None:
    """E1: each format's export against rendering the same records in the same run (interleaved,
    median of the per-rep ratios); the renderer's µs per row; the earlier raw floor (a bare
    ``csv.writer`` / orjson loop over the stored columns) and the helpers' gain, as information."""
    runs: list[tuple[str, Callable[[Any], int]]] = [
        ("render", lambda s: render_only(path, s)),
        ("csv-app", lambda s: app_export(path, "csv", s)),
        ("jsonl-app", lambda s: app_export(path, "jsonl", s)),
        ("csv-floor", lambda s: floor_csv(path, s)),
        ("jsonl-floor", lambda s: floor_jsonl(path, s)),
    ]
    results: dict[str, list[float]] = {key: [] for key, _fn in runs}
    n = 0
    for rep in range(reps):
        for key, fn in runs if rep % 2 == 0 else runs[::-1]:
            with open(os.devnull, "wb") as sink:
                t = time.perf_counter()
                n = fn(sink)
                results[key].append(n / (time.perf_counter() - t))
    render = statistics.median(results["render"])
    lines.append(Line("E1", "renderer: read, decode, build (µs/row)", f"{1e6 / render:.1f} µs", "", "", "info", None))
    for fmt in ("csv", "jsonl"):
        app = statistics.median(results[f"{fmt}-app"])
        r = statistics.median([a / f for a, f in zip(results[f"{fmt}-app"], results["render"], strict=True)])
        lines.append(
            Line(
                "E1",
                f"export {fmt.upper()} {n:,} rows (rows/s)",
                f"{app:,.0f}",
                f"{render:,.0f}",
                f"{r:.2f}",
                ">= 0.80 x renderer",
                r >= 0.8,
            )
        )
        raw = statistics.median(results[f"{fmt}-floor"])
        raw_r = statistics.median([a / f for a, f in zip(results[f"{fmt}-app"], results[f"{fmt}-floor"], strict=True)])
        lines.append(
            Line(
                "E1",
                f"  {fmt.upper()} against the raw floor",
                f"{app:,.0f}",
                f"{raw:,.0f}",
                f"{raw_r:.2f}",
                "info",
                None,
            )
        )
        # The helper processes' gain over rendering in the calling thread (one run, same fixture).
        with open(os.devnull, "wb") as sink:
            saved = export_workers.MIN_ROWS
            export_workers.MIN_ROWS = 10**12
            try:
                t = time.perf_counter()
                alone = exporter.export(path, Filter(), fmt, sink).rows / (time.perf_counter() - t)
            finally:
                export_workers.MIN_ROWS = saved
        lines.append(
            Line(
                "E1",
                f"  {fmt.upper()} in the calling thread alone",
                f"{alone:,.0f}",
                f"{render:,.0f}",
                f"{alone / render:.2f}",
                f"info: helpers x{app / alone:.2f}",
                None,
            )
        )


def bench_export_mixed(path: Path, work: Path, lines: list[Line], decisions: int = 2000) -> None:
    """The same export with decisions in the store (a copy of the fixture): the helpers' merged
    path, where this process renders the decisions and splices them in by id."""
    from console.model.records import Decision

    copy = work / "mixed.db"
    shutil.copyfile(path, copy)

    async def add() -> None:
        store = await Store.open(copy, quick_check=False)
        try:
            ids = [
                r[0]
                for r in await (
                    await store.reader.execute(
                        "SELECT id FROM audit_entries ORDER BY id LIMIT ? OFFSET 1", (decisions * 500,)
                    )
                ).fetchall()
            ][::500]
            for ident in ids:
                await store.record_decision(
                    Decision(
                        id=ident + 1,
                        guild_id=1,
                        created_at=0,
                        actor_id=5,
                        actor_name="m",
                        actor_roles=[],
                        actor_admin=False,
                        actor_owner=False,
                        capability="roles.grant",
                        resource_type="role",
                        resource_id=1,
                        source="TUI",
                        result="ALLOW",
                        reason_code="X",
                        path=[],
                        policy_version="v1",
                    )
                )
        finally:
            await store.close()

    asyncio.run(add())
    for fmt in ("csv", "jsonl"):
        with open(os.devnull, "wb") as sink:
            t = time.perf_counter()
            rate = app_export(copy, fmt, sink) / (time.perf_counter() - t)
        lines.append(
            Line(
                "E1",
                f"  {fmt.upper()} with {decisions:,} decisions merged in (rows/s)",
                f"{rate:,.0f}",
                "",
                "",
                "info",
                None,
            )
        )
    for f in work.glob("mixed.db*"):
        f.unlink()


_RSS_CHILD = r"""
import sys, os
sys.path.insert(0, sys.argv[1])
from console.model.filters import Exclusions, Filter
from console.store import export as exporter
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1])
exporter.export(sys.argv[2], Filter(), sys.argv[3], open(os.devnull, "wb"), ids=[1])  # warm imports
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset the peak (VmHWM) to the current RSS
base = status("VmRSS:")
with open(os.devnull, "wb") as sink:
    exporter.export(sys.argv[2], Filter(), sys.argv[3], sink)
import resource
print(status("VmHWM:") - base, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def bench_export_rss(path: Path, lines: list[Line]) -> None:
    for fmt in ("csv", "jsonl", "json"):
        out = subprocess.run(
            [sys.executable, "-c", _RSS_CHILD, str(ROOT), str(path), fmt], capture_output=True, text=True, check=True
        )
        growth, worker = (int(v) for v in out.stdout.split())
        growth_mb = growth / 1024
        lines.append(
            Line(
                "E2",
                f"export {fmt.upper()} peak RSS growth",
                f"{growth_mb:.1f} MB",
                "",
                "",
                "<= 50 MB",
                growth_mb <= 50,
            )
        )
        # Big exports render in worker processes (console/store/export_workers.py): their own
        # peak, each, is shown beside the caller's growth (they are gone when the export ends).
        lines.append(
            Line(
                "E2",
                f"export {fmt.upper()} worker process peak RSS (each)",
                f"{worker / 1024:.1f} MB",
                "",
                "",
                "info",
                None,
            )
        )


def bench_export_lag(path: Path, lines: list[Line]) -> None:
    async def run() -> list[float]:
        with LagProbe() as probe, open(os.devnull, "wb") as sink:
            await exporter.export_async(path, Filter(), "jsonl", sink)
        return probe.lags

    lags = asyncio.run(run())
    p99 = pct(lags, 0.99)
    lines.append(Line("E2", "loop lag during export_async p99", ms(p99), "", "", "<= 10 ms", p99 <= 0.010))


# -- main -----------------------------------------------------------------------------------------


def build_fixture(path: Path, rows: int) -> None:
    print(f"building {rows:,}-row fixture at {path} through Store.add_entries …", flush=True)
    last = [time.perf_counter()]

    def tick(n: int) -> None:
        if n % 100_000 == 0:
            now = time.perf_counter()
            print(f"  {n:,} rows ({100_000 / (now - last[0]):,.0f} rows/s)", flush=True)
            last[0] = now

    n, dt = asyncio.run(ingest_store(path, generate(rows, seed=1, start_ms=END_MS - SPAN_MS, end_ms=END_MS), tick))
    print(f"  {n:,} rows in {dt:.1f} s = {n / dt:,.0f} rows/s; FTS optimize …", flush=True)
    db = sqlite3.connect(path, isolation_level=None)
    t = time.perf_counter()
    db.execute("INSERT INTO audit_fts(audit_fts) VALUES ('optimize')")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute("ANALYZE")
    db.close()
    print(f"  optimize + ANALYZE {time.perf_counter() - t:.1f} s", flush=True)


def _row_count(db: Path) -> int:
    try:
        c = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            return int(c.execute("SELECT count(*) FROM audit_entries").fetchone()[0])
        finally:
            c.close()
    except sqlite3.Error:
        return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows in the fixture DB (default 1,000,000)")
    ap.add_argument("--db", type=Path, help="fixture DB path; reused when it exists")
    ap.add_argument("--chunk", type=int, default=50_000, help="rows per I1/I3 ingest rep (default 50,000)")
    ap.add_argument("--reps", type=int, default=3, help="interleaved reps for I1 and E1 (default 3)")
    ap.add_argument("--runs", type=int, default=30, help="runs per query shape (default 30)")
    ap.add_argument("--only", default="I1,I3,Q,E", help="comma list of I1,I3,Q,E,E2 (E2: RSS and lag only)")
    args = ap.parse_args(argv)
    only = set(args.only.split(","))
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        work = Path(tmp)
        db = args.db or work / f"fixture-{args.rows}.db"
        if db.exists() and _row_count(db) == 0:
            print(f"{db} holds no entries (an interrupted build?): rebuilding", flush=True)
            for f in db.parent.glob(db.name + "*"):
                f.unlink()
        if not db.exists():
            build_fixture(db, args.rows)
        else:
            print(f"reusing fixture {db} ({_row_count(db):,} rows)", flush=True)
        lines: list[Line] = []
        t0 = time.perf_counter()
        if "I1" in only:
            bench_i1(work, args.chunk, args.reps, lines)
            print(lines[-1].render(), flush=True)
            bench_i1(work, args.chunk, args.reps, lines, base=db)
            print(lines[-1].render(), flush=True)
        if "I3" in only:
            bench_i3(work, args.chunk, lines)
        if "Q" in only:
            asyncio.run(bench_queries(db, args.runs, lines))
        if "E" in only:
            bench_export(db, args.reps, lines)
            bench_export_mixed(db, work, lines)
        if "E" in only or "E2" in only:
            bench_export_rss(db, lines)
            bench_export_lag(db, lines)
        n = _row_count(db)
        print()
        print(
            f"fixture: {n:,} rows · {db.stat().st_size / 2**20:,.0f} MB · sqlite {sqlite3.sqlite_version} · "
            f"python {sys.version.split()[0]} · {os.cpu_count()} cpus · {time.perf_counter() - t0:.0f} s"
        )
        print(HEADER)
        for line in lines:
            print(line.render())
        failed = [line for line in lines if line.ok is False]
        return 1 if failed else 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
