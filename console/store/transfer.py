"""Copying a whole store from one backend to another (``audit-console migrate``): SQLite to
PostgreSQL and back, row for row, so the copy's hash chain, exports and ids are the source's.

Table by table in primary-key order, in batches that each commit with the copy's progress (in the
target's ``meta``), so an interrupted copy resumes where it stopped; the target must be empty or
this same source's earlier partial copy. Both stores' collector locks are held throughout (no
collector may write either meanwhile), and the source is read in one snapshot per run.

Not copied: the PostgreSQL store's own marker and version (``meta``: the target keeps its own);
SQLite's FTS rows are read and written through the table's rowid, PostgreSQL's ``doc`` column
is written from them (``postgres/fulltext.py``), never copied; the full text of notes is made
from the notes by the target, whichever it is."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import orjson

from console.model.location import is_postgres
from console.store.chain import STARTED_KEY
from console.store.connection import check_ours, describe, readonly_uri
from console.store.errors import StoreError
from console.store.postgres import fulltext
from console.store.postgres.blocking import BlockingConnection
from console.store.postgres.leadership import COLLECTOR_LOCK
from console.store.postgres.notes import note_document
from console.store.postgres.store import display_url
from console.store.sqlite.core import Lock

#: Tables in copy order with their primary keys. meta goes last: its progress row is the copy's.
TABLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("audit_entries", ("id",)),
    ("audit_revisions", ("entry_id", "revision")),
    ("audit_fts", ("entry_id",)),
    ("parse_failures", ("id",)),
    ("sync_state", ("guild_id",)),
    ("gaps", ("id",)),
    ("names", ("kind", "id")),
    ("name_history", ("kind", "id", "name")),
    ("guild_state", ("guild_id",)),
    ("decisions", ("id",)),
    ("role_changes", ("id",)),
    ("role_change_attempts", ("id",)),
    ("break_glass", ("id",)),
    ("chain", ("guild_id", "seq")),
    ("chain_heads", ("guild_id",)),
    ("alerts", ("id",)),
    ("notes", ("id",)),
)

#: The target's meta key holding an unfinished copy's progress.
PROGRESS_KEY = "copy_in_progress"
#: meta keys that belong to one backend's store and are never copied.
OWN_KEYS = frozenset({"application", "schema_version", PROGRESS_KEY})
#: Rows per committed batch.
BATCH = 5000


class Side(Protocol):
    """One end of a copy: a store's database opened for the copy."""

    where: str

    def execute(self, sql: str, parameters: Any = (), /) -> Any: ...
    def columns(self, table: str) -> list[str]: ...
    def select(self, table: str, columns: Sequence[str], key: Sequence[str], after: Sequence[Any] | None) -> str: ...
    def insert(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None: ...
    def run(self, sql: str, params: Sequence[Any] = ()) -> None: ...
    def begin(self) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def close(self) -> None: ...
    def finish(self) -> None: ...


def _keyset(key: Sequence[str], after: Sequence[Any] | None) -> str:
    if after is None:
        return ""
    if len(key) == 1:
        return f" WHERE {key[0]} > ?"
    return f" WHERE ({', '.join(key)}) > ({', '.join('?' * len(key))})"


class SqliteSide:
    """A SQLite store's file, read in one snapshot or written in the copy's transactions."""

    def __init__(self, path: Path, *, write: bool) -> None:
        self.where = str(path)
        self._lock = Lock(path.resolve())
        try:
            self._lock.acquire()
        except StoreError:
            raise StoreError(f"{path} is in use by a collecting Audit Console: stop it before copying") from None
        try:
            if write:
                self._db = sqlite3.connect(str(path), isolation_level=None, timeout=5.0)
                self._db.execute("PRAGMA synchronous = FULL")
            else:
                self._db = sqlite3.connect(readonly_uri(path), uri=True, isolation_level=None, timeout=5.0)
                self._db.execute("BEGIN")  # one snapshot for the whole read
        except sqlite3.Error as e:
            self._lock.release()
            raise StoreError(describe(e, path)) from None

    def execute(self, sql: str, parameters: Any = (), /) -> Any:
        return self._db.execute(sql, parameters)

    def columns(self, table: str) -> list[str]:
        if table == "audit_fts":
            return ["entry_id", "reason", "names", "changes"]
        return [r[1] for r in self._db.execute(f"PRAGMA table_info({table})")]

    def select(self, table: str, columns: Sequence[str], key: Sequence[str], after: Sequence[Any] | None) -> str:
        if table == "audit_fts":  # an FTS5 table: its key is the rowid
            cols = ", ".join("rowid" if c == "entry_id" else c for c in columns)
            return f"SELECT {cols} FROM audit_fts{_keyset(['rowid'], after)} ORDER BY rowid LIMIT {BATCH}"
        return f"SELECT {', '.join(columns)} FROM {table}{_keyset(key, after)} ORDER BY {', '.join(key)} LIMIT {BATCH}"

    def insert(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        cols = ["rowid" if table == "audit_fts" and c == "entry_id" else c for c in columns]
        self._db.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", rows)
        if table == "notes":  # their full text is the store's own, made from the notes
            at = [columns.index(c) for c in ("id", "action", "text")]
            self._db.executemany(
                "INSERT INTO notes_fts (rowid, text) VALUES (?, ?)",
                [(r[at[0]], r[at[2]]) for r in rows if r[at[1]] != "remove"],
            )

    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._db.execute(sql, params)

    def begin(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self._db.execute("COMMIT")

    def rollback(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("ROLLBACK")

    def finish(self) -> None:
        """Nothing to do: SQLite's AUTOINCREMENT follows the largest id inserted."""

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.close()
        self._lock.release()


class PostgresSide:
    """A PostgreSQL store, read in one snapshot or written in the copy's transactions."""

    def __init__(self, url: str, *, write: bool, **options: Any) -> None:
        self.where = display_url(url)
        self._db = BlockingConnection.open(url, self.where, readonly=not write, **options)
        try:
            got = self._db.execute("SELECT pg_try_advisory_lock(hashtext(?))", (COLLECTOR_LOCK,)).fetchone()
            if not got or not got[0]:
                raise StoreError(f"{self.where} is in use by a collecting Audit Console: stop it before copying")
        except BaseException:
            self._db.close()
            raise

    def execute(self, sql: str, parameters: Any = (), /) -> Any:
        return self._db.execute(sql, parameters)

    def columns(self, table: str) -> list[str]:
        found = self._db.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
            " AND table_name = ? AND is_generated = 'NEVER' ORDER BY ordinal_position",
            (table,),
        )
        return [r[0] for r in found if (table, r[0]) != ("audit_fts", "doc")]  # the store's own: see insert

    def select(self, table: str, columns: Sequence[str], key: Sequence[str], after: Sequence[Any] | None) -> str:
        return f"SELECT {', '.join(columns)} FROM {table}{_keyset(key, after)} ORDER BY {', '.join(key)} LIMIT {BATCH}"

    def insert(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        if table == "audit_fts":
            # The searched tsvector is written from FTS5's tokens (postgres/fulltext.py), and
            # binary COPY has no tsvector: one pipelined INSERT per row instead.
            at = [columns.index(c) for c in ("reason", "names", "changes")]
            marks = ", ".join("?" * len(columns))
            self._db.run_many(
                f"INSERT INTO audit_fts ({', '.join(columns)}, doc) VALUES ({marks}, ?::tsvector)",
                [(*r, fulltext.document(*(r[i] or "" for i in at))) for r in rows],
            )
            return
        if table == "notes":  # ``doc`` as the store writes it (postgres/notes.py)
            at = [columns.index(c) for c in ("action", "text")]
            marks = ", ".join("?" * len(columns))
            self._db.run_many(
                f"INSERT INTO notes ({', '.join(columns)}, doc) VALUES ({marks}, ?::tsvector)",
                [(*r, note_document(r[at[0]], r[at[1]])) for r in rows],
            )
            return
        self._db.copy_rows(table, columns, rows)

    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._db.run(sql, params)

    def begin(self) -> None:
        self._db.begin()

    def commit(self) -> None:
        self._db.commit()

    def rollback(self) -> None:
        with contextlib.suppress(StoreError):
            self._db.rollback()

    def finish(self) -> None:
        """Serial ids go on after the largest copied one."""
        for table in ("parse_failures", "role_change_attempts"):
            self._db.run(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table} HAVING count(*) > 0"
            )

    def close(self) -> None:
        self._db.close()


@dataclass(slots=True)
class CopyResult:
    #: table → rows copied by this run.
    copied: dict[str, int] = field(default_factory=dict)
    resumed: bool = False


def open_side(location: str | Path, *, write: bool, **options: Any) -> Side:
    if is_postgres(str(location)):
        return PostgresSide(str(location), write=write, **options)
    path = Path(location).expanduser()
    if not write:
        check_ours(path)
    return SqliteSide(path, write=write)


def copy_store(
    source: Side, target: Side, *, progress: Callable[[str, int], None] = lambda table, rows: None
) -> CopyResult:
    """Copy every record of ``source`` into ``target`` (whose schema exists). Raises StoreError
    (one line) when the target holds another store's records or either end fails."""
    origin = _origin(source)
    state = _progress(target)
    result = CopyResult()
    if state is None:
        if not _empty(target):
            raise StoreError(f"{target.where} already holds records; copy into an empty store")
        state = {"source": origin, "table": TABLES[0][0], "after": None}
        target.begin()
        target.run("INSERT INTO meta (key, value) VALUES (?, ?)", (PROGRESS_KEY, orjson.dumps(state).decode()))
        target.commit()
    elif state.get("source") != origin:
        raise StoreError(
            f"{target.where} holds an unfinished copy of another store ({state.get('source', {}).get('where', '?')})"
        )
    else:
        result.resumed = True
    names = [t for t, _ in TABLES]
    start = names.index(state["table"]) if state.get("table") in names else len(names)
    for table, key in TABLES[start:]:
        after = state["after"] if table == state["table"] else None
        result.copied[table] = _copy_table(source, target, table, key, after, progress)
    _copy_meta(source, target)
    target.finish()
    return result


def _copy_table(
    source: Side,
    target: Side,
    table: str,
    key: tuple[str, ...],
    after: list[Any] | None,
    progress: Callable[[str, int], None],
) -> int:
    columns = [c for c in target.columns(table) if c in set(source.columns(table))]
    if not columns:
        return 0  # a source from before the table existed (name_history: SQLite version 9, notes: 10)
    positions = [columns.index(k) for k in key]
    done = 0
    while True:
        rows = [tuple(r) for r in source.execute(source.select(table, columns, key, after), tuple(after or ()))]
        if not rows:
            return done
        after = [rows[-1][i] for i in positions]
        state = {"source": _origin(source), "table": table, "after": after}
        target.begin()
        try:
            target.insert(table, columns, rows)
            target.run("UPDATE meta SET value = ? WHERE key = ?", (orjson.dumps(state).decode(), PROGRESS_KEY))
            target.commit()
        except BaseException:
            target.rollback()
            raise
        done += len(rows)
        progress(table, done)


def _copy_meta(source: Side, target: Side) -> None:
    rows = [(k, v) for k, v in source.execute("SELECT key, value FROM meta ORDER BY key") if k not in OWN_KEYS]
    target.begin()
    try:
        for k, v in rows:
            target.run(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (k, v),
            )
        target.run("DELETE FROM meta WHERE key = ?", (PROGRESS_KEY,))
        target.commit()
    except BaseException:
        target.rollback()
        raise


def _origin(source: Side) -> dict[str, Any]:
    """What tells this source from another store: where it is and when its chain began."""
    started = source.execute("SELECT value FROM meta WHERE key = ?", (STARTED_KEY,)).fetchone()
    return {"where": source.where, "started": started[0] if started else None}


def _progress(target: Side) -> dict[str, Any] | None:
    row = target.execute("SELECT value FROM meta WHERE key = ?", (PROGRESS_KEY,)).fetchone()
    return None if row is None else dict(orjson.loads(row[0]))


def _empty(target: Side) -> bool:
    return not any(target.execute(f"SELECT 1 FROM {t} LIMIT 1").fetchone() for t, _ in TABLES)


def counts(side: Side, tables: Iterable[str] | None = None) -> dict[str, int]:
    """Rows in each table (all of the copy's by default)."""
    wanted = [t for t, _ in TABLES] if tables is None else list(tables)
    return {t: int(side.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in wanted}
