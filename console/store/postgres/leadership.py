"""Which collector is active on a PostgreSQL store, and the fence that keeps a deposed one from
committing.

The active collector holds a session advisory lock on a connection of its own (never the writer's:
a writer that reconnects must not take the lock back from a standby that took over). The server
releases the lock when that session ends, which it notices through the keepalive settings below
even when the client's machine vanished. The one who takes the lock bumps ``leadership.epoch``;
every write transaction of a collecting store reads that row ``FOR SHARE`` first and fails when the
epoch is not the one it took (the old leader is never told it lost the lock, so it must find out
inside the transaction it would commit). The new leader's bump waits for such a transaction to
end, so no write of the old epoch commits after the new one began.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import Callable
from typing import Any

import asyncpg

from console.model.shards import ShardGroup
from console.store.errors import CollectorRunningError, DeposedError, StoreError
from console.store.postgres.connect import CONNECTION_ERRORS, connect, describe

#: The session advisory lock the active collector holds.
COLLECTOR_LOCK = "audit-console collector"

#: A standby asks for the lock this often (seconds).
STANDBY_POLL_S = 2.0
#: The active collector writes its heartbeat this often, which also proves its lock connection is
#: alive (asyncpg notices a dead server only when it sends something).
HEARTBEAT_S = 2.0
#: A heartbeat unanswered this long counts as a lost connection.
HEARTBEAT_TIMEOUT_S = 5.0

#: Settings of the lock connection. The server ends a session whose client vanished (machine gone,
#: network cut) after about idle + interval × count seconds of silence (5 + 2 × 3 = 11 s), or
#: tcp_user_timeout ms of unacknowledged data: then the lock is free for a standby. An idle
#: timeout would release the lock for nothing; the heartbeat keeps the session busy anyway.
LOCK_SETTINGS: dict[str, str] = {
    "tcp_keepalives_idle": "5",
    "tcp_keepalives_interval": "2",
    "tcp_keepalives_count": "3",
    "tcp_user_timeout": "10000",
    "idle_session_timeout": "0",
    "idle_in_transaction_session_timeout": "0",
}


def _holder_line(row: asyncpg.Record | None) -> str:
    """``host pid`` of the active collector, since when, its epoch; from a ``leadership`` row."""
    if row is None or row["host"] is None:
        return "another collector"
    since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(row["since"] / 1000))
    return f"{row['host']} pid {row['pid']} (epoch {row['epoch']}) is active since {since}"


def lock_key(scope: str) -> str:
    """The advisory lock of a shard group's leadership ('' is the unsharded collector's)."""
    return f"{COLLECTOR_LOCK} {scope}" if scope else COLLECTOR_LOCK


async def active_collector(conn: asyncpg.Connection, row: int = 1) -> asyncpg.Record | None:
    """A ``leadership`` row (1: the unsharded collector's): epoch, host, pid, since, heartbeat
    (None before anyone led)."""
    return await conn.fetchrow("SELECT epoch, host, pid, since, heartbeat FROM leadership WHERE id = $1", row)


async def lock_held(conn: asyncpg.Connection, scope: str = "") -> bool:
    """Whether a collector holds a shard group's lock ('' the unsharded one) now, read from
    ``pg_locks`` (a single-bigint advisory key is split into classid and objid)."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND classid::bigint = ((hashtext($1)::bigint >> 32) & 4294967295)"
            " AND objid::bigint = (hashtext($1)::bigint & 4294967295))",
            lock_key(scope),
        )
    )


async def guild_has_collector(conn: asyncpg.Connection, guild_id: int | None = None) -> bool:
    """Whether a collector that takes ``guild_id``'s requests is active: the unsharded one, or the
    leader of the shard group that holds the guild (``(guild_id >> 22) % count``). With no
    guild: whether any collector is."""
    scopes = [r[0] for r in await conn.fetch("SELECT scope FROM leadership ORDER BY id")] or [""]
    for scope in scopes:
        group = ShardGroup.from_key(scope)
        if guild_id is not None and group is not None and not group.owns(guild_id):
            continue
        if await lock_held(conn, scope):
            return True
    return False


