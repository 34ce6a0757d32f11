"""Opening a database safely: every way it can be unusable becomes one StoreError line, and a
file that is not ours is never altered."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import aiosqlite

from console.store.errors import StoreError
from console.store.schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION

_HEADER = b"SQLite format 3\x00"


async def one(db: aiosqlite.Connection, sql: str, args: Sequence[Any] | Mapping[str, Any] = ()) -> Any:
    """The first row of a query that returns few rows (aggregates, lookups by key).

    Every read goes through :func:`one` or :func:`rows`, which run the statement to completion
    in one call: a cursor left open keeps its read transaction open, and that connection then
    goes on seeing an old snapshot of a WAL database. One await per query also matters: each
    costs a round trip through the event loop the UI draws on.
    """
    found = await db.execute_fetchall(sql, args)
    return next(iter(found), None)


async def rows(db: aiosqlite.Connection, sql: str, args: Sequence[Any] | Mapping[str, Any] = ()) -> list[Any]:
    return list(await db.execute_fetchall(sql, args))


def describe(exc: BaseException, path: Path) -> str:
    """A one-line reason for a sqlite3 error on ``path``."""
    text = str(exc)
    low = text.lower()
    if "locked" in low or "busy" in low:
        return f"database {path} is locked by another program; close it and try again"
    if "not a database" in low or "malformed" in low or "corrupt" in low:
        return f"database {path} is damaged ({text}); restore a backup or run `audit-console verify`"
    if "readonly" in low or "read-only" in low:
        return f"database {path} is read-only ({text})"
    if "unable to open" in low or "permission" in low:
        return f"cannot open database {path}: {text}"
    if "disk is full" in low or "disk i/o" in low:
        return f"cannot write database {path}: {text}"
    return f"database {path}: {text}"


#: Said after "no database at …": a new user's first `open` or `export` lands here.
NO_DATABASE_HINT = (
    " (nothing collected there yet: `audit-console demo` tries the console on a simulated guild;"
    " `collect` or `run` fill a store)"
)


def check_file(path: Path, *, must_exist: bool, write: bool = False) -> None:
    """Refuse what is plainly not a usable database file before SQLite touches it (SQLite would
    leave a -shm file beside it even when the open then fails). ``write``: the caller is going to
    write, so a read-only file or folder is refused here too (SQLite would open it read-only
    without a word, and the first write would fail far from here)."""
    if not path.exists():
        if must_exist:
            raise StoreError(f"no database at {path}{NO_DATABASE_HINT}")
        parent = path.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(f"cannot create folder {parent}: {e.strerror or e}") from None
        if not os.access(parent, os.W_OK):
            raise StoreError(f"cannot create database in {parent}: permission denied")
        return
    if path.is_dir():
        raise StoreError(f"{path} is a folder, not a database")
    try:
        with path.open("rb") as f:
            head = f.read(100)
    except OSError as e:
        raise StoreError(f"cannot read database {path}: {e.strerror or e}") from None
    if head and head[:16] != _HEADER:
        raise StoreError(f"{path} is not an Audit Console database (not an SQLite file)")
    if not head and must_exist:
        raise StoreError(f"{path} is empty: there is no Audit Console store in it yet")
    wal = Path(str(path) + "-wal")
    if len(head) == 100 and not (wal.exists() and wal.stat().st_size):
        # No WAL content: the header is current. Refuse another program's file or a newer
        # store from it, before SQLite creates anything beside the file.
        version, app_id = int.from_bytes(head[60:64], "big"), int.from_bytes(head[68:72], "big")
        if app_id not in (0, APPLICATION_ID):
            raise StoreError(f"{path} is an SQLite database, but not an Audit Console one; refusing to touch it")
        if app_id == APPLICATION_ID and version > SCHEMA_VERSION:
            raise StoreError(
                f"{path} was written by a newer Audit Console (schema {version}, this one knows {SCHEMA_VERSION})"
            )
    if write:
        if not os.access(path, os.W_OK):
            raise StoreError(f"database {path} is read-only (no write permission); browse it with `audit-console open`")
        if not os.access(path.parent, os.W_OK):
            raise StoreError(
                f"cannot write in folder {path.parent} (SQLite keeps its -wal and -shm files "
                "beside the database); browse it with `audit-console open`"
            )


def check_ours(path: Path) -> None:
    """Refuse a file that is not SQLite, not an Audit Console store, or from a newer console
    (StoreError, one line). A file SQLite cannot read at all passes: its checks say how."""
    check_file(path, must_exist=True)
    try:
        db = sqlite3.connect(readonly_uri(path), uri=True, timeout=5.0)
        try:
            app_id = db.execute("PRAGMA application_id").fetchone()[0]
            version = db.execute("PRAGMA user_version").fetchone()[0]
        finally:
            db.close()
    except sqlite3.DatabaseError:
        return
    if app_id != APPLICATION_ID:
        raise StoreError(f"{path} is an SQLite database, but not an Audit Console one")
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path} was written by a newer Audit Console (schema {version}, this one knows {SCHEMA_VERSION})"
        )


def readonly_uri(path: Path) -> str:
    """The URI that reads a store and writes nothing.

    A WAL reader needs SQLite's -shm file, which it cannot create in a folder it may not write
    (a store on a read-only mount, an archive): there, when no -wal holds anything, nobody can be
    writing the file either, so it is opened immutable, which needs no -shm.
    """
    p = Path(path).resolve()
    uri = p.as_uri() + "?mode=ro"
    wal = p.with_name(p.name + "-wal")
    if not os.access(p.parent, os.W_OK) and not (wal.exists() and wal.stat().st_size):
        uri += "&immutable=1"
    return uri


async def connect(path: Path, *, readonly: bool) -> aiosqlite.Connection:
    try:
        if readonly:
            uri = readonly_uri(path)
            db = await aiosqlite.connect(uri, uri=True, isolation_level=None, timeout=5.0)
        else:
            db = await aiosqlite.connect(str(path), isolation_level=None, timeout=5.0)
    except sqlite3.Error as e:
        raise StoreError(describe(e, path)) from None
    return db


async def prepare(db: aiosqlite.Connection, path: Path, *, readonly: bool, quick_check: bool) -> None:
    """Check the file is ours and healthy, set pragmas, migrate. Raises StoreError."""
    try:
        app_id, version, tables = await one(
            db,
            "SELECT (SELECT application_id FROM pragma_application_id()),"
            " (SELECT user_version FROM pragma_user_version()),"
            " (SELECT count(*) FROM sqlite_master WHERE type = 'table')",
        )
        if app_id != APPLICATION_ID and (app_id != 0 or tables):
            raise StoreError(f"{path} is an SQLite database, but not an Audit Console one; refusing to touch it")
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{path} was written by a newer Audit Console (schema {version}, this one knows {SCHEMA_VERSION})"
            )
        if readonly:
            if version < SCHEMA_VERSION:
                raise StoreError(f"{path} needs upgrading: open it once with a collecting command first")
            await db.execute("PRAGMA query_only = ON")
        else:
            await db.execute("PRAGMA busy_timeout = 5000")
            (mode,) = await one(db, "PRAGMA journal_mode = WAL")
            if str(mode).lower() != "wal":
                raise StoreError(f"database {path}: cannot switch to WAL mode (got {mode})")
            # FULL: acknowledged entries survive power loss too (docs/how-entries-are-kept.md, "Durable").
            await db.execute("PRAGMA synchronous = FULL")
        # Page cache per connection: the reader serves one screen at a time (the memory budget in
        # docs/performance.md, U3).
        # One call for the three pragmas: every await is a trip through the UI's event loop.
        await db.executescript(
            "PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY; "
            f"PRAGMA cache_size = {-8000 if readonly else -16000};"
        )
        if quick_check and tables:
            found = await rows(db, "PRAGMA quick_check")
            problems = [r[0] for r in found if r[0] != "ok"]
            if problems:
                raise StoreError(f"database {path} is damaged: {problems[0]}; restore a backup")
        if not readonly and version < SCHEMA_VERSION:
            await migrate(db, version)
    except sqlite3.Error as e:
        raise StoreError(describe(e, path)) from None


async def migrate(db: aiosqlite.Connection, current: int) -> None:
    for number in range(current + 1, SCHEMA_VERSION + 1):
        await db.execute("BEGIN IMMEDIATE")
        try:
            for statement in _split(MIGRATIONS[number - 1]):
                await db.execute(statement)
            await db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            await db.execute(f"PRAGMA user_version = {number}")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                await db.execute("ROLLBACK")
            raise
        await db.execute("COMMIT")


def _split(script: str) -> list[str]:
    """Split a migration into statements (executescript would COMMIT behind our back)."""
    statements, buf = [], []
    for line in script.splitlines():
        stripped = line.split("--", 1)[0] if "--" in line else line
        buf.append(stripped)
        candidate = "\n".join(buf).strip()
        if candidate.endswith(";") and sqlite3.complete_statement(candidate):
            statements.append(candidate)
            buf = []
    if "\n".join(buf).strip():
        statements.append("\n".join(buf).strip())
    return statements
