"""Connecting to PostgreSQL: every way a server can be unusable becomes one StoreError line, and a
database that is not ours is never altered."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import asyncpg

from console.model.location import PASSWORD_SOURCES
from console.store.errors import StoreError
from console.store.postgres.schema import APPLICATION, MIGRATIONS, MIN_SERVER_VERSION, SCHEMA_VERSION

#: How long a connection attempt may take before the server counts as unreachable (seconds).
CONNECT_TIMEOUT = 10.0


def describe(exc: BaseException, where: str, *, connecting: bool = False) -> str:
    """A one-line reason for a driver or network error talking to ``where`` (a URL without
    password); ``connecting``: the error came while opening a connection."""
    if isinstance(exc, asyncpg.InvalidPasswordError):
        return f"PostgreSQL at {where} refused the password ({_first_line(exc)}); it comes from {PASSWORD_SOURCES}"
    if isinstance(exc, asyncpg.InvalidAuthorizationSpecificationError):
        return f"PostgreSQL at {where} refused the login: {_first_line(exc)}"
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return f"PostgreSQL at {where}: {_first_line(exc)} (create it first, e.g. `createdb`)"
    if isinstance(exc, asyncpg.InsufficientPrivilegeError):
        return f"PostgreSQL at {where}: permission denied ({_first_line(exc)})"
    if isinstance(exc, asyncpg.DiskFullError):
        return f"PostgreSQL at {where} cannot write: {_first_line(exc)}"
    if connecting and isinstance(exc, OSError) and not isinstance(exc, socket.gaierror):
        return f"cannot reach PostgreSQL at {where}: {exc.strerror or _first_line(exc)}"
    if isinstance(exc, asyncpg.InterfaceError) and not (
        isinstance(exc, asyncpg.ConnectionDoesNotExistError) or "closed" in str(exc)
    ):
        return f"PostgreSQL at {where}: {_first_line(exc)}"
    if isinstance(exc, (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, ConnectionError)):
        return f"lost the connection to PostgreSQL at {where} ({_first_line(exc) or type(exc).__name__})"
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        if connecting:
            return f"cannot reach PostgreSQL at {where}: no answer within {CONNECT_TIMEOUT:g} s"
        return f"lost the connection to PostgreSQL at {where} (it stopped answering)"
    if isinstance(exc, socket.gaierror):
        return f"cannot reach PostgreSQL at {where}: unknown host"
    if isinstance(exc, OSError):
        return f"cannot reach PostgreSQL at {where}: {exc.strerror or exc}"
    if isinstance(exc, asyncpg.PostgresError):
        return f"PostgreSQL at {where}: {_first_line(exc)}"
    return f"PostgreSQL at {where}: {_first_line(exc) or type(exc).__name__}"


def _first_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


#: Settings of the reading pool's connections. asyncpg prepares every statement, and after five
#: runs PostgreSQL may keep a generic plan, made without the arguments' values: for full text it
#: cannot tell a rare word from a common one, and the plan it keeps walks the entries by id
#: filtering every row (40–400 ms on 1,000,000 entries instead of 1 ms through the GIN index).
#: Planning each read again costs ~0.1–0.5 ms. Not for the writer: executemany would plan
#: every row.
READING_SETTINGS: dict[str, str] = {"plan_cache_mode": "force_custom_plan"}

#: Settings of the writer's connection. Every write transaction of a collector holds the
#: leadership row FOR SHARE (leadership.py, the fence), and a new leader's epoch bump waits for it:
#: when the old leader's network goes silent mid-transaction, nothing tells the server, whose
#: session would wait for the next statement for ever. A writer never pauses that long inside a
#: transaction (its statements follow each other; a batch is built before it begins).
WRITER_SETTINGS: dict[str, str] = {"idle_in_transaction_session_timeout": "10000"}

#: The errors a lost or refused connection raises (the writer treats them as "degraded").
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    # The driver's own protocol state left wrong by an operation the server cut short (seen after
    # a restart mid-batch: "another operation is in progress" for ever): the connection is done.
    asyncpg.InternalClientError,
    ConnectionError,
    OSError,
    TimeoutError,
    asyncio.TimeoutError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
)


async def connect(dsn: str, where: str, **options: Any) -> asyncpg.Connection:
    """One connection (StoreError with one line when it cannot be had)."""
    try:
        conn = await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT, **options)
    except (asyncpg.PostgresError, *CONNECTION_ERRORS) as e:
        raise StoreError(describe(e, where, connecting=True)) from None
    return conn


async def prepare(conn: asyncpg.Connection, where: str, *, readonly: bool) -> None:
    """Check the server and that the database is ours (or empty), migrate unless ``readonly``.
    Raises StoreError; refuses before changing anything."""
    try:
        version = int(await conn.fetchval("SHOW server_version_num"))
        if version < MIN_SERVER_VERSION:
            shown = await conn.fetchval("SHOW server_version")
            raise StoreError(
                f"PostgreSQL at {where} is version {shown}; the console needs {MIN_SERVER_VERSION // 10000} or newer"
            )
        tables = await conn.fetchval("SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema()")
        current = 0
        if tables:
            has_meta = await conn.fetchval(
                "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = 'meta'"
            )
            marker = None
            if has_meta:
                marker = await conn.fetchval("SELECT value FROM meta WHERE key = 'application'")
            if marker != APPLICATION:
                raise StoreError(
                    f"PostgreSQL at {where} holds tables that are not an Audit Console store; refusing to touch them"
                )
            current = int(await conn.fetchval("SELECT value FROM meta WHERE key = 'schema_version'") or 0)
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"PostgreSQL at {where} was written by a newer Audit Console "
                f"(schema {current}, this one knows {SCHEMA_VERSION})"
            )
        if readonly:
            if current < SCHEMA_VERSION:
                if not tables:
                    raise StoreError(f"PostgreSQL at {where} holds no Audit Console store yet")
                raise StoreError(f"PostgreSQL at {where} needs upgrading: open it once with a collecting command first")
            return
        if current < SCHEMA_VERSION:
            await _migrate(conn, current)
    except StoreError:
        raise
    except (asyncpg.PostgresError, *CONNECTION_ERRORS) as e:
        raise StoreError(describe(e, where)) from None


async def _migrate(conn: asyncpg.Connection, current: int) -> None:
    """Every missing migration in one transaction, under a lock: two consoles starting on a new
    database at once do not both create it."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('audit-console schema'))")
        exists = await conn.fetchval("SELECT to_regclass('meta') IS NOT NULL")
        if exists:
            current = int(await conn.fetchval("SELECT value FROM meta WHERE key = 'schema_version'") or 0)
        for number in range(current + 1, SCHEMA_VERSION + 1):
            await conn.execute(MIGRATIONS[number - 1])
        await conn.execute(
            "INSERT INTO meta (key, value) VALUES ('application', $1), ('schema_version', $2)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            APPLICATION,
            str(SCHEMA_VERSION),
        )
