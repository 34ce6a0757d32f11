"""What the export's rows are, shared by the caller's thread (``export.py``) and the worker
processes (``export_workers.py``): the columns read, the read-only connection, and the encoder
of records into CSV, JSON or JSON Lines bytes."""

from __future__ import annotations

import csv
import io
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from console.model import export_format as fmt_
from console.store.connection import check_file, describe, readonly_uri
from console.store.errors import StoreError
from console.store.schema import APPLICATION_ID

COLUMNS: Final = "id, guild_id, received_at, source, revision, raw"


def open_readonly(db_path: str | Path) -> sqlite3.Connection:
    """A read-only stdlib connection to one of our databases. Raises StoreError (one line)."""
    path = Path(db_path).expanduser()
    check_file(path, must_exist=True)
    try:
        db = sqlite3.connect(readonly_uri(path), uri=True, timeout=5.0, check_same_thread=False)
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


def separator(fmt: str) -> bytes:
    """What goes between two records' bytes in ``fmt`` (JSON's array commas; CSV and JSON Lines
    rows end in their own newline)."""
    return b",\n" if fmt == "json" else b""


def csv_text(rows: Iterable[Sequence[str]]) -> bytes:
    """Rows as CSV bytes (UTF-8, every cell quoted, CRLF line ends)."""
    buf = io.StringIO(newline="")
    csv.writer(buf, quoting=csv.QUOTE_ALL).writerows(rows)
    return buf.getvalue().encode("utf-8")


def encoder(
    fmt: str,
    to_row: Callable[[Mapping[str, Any]], list[str]] = fmt_.csv_row,
) -> Callable[[list[dict[str, Any]]], bytes]:
    """Records → the bytes of their rows in ``fmt`` (JSON: comma-separated, no brackets)."""
    if fmt == "csv":
        buf = io.StringIO(newline="")
        writer = csv.writer(buf, quoting=csv.QUOTE_ALL)

        def encode(records: list[dict[str, Any]]) -> bytes:
            writer.writerows([to_row(r) for r in records])
            data = buf.getvalue()
            buf.seek(0)
            buf.truncate()
            return data.encode("utf-8")
    elif fmt == "json":

        def encode(records: list[dict[str, Any]]) -> bytes:
            return separator("json").join([fmt_.dumps(r) for r in records])
    else:

        def encode(records: list[dict[str, Any]]) -> bytes:
            return b"".join([fmt_.json_line(r) for r in records])

    return encode
