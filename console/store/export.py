"""Streaming export of the feed's records to CSV, JSON or JSON Lines (format: model/export_format.py).

:func:`export` is synchronous and meant for a worker thread (:func:`export_async` runs it in
``asyncio.to_thread``): it opens its own read-only connection — a stdlib ``sqlite3`` one to a
SQLite file, or a blocking face on one PostgreSQL connection (``postgres/export.py``: the same
code, the same bytes; only the SQL of :class:`ExportSql` differs) — so the UI's connections and
the event loop are never blocked. On SQLite it pages the store with the feed's
keyset SQL (:func:`queries.entry_page`) and ``fetchmany``, writing as it goes, so memory stays
flat whatever the row count; each page is its own short read transaction, so a long export never
pins the WAL. It checks ``cancel`` and reports ``progress`` once per batch, from the worker
thread: a Textual caller should forward progress with ``post_message`` (thread-safe).
"""

from __future__ import annotations

import asyncio
import bisect
import heapq
import io
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final, Protocol

import orjson

from console.model import export_format as fmt_
from console.model.actions import documented_name
from console.model.filters import Exclusions, Filter
from console.model.times import file_stamp, iso_utc
from console.store import export_workers
from console.store.connection import describe
from console.store.errors import StoreError
from console.store.export_rows import COLUMNS, csv_text, encoder, open_readonly, separator
from console.store.export_sql import SQLITE_SQL, ExportSql

if TYPE_CHECKING:
    from console.store.api import AuditStore

log = logging.getLogger("console.store")

FORMATS: Final[tuple[str, ...]] = ("csv", "json", "jsonl")
Progress = Callable[[int, "int | None"], None]

#: Rows per fetchmany/write (a keyset page's size is the backend's: ExportSql.page).
BATCH: Final = 1000
#: Rows formatted between two voluntary GIL releases: a stretch well short of the switch interval,
#: so the UI loop's thread never waits long for the lock.
_SLICE: Final = 50


class ExportSource(Protocol):
    """A store to export from other than a SQLite file (which is given by its path)."""

    @property
    def where(self) -> str:
        """Its address as shown to people."""

    @property
    def sql(self) -> ExportSql:
        """The SQL it is read with."""

    def open(self) -> Any:
        """A read-only connection answering the part of ``sqlite3.Connection`` the export uses."""


#: What an export reads: a SQLite file's path, or another backend's source.
Source = str | Path | ExportSource


def export_source(store: AuditStore) -> Path | ExportSource:
    """Where to export the records of an open store from (the TUI's export dialog)."""
    from console.store.sqlite.store import Store

    if isinstance(store, Store):
        return store.path
    from console.store.postgres.export import source_of  # asyncpg only for a PostgreSQL store

    return source_of(store)


def open_reader(source: Source) -> tuple[Any, ExportSql, Path | None]:
    """A read-only connection to ``source``, its SQL, and its path if it is a SQLite file (whose
    big exports worker processes render). Raises StoreError with one line."""
    if isinstance(source, str | Path):
        path = Path(source).expanduser()
        return open_readonly(path), SQLITE_SQL, path
    return source.open(), source.sql, None


@dataclass(frozen=True, slots=True)
class ExportResult:
    rows: int
    cancelled: bool = False


def _choices(flt: Filter | Exclusions) -> dict[str, Any]:
    return {
        "guild_ids": sorted(str(i) for i in flt.guild_ids),
        "kinds": sorted(flt.kinds),
        "actions": [{"action_type": a, "action": documented_name(a)} for a in sorted(flt.actions)],
        "categories": sorted(flt.categories),
        "actor_ids": sorted(str(i) for i in flt.actor_ids),
        "target_ids": sorted(str(i) for i in flt.target_ids),
    }


def filter_description(flt: Filter) -> dict[str, Any]:
    """The filter as the JSON header records it (ids as strings, times as ISO-8601 UTC); what it
    excludes under ``exclude``, present only when it excludes something."""
    found = {
        **_choices(flt),
        "since": None if flt.since_ms is None else iso_utc(flt.since_ms),
        "until": None if flt.until_ms is None else iso_utc(flt.until_ms),
        "text": flt.text,
        "note_words": sorted(flt.note_words),
        "newest_first": flt.newest_first,
    }
    if not flt.exclude.is_empty:
        found["exclude"] = {
            **_choices(flt.exclude),
            "text": flt.exclude.text,
            "note_words": sorted(flt.exclude.note_words),
        }
    return found