async def describe_leadership(conn: asyncpg.Connection, where: str, scope: str = "") -> str:
    """Who is active on the store (``collect --standby-info``): one line."""
    row_id = await conn.fetchval("SELECT id FROM leadership WHERE scope = $1", scope) if scope else 1
    row = await active_collector(conn, row_id) if row_id is not None else None
    where = f"{where} ({scope})" if scope else where
    held = await lock_held(conn, scope)
    if row is None or row["host"] is None:
        return f"{where}: no collector has been active yet"
    since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(row["since"] / 1000))
    who = f"{row['host']} pid {row['pid']}, epoch {row['epoch']}, since {since}"
    beat = time.strftime("%H:%M:%S UTC", time.gmtime((row["heartbeat"] or row["since"]) / 1000))
    if held:
        return f"{where}: active collector {who} (last heartbeat {beat})"
    return f"{where}: no collector is active; the last was {who} (last heartbeat {beat})"


async def collectors_line(conn: asyncpg.Connection) -> str:
    """Who collects into the store now, for the header of a console that does not:
    ``collector HOST pid N since …`` (each shard group's, when they split a bot's shards), or
    ``no collector running``."""
    active = []
    for row in await conn.fetch("SELECT scope, host, pid, since FROM leadership WHERE host IS NOT NULL ORDER BY id"):
        if await lock_held(conn, row["scope"]):
            active.append(row)
    if not active:
        return "no collector running"
    if len(active) == 1 and not active[0]["scope"]:
        row = active[0]
        since = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(row["since"] / 1000))
        return f"collector {row['host']} pid {row['pid']} since {since}"
    return "collectors " + ", ".join(f"{r['host']} pid {r['pid']} ({r['scope'] or 'all shards'})" for r in active)


