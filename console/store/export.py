"""Streaming export of audit entries to CSV, JSON or JSON Lines (format: model/export_format.py).

:func:`export` is synchronous and meant for a worker thread (:func:`export_async` runs it in
``asyncio.to_thread``): it opens its own read-only stdlib ``sqlite3`` connection, so the UI's
aiosqlite connections and the event loop are never blocked. It pages the store with the feed's
keyset SQL (:func:`queries.entry_page`) and ``fetchmany``, writing as it goes, so memory stays
flat whatever the row count; each page is its own short read transaction, so a long export never
pins the WAL. It checks ``cancel`` and reports ``progress`` once per batch, from the worker
thread: a Textual caller should forward progress with ``post_message`` (thread-safe).
"""

from __future__ import annotations

import asyncio
import csv
import io
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final, Literal

import orjson

from console.model import export_format as fmt_
from console.model.actions import documented_name
from console.model.filters import Filter
from console.model.snowflake import iso_utc
from console.store import queries
from console.store.connection import check_file, describe
from console.store.errors import StoreError
from console.store.schema import APPLICATION_ID

ExportFormat = Literal["csv", "json", "jsonl"]
FORMATS: Final[tuple[str, ...]] = ("csv", "json", "jsonl")
Progress = Callable[[int, "int | None"], None]

_COLUMNS: Final = "id, guild_id, received_at, source, revision, raw"
#: Rows per keyset page (one short read transaction each) and per fetchmany/write.
PAGE: Final = 5000
BATCH: Final = 1000
#: Rows formatted between two voluntary GIL releases (~2 ms of work).
_SLICE: Final = 50


@dataclass(frozen=True, slots=True)
class ExportResult:
    rows: int
    cancelled: bool = False


def filter_description(flt: Filter) -> dict[str, Any]:
    """The filter as the JSON header records it (ids as strings, times as ISO-8601 UTC)."""
    return {
        "guild_ids": sorted(str(i) for i in flt.guild_ids),
        "kinds": sorted(flt.kinds),
        "actions": [
            {"action_type": a, "action": documented_name(a)} for a in sorted(flt.actions)
        ],
        "categories": sorted(flt.categories),
        "actor_ids": sorted(str(i) for i in flt.actor_ids),
        "target_ids": sorted(str(i) for i in flt.target_ids),
        "since": None if flt.since_ms is None else iso_utc(flt.since_ms),
        "until": None if flt.until_ms is None else iso_utc(flt.until_ms),
        "text": flt.text,
        "newest_first": flt.newest_first,
    }


def open_readonly(db_path: str | Path) -> sqlite3.Connection:
    """A read-only stdlib connection to one of our databases. Raises StoreError (one line)."""
    path = Path(db_path).expanduser()
    check_file(path, must_exist=True)
    try:
        db = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, timeout=5.0,
                             check_same_thread=False)
    except sqlite3.Error as e:
        raise StoreError(describe(e, path)) from None
    try:
        (app_id,) = db.execute("PRAGMA application_id").fetchone()
        if app_id != APPLICATION_ID:
            raise StoreError(f"{path} is not an Audit Console database; refusing to export it")
        db.execute("PRAGMA query_only = ON")
        db.execute("PRAGMA cache_size = -32000")
    except sqlite3.Error as e:
        db.close()
        raise StoreError(describe(e, path)) from None
    except StoreError:
        db.close()
        raise
    return db


def load_names(db: sqlite3.Connection) -> dict[tuple[str, int], str]:
    """The whole ``names`` table (small: one row per user, role and channel seen)."""
    return {(k, i): n for k, i, n in db.execute("SELECT kind, id, name FROM names")}


def _rows(db: sqlite3.Connection, flt: Filter, ids: Sequence[int] | None) -> Iterator[list[tuple[Any, ...]]]:
    """Batches of rows matching ``flt`` (or exactly ``ids``), in the filter's order."""
    if ids is not None:
        wanted = sorted(set(ids), reverse=flt.newest_first)
        order = "DESC" if flt.newest_first else "ASC"
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            marks = ",".join("?" * len(chunk))
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM audit_entries WHERE id IN ({marks}) ORDER BY id {order}", chunk
            ).fetchall()
            if rows:
                yield rows
        return
    # Oldest-first exports stop at what was stored when they began (no chasing live ingest).
    (ceiling,) = db.execute("SELECT max(id) FROM audit_entries").fetchone()
    before = after = None
    while True:
        sql, args = queries.entry_page(flt, before=before, after=after, limit=PAGE, columns=_COLUMNS)
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
        if got < PAGE or last is None:
            return
        if flt.newest_first:
            before = last
        else:
            after = last


