"""The PostgreSQL store's core: one connection that writes (a transaction per call, under a lock),
a small pool that reads (the UI's pages never wait behind a write), the collector's lock, the
listeners told after each commit. Nothing is acknowledged before COMMIT.

A write that fails because the server went away (restart, a cut connection) or is out of space
raises :class:`StoreFullError`, the store's "degraded" signal: nothing of it committed, callers
hold their batch and retry (the collector's backoff), and the next write reconnects. The parts
(``entries.py``, ``sync.py``, …) are built on this core like the SQLite store's."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Self

import asyncpg

from console.model.snowflake import SnowflakeFactory
from console.store.errors import DeposedError, StoreError, StoreFullError
from console.store.postgres import notify
from console.store.postgres.connect import CONNECTION_ERRORS, WRITER_SETTINGS, connect, describe
from console.store.postgres.leadership import Leadership
from console.store.postgres.startup import end_turn, take_turn
from console.store.results import IngestResult
from console.store.watching import LinkCallback, WatchCallback, Watchers

Listener = Callable[[IngestResult], None]

#: After a failed reconnect the writer waits this long before the next try, doubling up to
#: RECONNECT_MAX_S: every writer (the batch writer, names, the reconciler, the probe) asks for the
#: connection while the server is away, and a restarting server should not meet a stampede.
RECONNECT_FIRST_S = 0.25
RECONNECT_MAX_S = 4.0


class PgCore:
    """Connections, transactions and listeners: what every part of the PostgreSQL store uses."""

    def __init__(
        self,
        where: str,
        dsn: str,
        writer: asyncpg.Connection | None,
        pool: asyncpg.Pool,
        clock: Callable[[], int],
        connect_options: dict[str, Any],
        leadership: Leadership | None,
    ) -> None:
        #: The store's address as shown to people: a URL without any password.
        self.where = where
        self._dsn = dsn
        self._w = writer
        self._pool = pool
        self._clock = clock
        self._connect_options = connect_options
        #: A collecting store's leadership: its lock, its epoch, the fence of every write.
        self.leadership = leadership
        self._write_lock = asyncio.Lock()
        self._listeners: list[Listener] = []
        #: kind ("user", "role", "channel", "guild", "member") → id → name.
        self._names: dict[str, dict[int, str]] = {}
        self._names_complete = False
        self.ids = SnowflakeFactory()
        self.closed = False
        self._readonly = writer is None
        #: Why the last write failed (server gone, disk full) until a write commits again.
        self.write_failure: str | None = None
        self._write_listeners: list[Callable[[str | None], None]] = []
        #: The reconnect backoff: the last wait (0 while connected), when the next try may be, why
        #: the last one failed (the answer until then).
        self._backoff_s = 0.0
        self._retry_at = 0.0
        self._retry_reason = ""
        self._watchers = Watchers()
        self._follower: notify.Follower | None = None
        self._token = notify.new_token()
        self._turn: asyncio.Task[None] | None = None  # a sharded start's turn, ending

    @property
    def readonly(self) -> bool:
        return self._readonly

    def now_ms(self) -> int:
        return self._clock()

    @contextlib.asynccontextmanager
    async def startup_window(self) -> AsyncIterator[None]:
        """Around a sharded collector's gateway start: its turn among the collectors of this
        store (console/store/postgres/startup.py), held a while longer in the background."""
        conn = await take_turn(self._dsn, self.where, self._connect_options)
        try:
            yield
        finally:
            self._turn = asyncio.create_task(end_turn(conn), name="startup turn")

    async def check_leading(self) -> None:
        """DeposedError unless the stored epoch is still this collector's (a read on the pool;
        a store that collects nothing leads nothing and passes)."""
        if self.leadership is not None:
            async with self.reading() as conn:
                await self.leadership.check(conn)

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._follower is not None:
            await self._follower.stop()
        if self._turn is not None:
            self._turn.cancel()  # the turn's connection closes: the next collector may start
            with contextlib.suppress(asyncio.CancelledError):
                await self._turn
        if self.leadership is not None:
            await self.leadership.close()
        if self._w is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._w.close(), 5)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._pool.close(), 5)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- reading ------------------------------------------------------------------------------------

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        """All rows of a read, on a pooled connection (StoreError with one line when it fails)."""
        return await self._read(lambda c: c.fetch(sql, *args))

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        return await self._read(lambda c: c.fetchrow(sql, *args))

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._read(lambda c: c.fetchval(sql, *args))

    async def _read(self, run: Callable[[asyncpg.Connection], Awaitable[Any]]) -> Any:
        if self.closed:
            raise ValueError("the store is closed")
        try:
            async with self._pool.acquire() as conn:
                return await run(conn)
        except (asyncpg.PostgresError, *CONNECTION_ERRORS) as e:
            raise StoreError(describe(e, self.where)) from None

    @contextlib.asynccontextmanager
    async def reading(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection for several reads in one snapshot (wrap them in a transaction)."""
        if self.closed:
            raise ValueError("the store is closed")
        try:
            async with self._pool.acquire() as conn:
                yield conn
        except (asyncpg.PostgresError, *CONNECTION_ERRORS) as e:
            raise StoreError(describe(e, self.where)) from None

    # -- listeners ------------------------------------------------------------------------------------

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` after every committed batch; returns a function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _notify(self, result: IngestResult) -> None:
        """Inside a transaction: told in its notification, and to the listeners once it commits.
        Outside one: to the listeners now."""
        batch = notify.current.get()
        if batch is not None and batch.owner is self:
            batch.results.append(result)
            return
        for listener in list(self._listeners):
            listener(result)
        self._watchers.tell(result)

    def _note(self, kind: str) -> None:
        """The open transaction changed ``kind`` ("names", "alerts", "state"): said in its
        notification, so other consoles re-read only that."""
        batch = notify.current.get()
        if batch is not None and batch.owner is self:
            batch.kinds.add(kind)

    async def watch(self, callback: WatchCallback, on_link: LinkCallback | None = None) -> Callable[[], None]:
        """Own batches as listeners get them; other writers' commits through LISTEN on a
        connection of the store's own (``notify.py``), started by the first watch."""
        unsubscribe = self._watchers.add(callback, on_link)
        if self._follower is None and not self.closed:
            self._follower = notify.Follower(self._dsn, self.where, self._connect_options, self._token, self._watchers)
            await self._follower.start()
        return unsubscribe

    def add_write_listener(self, listener: Callable[[str | None], None]) -> Callable[[], None]:
        """Told the reason when writes start failing (server gone, disk full), None when one
        commits again. Returns the unsubscribe function."""
        self._write_listeners.append(listener)
        return lambda: self._write_listeners.remove(listener) if listener in self._write_listeners else None

    def _write_state(self, failure: str | None) -> None:
        if failure != self.write_failure:
            self.write_failure = failure
            for listener in list(self._write_listeners):
                listener(failure)

    # -- writing --------------------------------------------------------------------------------------

    async def _writer(self) -> asyncpg.Connection:
        if self._readonly:
            raise StoreError(f"{self.where} is open read-only")
        if self._w is None or self._w.is_closed():
            # The server went away since the last write: a new connection, not sooner than the
            # backoff allows (until then, the last reason). The collector's lock is not the
            # writer's (leadership.py): the fence tells whether this store still leads.
            self._w = None
            now = time.monotonic()
            if now < self._retry_at:
                raise StoreError(self._retry_reason)
            try:
                conn = await connect(self._dsn, self.where, server_settings=WRITER_SETTINGS, **self._connect_options)
            except StoreError as e:
                raise self._reconnect_failed(str(e)) from None
            self._w = conn
            self._backoff_s = 0.0
            self._retry_at = 0.0
        return self._w

    def _reconnect_failed(self, reason: str) -> StoreError:
        """Back off (the next try waits longer, up to RECONNECT_MAX_S); the error to raise."""
        self._backoff_s = min(RECONNECT_MAX_S, self._backoff_s * 2 or RECONNECT_FIRST_S)
        self._retry_at = time.monotonic() + self._backoff_s
        self._retry_reason = reason
        return StoreError(reason)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        """One transaction on the writer, rolled back on any error or cancel. A lost server or a
        full disk raises StoreFullError (degraded: retry later), anything else StoreError."""
        async with self._write_lock:
            if self.leadership is not None and self.leadership.deposed is not None:
                raise DeposedError(self.leadership.deposed)
            try:
                conn = await self._writer()
            except StoreError as e:
                raise self._failed(str(e)) from None
            tx = conn.transaction()
            try:
                await tx.start()
            except (asyncpg.PostgresError, *CONNECTION_ERRORS) as e:
                raise self._write_error(e) from None
            try:
                if self.leadership is not None:
                    await self.leadership.fence(conn)  # first: a deposed collector commits nothing
                with notify.telling(self) as batch:
                    yield conn
                    await notify.send(conn, self._token, batch)  # one per transaction, before COMMIT
            except BaseException as e:
                with contextlib.suppress(Exception):
                    await asyncio.shield(tx.rollback())
                if isinstance(e, (asyncpg.PostgresError, *CONNECTION_ERRORS)):
                    raise self._write_error(e) from None
                raise
            try:
                await asyncio.shield(tx.commit())
            except (asyncpg.PostgresError, *CONNECTION_ERRORS) as e:
                # A COMMIT whose answer was lost may have committed: callers' writes are idempotent
                # (entries by id, records by their own ids), so retrying them is safe.
                raise self._write_error(e) from None
            self._write_state(None)
            for result in batch.results:  # told after COMMIT, never before
                self._notify(result)

    def _write_error(self, e: BaseException) -> StoreError:
        text = describe(e, self.where)
        if isinstance(e, (asyncpg.DiskFullError, *CONNECTION_ERRORS)):
            if self._w is not None and not self._w.is_closed() and isinstance(e, CONNECTION_ERRORS):
                self._w.terminate()
            return self._failed(text)
        return StoreError(text)

    def _failed(self, text: str) -> StoreFullError:
        failed = StoreFullError(text)
        self._write_state(text)
        return failed