class Leadership:
    """The collector lock on a dedicated connection, the epoch taken with it, the heartbeat, and
    the fence each write transaction passes through."""

    def __init__(
        self,
        dsn: str,
        where: str,
        options: dict[str, Any],
        clock: Callable[[], int],
        on_deposed: Callable[[str], None] | None = None,
        scope: str = "",
    ) -> None:
        """``scope``: the shard group led ('' for an unsharded collector, row 1)."""
        self._dsn = dsn
        self._scope = scope
        self._row = 1
        self._where = where
        self._options = options
        self._clock = clock
        self._conn: asyncpg.Connection | None = None
        self._locked = False  # the lock is held on self._conn
        self._task: asyncio.Task[None] | None = None
        self._on_deposed: list[Callable[[str], None]] = [on_deposed] if on_deposed else []
        self.host = socket.gethostname()
        self.pid = os.getpid()
        #: The epoch this collector took (0 until it leads).
        self.epoch = 0
        #: Why this collector may no longer write (set once, for good).
        self.deposed: str | None = None

    def holds(self, guild_id: int | None) -> bool:
        """Whether this collector's requests include ``guild_id``'s (its shard group holds it)."""
        group = ShardGroup.from_key(self._scope)
        return group is None or guild_id is None or group.owns(guild_id)

    @property
    def locked(self) -> bool:
        """The lock is held now (it is lost with its connection and taken back by the heartbeat)."""
        return self._locked and self._conn is not None and not self._conn.is_closed()

    def add_deposed_listener(self, listener: Callable[[str], None]) -> None:
        self._on_deposed.append(listener)

    async def _connect(self) -> asyncpg.Connection:
        settings = dict(LOCK_SETTINGS, application_name=f"audit-console collector {self.host}:{self.pid}")
        return await connect(self._dsn, self._where, server_settings=settings, **self._options)

    async def _try_lock(self, conn: asyncpg.Connection) -> bool:
        if self._scope and self._row == 1:  # the group's row, made by its first collector
            await conn.execute(
                "INSERT INTO leadership (scope, epoch) VALUES ($1, 0) ON CONFLICT (scope) DO NOTHING", self._scope
            )
            self._row = await conn.fetchval("SELECT id FROM leadership WHERE scope = $1", self._scope)
        self._locked = bool(await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", lock_key(self._scope)))
        return self._locked

    async def take(self, standby: Callable[[str], None] | None = None) -> None:
        """Take the lock and bump the epoch. Another collector holding it: CollectorRunningError,
        or with ``standby``, tell it who is active (again when that changes) and ask every
        STANDBY_POLL_S until the lock is had. StoreError with one line otherwise."""
        shown = None
        while True:
            try:
                if self._conn is None or self._conn.is_closed():
                    self._conn = await self._connect()
                if await self._try_lock(self._conn):
                    # The bump waits for a fenced transaction of the old leader still open on the
                    # server; when it fails (that leader's network went silent: the writer's idle
                    # timeout ends it, connect.WRITER_SETTINGS), a standby lets go and asks again.
                    self.epoch = await self._bump()
                    break
                holder = _holder_line(await active_collector(self._conn, self._row))
            except (StoreError, asyncpg.PostgresError, *CONNECTION_ERRORS) as e:
                if standby is None:
                    await self.close()
                    raise e if isinstance(e, StoreError) else StoreError(describe(e, self._where)) from None
                holder = str(e) if isinstance(e, StoreError) else describe(e, self._where)
                if self._conn is not None:
                    self._conn.terminate()
                    self._conn = None
            if standby is None:
                await self.close()
                raise CollectorRunningError(
                    f"{self._where} is in use by another collecting Audit Console ({holder}); "
                    "browse it read-only with `audit-console open`"
                )
            if holder != shown:
                shown = holder
                standby(f"standing by: {holder}")
            await asyncio.sleep(STANDBY_POLL_S)
        if shown is not None and standby is not None:
            standby(f"taking over: epoch {self.epoch}")
        self._task = asyncio.create_task(self._heartbeat(), name="collector heartbeat")

    async def _bump(self) -> int:
        assert self._conn is not None
        now = self._clock()
        return int(
            await self._conn.fetchval(
                "UPDATE leadership SET epoch = epoch + 1, host = $1, pid = $2, since = $3, heartbeat = $3"
                " WHERE id = $4 RETURNING epoch",
                self.host,
                self.pid,
                now,
                self._row,
            )
        )

    async def fence(self, conn: asyncpg.Connection) -> None:
        """First statement of every write transaction: DeposedError unless the epoch is still
        ours (the row stays share-locked until the transaction ends, so a new leader's bump
        waits for it)."""
        await self._ours(conn, "SELECT epoch, host, pid, since FROM leadership WHERE id = $1 FOR SHARE")

    async def check(self, conn: asyncpg.Connection) -> None:
        """DeposedError unless the epoch is still ours, read now without locking: before a side
        effect outside the database (a Discord role call). A takeover right after the read is
        not seen; the attempt rows record which epoch made each call."""
        await self._ours(conn, "SELECT epoch, host, pid, since FROM leadership WHERE id = $1")

    async def _ours(self, conn: asyncpg.Connection, sql: str) -> None:
        if self.deposed is None:
            row = await conn.fetchrow(sql, self._row)
            if row is not None and row["epoch"] == self.epoch:
                return
            self._depose(row)
        assert self.deposed is not None
        raise DeposedError(self.deposed)

    def _depose(self, row: asyncpg.Record | None) -> None:
        if self.deposed is not None:
            return
        self.deposed = (
            f"deposed: another collector took over {self._where} ({_holder_line(row)}); "
            f"this one (epoch {self.epoch}) writes nothing more"
        )
        if self._conn is not None:
            self._conn.terminate()  # the lock, if still held, is free for the standbys
            self._conn = None
        for listener in list(self._on_deposed):
            listener(self.deposed)

    async def _heartbeat(self) -> None:
        """Every HEARTBEAT_S: the heartbeat, fenced by the epoch. A lost lock connection is made
        again; the lock taken back while the epoch is still ours means nobody took over."""
        while self.deposed is None:
            await asyncio.sleep(HEARTBEAT_S)
            try:
                if self._conn is None or self._conn.is_closed():
                    self._locked = False
                    self._conn = await self._connect()
                if not self._locked:
                    # Our old session may still hold it until the server notices it is gone.
                    await self._try_lock(self._conn)
                status = await asyncio.wait_for(
                    self._conn.execute(
                        "UPDATE leadership SET heartbeat = $1 WHERE id = $3 AND epoch = $2",
                        self._clock(),
                        self.epoch,
                        self._row,
                    ),
                    HEARTBEAT_TIMEOUT_S,
                )
                if status == "UPDATE 0":
                    self._depose(await active_collector(self._conn, self._row))
            except (StoreError, asyncpg.PostgresError, *CONNECTION_ERRORS):
                # The lock may be lost with it: until a standby bumps the epoch nobody else wrote,
                # so our writes stay valid; the fence catches the bump.
                if self._conn is not None:
                    self._conn.terminate()
                    self._conn = None

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._conn.close(), 5)
            self._conn = None
