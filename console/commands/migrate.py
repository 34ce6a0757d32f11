"""``audit-console migrate --from A --to B``: copy a whole store between SQLite and PostgreSQL
(``console/store/transfer.py``), resumable, then ``verify`` both ends.

Exit 0 when the copy is whole and both ends verify, 1 when the copy failed part way (run it again
to resume) or a verify found problems, 2 on bad input (the same store twice, a source that is not
a store, a target holding other records)."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

from console.errors import ConfigError
from console.model.location import is_postgres
from console.store.errors import StoreError


def _say(line: str) -> None:
    sys.stderr.write(f"audit-console migrate: {line}\n")
    sys.stderr.flush()


def _same(a: str, b: str) -> bool:
    if is_postgres(a) or is_postgres(b):
        return a == b
    return Path(a).expanduser().resolve() == Path(b).expanduser().resolve()


def migrate(source: str, target: str) -> int:
    from console.store.transfer import copy_store, counts, open_side

    if _same(source, target):
        raise ConfigError("--from and --to are the same store")
    if not is_postgres(source) and not Path(source).expanduser().exists():
        raise ConfigError(f"no database at {source}")
    try:
        asyncio.run(_create(target))  # the target's schema, by the store that owns it
        src = open_side(source, write=False)
    except StoreError as e:
        raise ConfigError(str(e)) from None
    try:
        try:
            dst = open_side(target, write=True)
        except StoreError as e:
            raise ConfigError(str(e)) from None
        try:
            start = time.monotonic()
            last = [0.0]

            def progress(table: str, rows: int) -> None:
                if time.monotonic() - last[0] >= 2:
                    last[0] = time.monotonic()
                    _say(f"{table}: {rows:,} rows copied")

            try:
                result = copy_store(src, dst, progress=progress)
            except StoreError as e:
                message = str(e)
                if "already holds records" in message or "unfinished copy of another store" in message:
                    raise ConfigError(message) from None
                _say(f"{message}; run the same command again to resume")
                return 1
            took = time.monotonic() - start
            copied = sum(result.copied.values())
            _say(
                f"{'resumed and ' if result.resumed else ''}copied {copied:,} rows in {took:.1f} s "
                f"({', '.join(f'{t} {n:,}' for t, n in result.copied.items() if n)})"
            )
            copied_rows = counts(dst)
            mismatched = [t for t, n in counts(src).items() if copied_rows[t] != n]
        finally:
            dst.close()
    finally:
        src.close()
    if mismatched:
        _say(f"row counts differ after the copy in: {', '.join(mismatched)}")
        return 1
    return _verify_both(source, target)


async def _create(location: str) -> None:
    from console.store import Store
    from console.store.postgres.store import PgStore

    opened: Any = await (
        PgStore.open(location, names=False) if is_postgres(location) else Store.open(location, names=False)
    )
    await opened.close()


def _verify_both(source: str, target: str) -> int:
    from console.store.postgres.verify import verify_postgres
    from console.store.verify import verify

    worst = 0
    for end, location in (("source", source), ("copy", target)):
        try:
            report = verify_postgres(location) if is_postgres(location) else verify(Path(location).expanduser())
        except StoreError as e:
            _say(f"{end}: {e}")
            worst = 1
            continue
        for line in report.problems:
            sys.stdout.write(f"{end}: {line}\n")
        _say(f"verify {end}: {report.summary()}")
        worst = worst or (0 if report.ok else 1)
    return worst
