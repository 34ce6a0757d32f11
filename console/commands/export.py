"""``audit-console export``: records as CSV, JSON or JSON Lines, to a file or standard output,
from a SQLite or a PostgreSQL store (the same bytes for the same records)."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from console.config import Settings
from console.errors import ConfigError
from console.model.filters import Filter
from console.store import open_store

if TYPE_CHECKING:
    from console.store.export import Source


def export(
    settings: Settings, flt: Filter, fmt: str, out: str, *, query: str | None = None, now_ms: int | None = None
) -> int:
    from console.store.connection import check_file
    from console.store.export import export as run_export
    from console.store.export import export_to_file
    from console.store.opening import export_source

    source = export_source(settings.db, password_file=settings.password_file)
    if isinstance(source, Path):
        check_file(source, must_exist=True)
    asyncio.run(_check_readable(settings))
    if query:
        flt = _query_filter(source, query, flt, now_ms)
    if out == "-":
        result = run_export(source, flt, fmt, sys.stdout.buffer)
        sys.stdout.flush()
    else:
        path = Path(out).expanduser()
        try:
            # Through <name>.part, renamed when complete; removed on any failure or Ctrl+C.
            result = export_to_file(source, flt, fmt, path)
        except OSError as e:
            raise ConfigError(f"cannot write {path}: {e.strerror or e}") from None
        sys.stderr.write(f"audit-console: exported {result.rows} records to {path}\n")
        sys.stderr.flush()
    return 0


def _query_filter(source: Source, query: str, flt: Filter, now_ms: int | None) -> Filter:
    """``--query`` parsed like the search bar and ANDed with the flags; a bad query is one line
    pointing at its column (exit 2)."""
    from console.model.query import QueryError
    from console.store.export import open_reader
    from console.store.export_query import query_filter

    reader, sql, _ = open_reader(source)
    try:
        return query_filter(
            reader, query, now_ms=now_ms if now_ms is not None else int(time.time() * 1000), base=flt, sql=sql
        )
    except QueryError as e:
        raise ConfigError(f"--query: {e} (at column {e.column + 1}: {query[e.column :][:20]!r})") from None
    finally:
        reader.close()


async def _check_readable(settings: Settings) -> None:
    """Open read-only once so a bad database fails with one line before any output."""
    store = await open_store(settings.db, password_file=settings.password_file, readonly=True)
    await store.close()