def export(
    db_path: str | Path,
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
    """Write every audit entry matching ``flt`` (or exactly ``ids``) to ``out`` in ``fmt``.

    ``out`` may be binary or text (opened with ``newline=""`` for CSV). ``names`` maps
    ``(kind, id)`` to display names; by default the store's ``names`` table is used. When ``ids``
    is given (bookmarks, the row under the cursor) only those entries are exported, in the
    filter's order, and the other filter fields are ignored. ``progress(done, total)`` is called
    after every batch; ``cancel`` is checked as often. A cancelled JSON export is still a valid
    document, with ``"complete": false``. Raises ValueError for an unknown format and StoreError
    when the database cannot be read.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}: use csv, json or jsonl")
    path = Path(db_path).expanduser()
    db = open_readonly(path)
    try:
        return _export(db, path, flt, fmt, out, names=names, ids=ids, progress=progress,
                       cancel=cancel, now_ms=now_ms)
    except sqlite3.Error as e:
        raise StoreError(describe(e, path)) from None
    finally:
        db.close()


def _export(
    db: sqlite3.Connection,
    path: Path,
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
    name_get = name_map.get

    def lookup(kind: str, ident: int) -> str | None:
        return name_get((kind, ident))

    total: int | None = None
    if progress is not None:
        if ids is not None:
            total = len(set(ids))
        else:
            sql, args = queries.entry_count(flt)
            total = db.execute(sql, args).fetchone()[0]
        progress(0, total)

    text_out = isinstance(out, io.TextIOBase)
    wrapper: io.TextIOWrapper | None = None
    if fmt == "csv":
        if text_out:
            sink: Any = out
        else:
            wrapper = io.TextIOWrapper(out, encoding="utf-8", newline="")  # type: ignore[arg-type]
            sink = wrapper
        writer = csv.writer(sink, quoting=csv.QUOTE_ALL)
        writer.writerow(fmt_.CSV_COLUMNS)

        def write_batch(records: list[dict[str, Any]]) -> None:
            writer.writerows([fmt_.csv_row(r) for r in records])
    else:
        write_bytes: Callable[[bytes], Any]
        if text_out:
            def write_bytes(data: bytes) -> Any:
                return out.write(data.decode("utf-8"))  # type: ignore[arg-type]
        else:
            write_bytes = out.write  # type: ignore[assignment]
        if fmt == "json":
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

            def write_batch(records: list[dict[str, Any]]) -> None:
                nonlocal first
                data = b",\n".join(fmt_.dumps(r) for r in records)
                write_bytes(data if first else b",\n" + data)
                first = False
        else:
            def write_batch(records: list[dict[str, Any]]) -> None:
                write_bytes(b"".join(fmt_.json_line(r) for r in records))

    done = 0
    cancelled = False
    record = fmt_.audit_record
    loads = orjson.loads
    try:
        for batch in _rows(db, flt, ids):
            if cancel is not None and cancel.is_set():
                cancelled = True
                break
            for start in range(0, len(batch), _SLICE):
                records = [
                    record(loads(raw), guild_id=gid, received_at_ms=recv, source=src, revision=rev,
                           names=lookup)
                    for _id, gid, recv, src, rev, raw in batch[start : start + _SLICE]
                ]
                write_batch(records)
                done += len(records)
                # Hand the GIL over: otherwise the UI loop's thread waits up to the 5 ms switch
                # interval at every wake-up while this thread formats rows (performance.md E2).
                time.sleep(0)
            if progress is not None:
                progress(done, total)
        if cancel is not None and cancel.is_set():
            cancelled = True
        if fmt == "json":
            tail = {"count": done, "complete": not cancelled}
            write_bytes(b"\n]," + fmt_.dumps(tail)[1:] + b"\n")
    finally:
        if wrapper is not None:
            wrapper.flush()
            wrapper.detach()
    return ExportResult(rows=done, cancelled=cancelled)


async def export_async(
    db_path: str | Path,
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
            export, db_path, flt, fmt, out, names=names, ids=ids, progress=progress,
            cancel=stop, now_ms=now_ms,
        )
    except asyncio.CancelledError:
        stop.set()
        raise
