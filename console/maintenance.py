"""``audit-console verify`` and ``audit-console prune``: the store's integrity and retention.
Both work on either backend.

verify: SQLite's own ``integrity_check`` (PostgreSQL has none every server carries), then every
guild's hash chain against the records;
one line per problem on standard output, exit 0 when all is well (a one-line summary), 1 when
something is wrong, 2 on bad input. prune: applies the configured retention now.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from console.config import ConfigError, Settings
from console.model.location import PgLocation, StoreLocation
from console.store.connection import NO_DATABASE_HINT, check_ours
from console.store.errors import StoreError

if TYPE_CHECKING:
    from console.store.verify import VerifyReport

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _check_ours(path: Path) -> None:
    """Bad input (exit 2): no file, not SQLite, not ours, or newer than this console."""
    if not path.exists():
        raise ConfigError(f"no database at {path}{NO_DATABASE_HINT}")
    check_ours(path)


def run_verify(location: StoreLocation, *, heads: bool = False, password_file: Path | None = None) -> int:
    if isinstance(location, PgLocation):
        from console.store.opening import pg_dsn, pg_password
        from console.store.postgres.verify import verify_postgres

        # A server it cannot reach or a database without a store: one line, exit 2 (StoreError).
        password = pg_password(password_file)
        report = verify_postgres(pg_dsn(location), **({} if password is None else {"password": password}))
        return _said(report, location, heads)
    from console.store.verify import verify

    path = location.expanduser()
    _check_ours(path)
    try:
        report = verify(path)
    except StoreError as e:
        _out(str(e))
        return EXIT_FAILED
    return _said(report, path, heads)


def _said(report: VerifyReport, where: StoreLocation, heads: bool) -> int:
    """The report's lines on standard output; its exit code."""
    if report.damaged:
        _out(report.problems[0])
        return EXIT_FAILED
    for line in report.problems:
        _out(line)
    if heads:
        for gid, (seq, link) in sorted(report.heads.items()):
            _out(f"guild {gid}: head link {seq} {link}")
    if report.problems:
        sys.stderr.write(f"audit-console verify: {report.summary()} in {where}\n")
        return EXIT_FAILED
    _out(f"audit-console verify: {report.summary()}")
    return EXIT_OK


def run_prune(settings: Settings, *, dry_run: bool) -> int:
    return asyncio.run(_prune(settings, dry_run))


async def _prune(settings: Settings, dry_run: bool) -> int:
    from console.store import open_store
    from console.store.retention import reach_text

    retention = settings.retention
    # Beside a running collector too: the database serialises the writes, and the chain's head is
    # read inside each transaction. A store is never created here (``existing``).
    if dry_run:
        store = await open_store(settings.db, readonly=True, password_file=settings.password_file)
    else:
        store = await open_store(settings.db, collector_lock=False, existing=True, password_file=settings.password_file)
    try:
        if retention.forever:
            _out(
                "retention is forever for every guild (set retention_days or a [retention] table in the config);"
                " nothing to prune"
            )
        else:
            for result in await store.prune(retention, dry_run=dry_run):
                _out(result.describe())
        oldest, cut = await store.reach()
        _out(reach_text(oldest, cut))
    finally:
        await store.close()
    return EXIT_OK