def load_names(db: Any) -> dict[tuple[str, int], str]:
    """The whole ``names`` table (small: one row per user, role and channel seen)."""
    return {(k, i): n for k, i, n in db.execute("SELECT kind, id, name FROM names")}


def load_notes(db: Any) -> dict[int, list[dict[str, Any]]]:
    """Record id → the notes it shows (``console.model.notes.current``), as export records: all
    of them at once (notes are written by people, so few). None on a store older than notes."""

    tables = (
        db.tables()
        if hasattr(db, "tables")
        else {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'notes'")}
    )
    if "notes" not in tables:
        return {}
    rows: dict[int, list[tuple[Any, ...]]] = {}
    for row in db.execute(f"SELECT {fmt_.NOTE_COLUMNS} FROM notes ORDER BY id"):
        rows.setdefault(int(row[3]), []).append(tuple(row))
    shown: dict[int, list[dict[str, Any]]] = {}
    for record_id, found in rows.items():
        kept = {r[0] for r in _current_rows(found)}
        if kept:
            shown[record_id] = [fmt_.note_record(r) for r in found if r[0] in kept]
    return shown


def _current_rows(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The rows of the notes a record shows (the same rule as ``console.model.notes.current``)."""
    replaced = {r[9] for r in rows if r[9] is not None}
    return [r for r in rows if r[0] not in replaced and r[8] != "remove"]


def _rows(db: Any, q: ExportSql, flt: Filter, ids: Sequence[int] | None) -> Iterator[list[tuple[Any, ...]]]:
    """Batches of rows matching ``flt`` (or exactly ``ids``), in the filter's order."""
    if ids is not None:
        wanted = sorted(set(ids), reverse=flt.newest_first)
        order = "DESC" if flt.newest_first else "ASC"
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            marks = ",".join("?" * len(chunk))
            rows = db.execute(
                f"SELECT {COLUMNS} FROM audit_entries WHERE id IN ({marks}) ORDER BY id {order}", chunk
            ).fetchall()
            if rows:
                yield rows
        return
    # Oldest-first exports stop at what was stored when they began (no chasing live ingest).
    ceiling = _ceiling(db)
    before = after = None
    while True:
        sql, args = q.entry_page(flt, before=before, after=after, limit=q.page, columns=COLUMNS)
        cur = db.execute(sql, args)
        got = 0
        last = None
        while batch := cur.fetchmany(BATCH):
            got += len(batch)
            last = batch[-1][0]
            if not flt.newest_first and ceiling is not None and last > ceiling:
                batch = [r for r in batch if r[0] <= ceiling]
                if batch:
                    yield batch
                cur.close()
                return
            yield batch
        if got < q.page or last is None:
            return
        if flt.newest_first:
            before = last
        else:
            after = last


def _ceiling(db: Any) -> int | None:
    """The newest entry id stored now: where an export that started now ends."""
    (ceiling,) = db.execute("SELECT max(id) FROM audit_entries").fetchone()
    return ceiling


#: The other kinds of record the feed shows, their tables and stored columns.
_OTHER_KINDS: Final = (
    ("decision", "decisions", fmt_.DECISION_COLUMNS),
    ("role_change", "role_changes", fmt_.ROLE_CHANGE_COLUMNS),
    ("gap", "gaps", fmt_.GAP_COLUMNS),
)


def _other_kinds(db: Any, q: ExportSql, flt: Filter, ids: Sequence[int] | None) -> list[tuple[str, str, str]]:
    """Decisions, role changes and gaps to export: those the filter includes, as in the feed
    (``Filter.includes_kind``), and only when one matches — an export of audit entries alone
    keeps the unmerged hot path. With ``ids``, every kind (the ids say which records)."""
    if ids is not None:
        return list(_OTHER_KINDS)
    found = []
    for kind, table, columns in _OTHER_KINDS:
        sql = _other_sql(q, flt, kind, table, "1")
        if sql is not None and db.execute(f"SELECT 1 FROM ({sql[0]}) AS o LIMIT 1", sql[1]).fetchone():
            found.append((kind, table, columns))
    return found


def _other_sql(q: ExportSql, flt: Filter, kind: str, table: str, columns: str) -> tuple[str, list[Any]] | None:
    """The records of one other kind matching ``flt``, in the filter's order (the feed's SQL)."""
    branch = q.record_ids(kind, flt)
    if branch is None:
        return None
    sql, args = branch
    order = "DESC" if flt.newest_first else "ASC"
    return f"SELECT {columns} FROM {table} WHERE id IN (SELECT id FROM ({sql}) AS b) ORDER BY id {order}", args


def _other_rows(
    db: Any, q: ExportSql, flt: Filter, kind: str, table: str, columns: str, ids: Sequence[int] | None
) -> Iterator[tuple[int, str, tuple[Any, ...]]]:
    if ids is not None:
        wanted = sorted(set(ids), reverse=flt.newest_first)
        order = "DESC" if flt.newest_first else "ASC"
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for row in db.execute(
                f"SELECT {columns} FROM {table} WHERE id IN ({marks}) ORDER BY id {order}", chunk
            ).fetchall():
                yield row[0], kind, row
        return
    found = _other_sql(q, flt, kind, table, columns)
    if found is None:
        return
    cur = db.execute(*found)
    while batch := cur.fetchmany(BATCH):
        for row in batch:
            yield row[0], kind, row


def _count(db: Any, q: ExportSql, flt: Filter, ids: Sequence[int] | None, others: list[tuple[str, str, str]]) -> int:
    if ids is not None:
        return len(set(ids))
    sql, args = q.entry_count(flt)
    total = int(db.execute(sql, args).fetchone()[0])
    for kind, table, _ in others:
        found = _other_sql(q, flt, kind, table, "1")
        if found is not None:
            total += int(db.execute(f"SELECT count(*) FROM ({found[0]}) AS o", found[1]).fetchone()[0])
    return total


def export(
    source: Source,
    flt: Filter,
    fmt: str,
    out: IO[bytes] | IO[str],
    *,
    names: Mapping[tuple[str, int], str] | None = None,
    ids: Sequence[int] | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    now_ms: int | None = None,
) -> ExportResult:
    """Write every record matching ``flt`` (or exactly ``ids``) to ``out`` in ``fmt``.

    Records of every kind the filter includes (``Filter.includes_kind``, as in the feed): audit
    entries, decisions, role changes and gaps, interleaved by id.

    ``out`` may be binary or text (opened with ``newline=""`` for CSV). ``names`` maps
    ``(kind, id)`` to display names; by default the store's ``names`` table is used. When ``ids``
    is given (bookmarks, the row under the cursor) only those records (of any kind) are exported, in the
    filter's order, and the other filter fields are ignored. ``progress(done, total)`` is called
    after every batch; ``cancel`` is checked as often. A cancelled JSON export is still a valid
    document, with ``"complete": false``. Raises ValueError for an unknown format and StoreError
    when the database cannot be read.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}: use csv, json or jsonl")
    db, q, path = open_reader(source)
    try:
        return _export(
            db, q, path, flt, fmt, out, names=names, ids=ids, progress=progress, cancel=cancel, now_ms=now_ms
        )
    except sqlite3.Error as e:
        raise StoreError(describe(e, path or Path())) from None
    finally:
        db.close()


def _export(
    db: Any,
    q: ExportSql,
    path: Path | None,
    flt: Filter,
    fmt: str,
    out: IO[bytes] | IO[str],
    *,
    names: Mapping[tuple[str, int], str] | None,
    ids: Sequence[int] | None,
    progress: Progress | None,
    cancel: threading.Event | None,
    now_ms: int | None,
) -> ExportResult:
    name_map = load_names(db) if names is None else names
    notes = load_notes(db)
    others = _other_kinds(db, q, flt, ids)
    total: int | None = None
    if progress is not None:
        total = _count(db, q, flt, ids, others)
        progress(0, total)

    text_out = isinstance(out, io.TextIOBase)
    write_bytes: Callable[[bytes], Any]
    if text_out:

        def write_bytes(data: bytes) -> Any:
            return out.write(data.decode("utf-8"))  # type: ignore[call-overload]
    else:
        write_bytes = out.write  # type: ignore[assignment]
    if fmt == "csv":
        write_bytes(csv_text([fmt_.CSV_COLUMNS]))
    elif fmt == "json":
        head = {
            "format": fmt_.EXPORT_FORMAT_NAME,
            "format_version": fmt_.EXPORT_FORMAT_VERSION,
            "exported_at": iso_utc(now_ms if now_ms is not None else int(time.time() * 1000)),
            "filter": filter_description(flt),
        }
        if ids is not None:
            head["ids"] = sorted({str(i) for i in ids})
        # The header object without its closing brace, then the records array.
        write_bytes(fmt_.dumps(head)[:-1] + b',"records":[\n')
    first = True
    sep = separator(fmt)

    def write_chunk(data: bytes) -> None:
        nonlocal first
        if data:
            write_bytes(sep + data if sep and not first else data)  # no copy for CSV/JSONL
            first = False

    encode = encoder(fmt, fmt_.any_csv_row if others else fmt_.csv_row)
    done = 0
    cancelled = False
    if ids is None and q.workers and path is not None and export_workers.worth_it(db, flt, total):
        # A big export: audit entries rendered by worker processes, several ranges at once,
        # with any decisions, role changes and gaps (far fewer) rendered here and merged in.
        # This thread reads ids (whole table pages: the id is the rowid) once, in order: its
        # page cache would hold nothing it reads again.
        db.execute(f"PRAGMA cache_size = {export_workers.CACHE}")
        chunks = export_workers.render(path, flt, fmt, name_map, notes, _ceiling(db), db, cancel, split=bool(others))
        if others:
            chunks = _interleaved(
                chunks, _other_records(db, q, flt, others, name_map, notes), encode, flt.newest_first, sep
            )
        try:
            for rows, data in chunks:
                write_chunk(data)
                done += rows
                if progress is not None:
                    progress(done, total)
        except export_workers.Unavailable as e:
            log.warning("export: no helper processes (%s); exporting in this process", e)  # nothing written yet
        else:
            if cancel is not None and cancel.is_set():
                cancelled = True
            return _finish(fmt, write_bytes, done, cancelled)
    record = fmt_.AuditRecords(name_map, notes).record
    loads = orjson.loads
    batches: Iterator[list[Any]] = _rows(db, q, flt, ids)
    if others:
        batches = _merged(db, q, flt, ids, others, record, name_map, notes, loads)
        record = None  # type: ignore[assignment]
    for batch in batches:
        if cancel is not None and cancel.is_set():
            cancelled = True
            break
        if record is None:
            # Already records (the merged timeline builds them as it goes).
            for start in range(0, len(batch), _SLICE):
                write_chunk(encode(batch[start : start + _SLICE]))
                time.sleep(0)
            done += len(batch)
            if progress is not None:
                progress(done, total)
            continue
        for start in range(0, len(batch), _SLICE):
            records = [
                record(loads(raw), gid, recv, src, rev)
                for _id, gid, recv, src, rev, raw in batch[start : start + _SLICE]
            ]
            write_chunk(encode(records))
            done += len(records)
            # Hand the GIL over: otherwise the UI loop's thread waits up to a whole switch
            # interval at every wake-up while this thread formats rows, and the loop lags
            # (docs/performance.md, E2).
            time.sleep(0)
        if progress is not None:
            progress(done, total)
    if cancel is not None and cancel.is_set():
        cancelled = True
    return _finish(fmt, write_bytes, done, cancelled)


def _finish(fmt: str, write_bytes: Callable[[bytes], Any], done: int, cancelled: bool) -> ExportResult:
    if fmt == "json":
        tail = {"count": done, "complete": not cancelled}
        write_bytes(b"\n]," + fmt_.dumps(tail)[1:] + b"\n")
    return ExportResult(rows=done, cancelled=cancelled)


def _other_records(
    db: Any,
    q: ExportSql,
    flt: Filter,
    others: list[tuple[str, str, str]],
    names: Mapping[tuple[str, int], str],
    notes: Mapping[int, list[dict[str, Any]]],
    ids: Sequence[int] | None = None,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(id, record)`` of every decision, role change and gap matching ``flt`` (or among
    ``ids``), in its order, with its ``notes``; kinds in ``others``' order on a tie."""

    def lookup(kind: str, ident: int) -> str | None:
        return names.get((kind, ident))

    build = {
        "decision": fmt_.decision_record,
        "gap": fmt_.gap_record,
        "role_change": lambda row: fmt_.role_change_record(row, lookup),
    }
    streams = [_other_rows(db, q, flt, k, t, c, ids) for k, t, c in others]
    for ident, kind, row in heapq.merge(*streams, key=lambda item: item[0], reverse=flt.newest_first):
        record = build[kind](row)
        record["notes"] = notes.get(ident, [])
        yield ident, record


def _interleaved(
    chunks: Iterator[tuple[int, tuple[list[int], list[int], bytes]]],
    others: Iterator[tuple[int, dict[str, Any]]],
    encode: Callable[[list[dict[str, Any]]], bytes],
    newest_first: bool,
    sep: bytes,
) -> Iterator[tuple[int, bytes]]:
    """The workers' audit records with the other kinds merged in by id, as :func:`_merged`
    orders them (an audit entry first on a tie); ``(rows, bytes)`` per range. A range with no
    other record inside it is passed on whole."""
    pending = next(others, None)
    # Audit records that come before another record with this id: ids >= it (newest first) or
    # <= it (oldest first); bisect on the range's ids, negated when they descend.
    key = (lambda x: -x) if newest_first else None
    for rows, (ids, ends, data) in chunks:
        parts: list[bytes] = []
        start = 0  # index of the first audit record not yet placed
        while pending is not None and ids:
            ident = pending[0]
            if newest_first and ident < ids[-1] or not newest_first and ident > ids[-1]:
                break  # after every record of this range
            k = bisect.bisect_right(ids, -ident if newest_first else ident, key=key)
            if k > start:
                parts.append(data[_record_start(ends, start, sep) : ends[k - 1]])
                start = k
            parts.append(encode([pending[1]]))
            rows += 1
            pending = next(others, None)
        if start < len(ids):
            parts.append(data[_record_start(ends, start, sep) :] if start else data)
        yield rows, sep.join(parts)
    tail: list[bytes] = []
    while pending is not None:
        tail.append(encode([pending[1]]))
        pending = next(others, None)
    if tail:
        yield len(tail), sep.join(tail)


def _record_start(ends: list[int], i: int, sep: bytes) -> int:
    """Where record ``i`` starts in a range's buffer (records end at ``ends``, ``sep`` between)."""
    return ends[i - 1] + len(sep) if i else 0


def _merged(
    db: Any,
    q: ExportSql,
    flt: Filter,
    ids: Sequence[int] | None,
    others: list[tuple[str, str, str]],
    audit: Callable[..., dict[str, Any]],
    names: Mapping[tuple[str, int], str],
    notes: Mapping[int, list[dict[str, Any]]],
    loads: Callable[[Any], Any],
) -> Iterator[list[dict[str, Any]]]:
    """Batches of records of every included kind, interleaved by id like the feed (an audit
    entry first on a tie)."""

    def audit_records() -> Iterator[tuple[int, dict[str, Any]]]:
        for batch in _rows(db, q, flt, ids):
            for ident, gid, recv, src, rev, raw in batch:
                yield ident, audit(loads(raw), gid, recv, src, rev)

    merged = heapq.merge(
        audit_records(),
        _other_records(db, q, flt, others, names, notes, ids),
        key=lambda item: item[0],
        reverse=flt.newest_first,
    )
    out: list[dict[str, Any]] = []
    for _id, rec in merged:
        out.append(rec)
        if len(out) >= BATCH:
            yield out
            out = []
    if out:
        yield out


def default_name(fmt: str, now_ms: int) -> str:
    """``export-20261122-053000.csv``: a timestamped name that sorts by time (UTC)."""
    stamp = file_stamp(now_ms)
    return f"export-{stamp}.{fmt}"


def export_to_file(
    source: Source,
    flt: Filter,
    fmt: str,
    path: str | Path,
    *,
    ids: Sequence[int] | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> ExportResult:
    """:func:`export` into ``path`` through ``path.part``, renamed into place only when complete.

    A cancelled or failed export removes the partial file, so nothing half-written is ever left
    under either name. Raises OSError when the file cannot be written, StoreError, ValueError.
    """
    target = Path(path).expanduser()
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}: use csv, json or jsonl")
    tmp = target.with_name(target.name + ".part")
    try:
        with tmp.open("wb") as f:
            result = export(source, flt, fmt, f, ids=ids, progress=progress, cancel=cancel)
        if result.cancelled:
            tmp.unlink(missing_ok=True)
        else:
            tmp.replace(target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return result


async def export_async(
    source: Source,
    flt: Filter,
    fmt: str,
    out: IO[bytes] | IO[str],
    *,
    names: Mapping[tuple[str, int], str] | None = None,
    ids: Sequence[int] | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    now_ms: int | None = None,
) -> ExportResult:
    """:func:`export` in a worker thread. Cancelling the awaiting task also stops the thread."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}: use csv, json or jsonl")
    stop = cancel if cancel is not None else threading.Event()
    try:
        return await asyncio.to_thread(
            export,
            source,
            flt,
            fmt,
            out,
            names=names,
            ids=ids,
            progress=progress,
            cancel=stop,
            now_ms=now_ms,
        )
    except asyncio.CancelledError:
        stop.set()
        raise
