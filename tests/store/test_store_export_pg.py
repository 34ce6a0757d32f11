"""Export from a PostgreSQL store: the same seeded records, copied into PostgreSQL with the
migrate's copy, export to the very same bytes as from the SQLite store — every format, a table of
filters (each kind alone and together, both orders, ids, actions and categories, people, dates,
sources, full text), exactly chosen ids, to a file through ``.part`` and in the TUI's ``export_async``; an
interrupted export leaves no file."""

from __future__ import annotations

import asyncio
import io
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pgtest import create_database, drop_database
from ui.seed import FROZEN_MS, seed_store

from console.model.filters import Filter
from console.model.location import PgLocation
from console.store import open_store, transfer
from console.store.errors import StoreError
from console.store.export import export, export_async, export_source, export_to_file
from console.store.opening import export_source as source_at
from console.store.postgres.export import PgSource

DAY = 86_400_000
FORMATS = ("csv", "json", "jsonl")


class Seeded:
    def __init__(self, db: Path, url: str, ids: dict[str, int]) -> None:
        self.db, self.url, self.ids = db, url, ids
        self.pg = source_at(PgLocation(url))
        with sqlite3.connect(db) as c:
            # The busiest moderator and the most acted-on member: filters that keep some rows.
            self.actor = c.execute("SELECT actor_id FROM audit_entries GROUP BY 1 ORDER BY count(*) DESC").fetchone()[0]
            self.target = c.execute(
                "SELECT target_id FROM audit_entries WHERE target_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC"
            ).fetchone()[0]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    db = tmp_path_factory.mktemp("pgexport") / "seed.db"
    ids = asyncio.run(seed_store(db, history=150))
    url = create_database()
    try:
        asyncio.run(_create_schema(url))
        source = transfer.open_side(str(db), write=False)
        target = transfer.open_side(url, write=True)
        try:
            transfer.copy_store(source, target)
        finally:
            target.close()
            source.close()
        yield Seeded(db, url, ids)
    finally:
        drop_database(url)


async def _create_schema(url: str) -> None:
    store = await open_store(PgLocation(url), names=False)
    await store.close()


def exported(source: Any, flt: Filter, fmt: str, **options: Any) -> tuple[bytes, list[tuple[int, int | None]]]:
    """The bytes, and every progress call (done, total)."""
    out = io.BytesIO()
    calls: list[tuple[int, int | None]] = []
    export(source, flt, fmt, out, now_ms=FROZEN_MS, progress=lambda done, total: calls.append((done, total)), **options)
    return out.getvalue(), calls


def filters(s: Seeded) -> dict[str, Filter]:
    gid = s.ids["guild"]
    oldest = Filter(newest_first=False)
    return {
        "everything": Filter(),
        "oldest first": oldest,
        "the guild": Filter(guild_ids=frozenset({gid})),
        "another guild": Filter(guild_ids=frozenset({gid + 1})),
        "audit only": Filter(kinds=frozenset({"audit"})),
        "decisions only": Filter(kinds=frozenset({"decision"})),
        "role changes only, oldest first": oldest.with_(kinds=frozenset({"role_change"})),
        "gaps only": Filter(kinds=frozenset({"gap"})),
        "decisions and gaps": Filter(kinds=frozenset({"decision", "gap"})),
        "one action": Filter(actions=frozenset({31})),
        "two actions, oldest first": oldest.with_(actions=frozenset({25, 31})),
        "a category": Filter(categories=frozenset({"role"})),
        "a category and unknown": Filter(categories=frozenset({"member", "unknown"})),
        "unknown alone": Filter(categories=frozenset({"unknown"})),
        "an action outside the category": Filter(actions=frozenset({31}), categories=frozenset({"message"})),
        "an actor": Filter(actor_ids=frozenset({s.actor})),
        "a target, oldest first": oldest.with_(target_ids=frozenset({s.target})),
        "a day": Filter(since_ms=FROZEN_MS - 2 * DAY, until_ms=FROZEN_MS - DAY),
        "since, oldest first": oldest.with_(since_ms=FROZEN_MS - DAY),
        "gateway entries": Filter(sources=frozenset({"gateway"})),
        "TUI decisions": Filter(sources=frozenset({"TUI"})),
        "denials": Filter(results=frozenset({"DENY"}), kinds=frozenset({"decision"})),
        "pending changes": Filter(states=frozenset({"pending"})),
        "guild, audit and decisions, oldest first": oldest.with_(
            guild_ids=frozenset({gid}), kinds=frozenset({"audit", "decision"})
        ),
        "a word": Filter(text="raid"),
        "two words, oldest first": oldest.with_(text="raid ban"),
        "a phrase": Filter(text='"promotion after"'),
        "a prefix": Filter(text="promo*"),
        "a word without a token": Filter(text="!!!"),
        "a word and an action": Filter(text="raid", actions=frozenset({22, 25})),
        "a decision's words, another case": Filter(text="Denied", kinds=frozenset({"decision", "role_change"})),
        "hostile text": Filter(text="click"),
    }


CASES = [
    "everything",
    "oldest first",
    "the guild",
    "another guild",
    "audit only",
    "decisions only",
    "role changes only, oldest first",
    "gaps only",
    "decisions and gaps",
    "one action",
    "two actions, oldest first",
    "a category",
    "a category and unknown",
    "unknown alone",
    "an action outside the category",
    "an actor",
    "a target, oldest first",
    "a day",
    "since, oldest first",
    "gateway entries",
    "TUI decisions",
    "denials",
    "pending changes",
    "guild, audit and decisions, oldest first",
    "a word",
    "two words, oldest first",
    "a phrase",
    "a prefix",
    "a word without a token",
    "a word and an action",
    "a decision's words, another case",
    "hostile text",
]


