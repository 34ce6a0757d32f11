"""``audit-console report``: parse the period, read the store read-only, write the report
(to stdout or atomically to a file: ``.part`` then rename, never a half-written report)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from console.config import ConfigError
from console.model.filters import parse_time
from console.model.location import StoreLocation
from console.reports.compute import Report, compute
from console.reports.render import to_json, to_markdown
from console.store import open_store

FORMATS = ("markdown", "json")


def period(since: str | None, until: str | None, now_ms: int) -> tuple[int, int]:
    """``--since`` (default 7d) and ``--until`` (default now) → ms; ConfigError with one line."""
    try:
        start = parse_time(since or "7d", now_ms)
        end = parse_time(until, now_ms) if until else now_ms
    except ValueError as e:
        raise ConfigError(str(e)) from None
    if start >= end:
        raise ConfigError("--since must be before --until")
    return start, end


async def build(
    db: StoreLocation,
    *,
    since_ms: int,
    until_ms: int,
    guild_ids: Sequence[int],
    now_ms: int,
    password_file: Path | None = None,
) -> Report:
    store = await open_store(db, readonly=True, password_file=password_file)
    try:
        return await compute(
            store,
            since_ms=since_ms,
            until_ms=until_ms,
            name_of=store.name_of,
            guild_ids=guild_ids,
            now_ms=now_ms,
        )
    finally:
        await store.close()


def render(report: Report, fmt: str) -> bytes:
    return to_json(report) if fmt == "json" else to_markdown(report).encode()


def write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".part")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise ConfigError(f"cannot write {path}: {e.strerror or e}") from None


def run(
    db: StoreLocation,
    *,
    since: str | None,
    until: str | None,
    guild_ids: Sequence[int],
    fmt: str,
    out: str,
    now_ms: int,
    password_file: Path | None = None,
) -> int:
    if fmt not in FORMATS:
        raise ConfigError(f"unknown --format {fmt!r} (one of: {', '.join(FORMATS)})")
    since_ms, until_ms = period(since, until, now_ms)
    report = asyncio.run(
        build(db, since_ms=since_ms, until_ms=until_ms, guild_ids=guild_ids, now_ms=now_ms, password_file=password_file)
    )
    data = render(report, fmt)
    if out == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        path = Path(out).expanduser()
        write_atomic(path, data)
        sys.stderr.write(f"audit-console: report written to {path}\n")
    return 0