def test_the_cases_are_the_table(seeded: Seeded) -> None:
    assert sorted(CASES) == sorted(filters(seeded))


@pytest.mark.parametrize("case", CASES)
def test_a_filter_exports_the_same_bytes_from_both_backends(seeded: Seeded, case: str) -> None:
    flt = filters(seeded)[case]
    for fmt in FORMATS:
        sqlite_bytes, sqlite_progress = exported(seeded.db, flt, fmt)
        pg_bytes, pg_progress = exported(seeded.pg, flt, fmt)
        assert pg_bytes == sqlite_bytes, (case, fmt)
        assert pg_progress == sqlite_progress, (case, fmt)
        done, total = pg_progress[-1]
        assert done == total


def test_the_table_exports_records_of_every_kind(seeded: Seeded) -> None:
    """The comparison means something: the cases find each kind, and some find nothing."""
    table = filters(seeded)
    found = {case: exported(seeded.pg, table[case], "jsonl")[0].count(b"\n") for case in CASES}
    assert found["everything"] > 150
    assert found["another guild"] == 0
    assert found["an action outside the category"] == 0
    assert found["a word without a token"] == 0
    for kind in (
        "decisions only",
        "role changes only, oldest first",
        "gaps only",
        "one action",
        "an actor",
        "a day",
        "a word",
        "a phrase",
        "a prefix",
        "a word and an action",
        "a decision's words, another case",
        "hostile text",
    ):
        assert 0 < found[kind] < found["everything"], kind
    everything = exported(seeded.pg, Filter(), "jsonl")[0]
    for kind in (b'"kind":"audit"', b'"kind":"decision"', b'"kind":"role_change"', b'"kind":"gap"'):
        assert kind in everything


@pytest.mark.parametrize("newest_first", [True, False])
def test_chosen_ids_export_the_same_bytes(seeded: Seeded, newest_first: bool) -> None:
    ids = seeded.ids
    chosen = [ids["hostile"], ids["decision"], ids["gap"], ids["role_change_0"], ids["role_update"], 12345]
    flt = Filter(newest_first=newest_first)
    for fmt in FORMATS:
        pg_bytes = exported(seeded.pg, flt, fmt, ids=chosen)[0]
        assert pg_bytes == exported(seeded.db, flt, fmt, ids=chosen)[0]
        assert str(ids["hostile"]).encode() in pg_bytes


def test_an_export_to_a_file_goes_through_part_on_postgresql(seeded: Seeded, tmp_path: Path) -> None:
    for fmt in FORMATS:
        on_pg, on_sqlite = tmp_path / f"pg.{fmt}", tmp_path / f"sqlite.{fmt}"
        seen: list[bool] = []

        def progress(done: int, total: int | None, target: Path = on_pg, seen: list[bool] = seen) -> None:
            # While it runs, only the .part file exists.
            seen.append(target.with_name(target.name + ".part").exists() and not target.exists())

        result = export_to_file(seeded.pg, Filter(), fmt, on_pg, progress=progress)
        export_to_file(seeded.db, Filter(), fmt, on_sqlite)
        assert seen
        assert all(seen)
        assert on_pg.exists()
        assert not [p for p in tmp_path.iterdir() if p.suffix == ".part"]
        if fmt != "json":  # exported_at is the clock's
            assert on_pg.read_bytes() == on_sqlite.read_bytes()
        assert result.rows > 150


class Interrupt(BaseException):
    """What Ctrl+C is to the export: a BaseException out of its loop."""


def test_an_interrupted_or_cancelled_export_leaves_no_file(seeded: Seeded, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"

    def interrupt(done: int, total: int | None) -> None:
        if done:  # after the first batch was written
            raise Interrupt

    with pytest.raises(Interrupt):
        export_to_file(seeded.pg, Filter(), "csv", target, progress=interrupt)
    assert list(tmp_path.iterdir()) == []

    stop = threading.Event()

    def cancel(done: int, total: int | None) -> None:
        stop.set()

    result = export_to_file(seeded.pg, Filter(), "jsonl", target, progress=cancel, cancel=stop)
    assert result.cancelled
    assert list(tmp_path.iterdir()) == []


def test_the_tui_path_exports_an_open_postgresql_store(seeded: Seeded) -> None:
    """The export dialog's source comes from the open store (export_source); export_async runs
    it in a thread."""

    async def run() -> bytes:
        store = await open_store(PgLocation(seeded.url), readonly=True, names=False)
        try:
            source = export_source(store)
        finally:
            await store.close()
        assert isinstance(source, PgSource)
        assert "password" not in repr(source)
        out = io.BytesIO()
        result = await export_async(source, Filter(newest_first=False), "json", out, now_ms=FROZEN_MS)
        assert not result.cancelled
        return out.getvalue()

    assert asyncio.run(run()) == exported(seeded.db, Filter(newest_first=False), "json")[0]


def test_a_database_without_a_store_is_one_line(tmp_path: Path) -> None:
    url = create_database()
    try:
        with pytest.raises(StoreError, match="holds no Audit Console store"):
            export(PgSource(url, "the test's database"), Filter(), "csv", io.BytesIO())
    finally:
        drop_database(url)
