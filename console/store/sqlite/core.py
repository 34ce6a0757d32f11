"""The SQLite store's core: one aiosqlite connection that writes (batched, ``BEGIN IMMEDIATE``)
and one that reads (WAL lets the UI read while a batch commits), the collector's lock, the
listeners told after each commit. Nothing is acknowledged before COMMIT.

The store's jobs are parts built on this core (``entries.py``, ``names.py``, ``sync.py``,
``actions.py``, ``alerts.py``, ``upkeep.py``, ``browse.py``, ``prune.py``); ``store.py`` puts
them together and opens the file."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Self

import aiosqlite

from console.model.snowflake import SnowflakeFactory
from console.model.times import wall_clock_ms as wall_clock_ms  # re-exported for the store's callers
from console.store import watching
from console.store.connection import connect, describe, prepare
from console.store.errors import CollectorRunningError, StoreError, StoreFullError
from console.store.results import IngestResult
from console.store.watching import VersionPoller, Watchers

Listener = Callable[[IngestResult], None]


class Lock:
    """An advisory lock beside the database: one collecting console per file."""

    def __init__(self, path: Path) -> None:
        self.path = path.with_name(path.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as e:
            raise StoreError(f"cannot create lock file {self.path}: {e.strerror or e}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise CollectorRunningError(
                f"{self.path.with_suffix('')} is in use by another Audit Console (pid {holder}); "
                "browse it read-only with `audit-console open`"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
                os.close(self._fd)
            self._fd = None


class StoreCore:
    """Connections, transactions and listeners: what every part of the store writes through."""

    def __init__(
        self,
        path: Path,
        writer: aiosqlite.Connection | None,
        reader: aiosqlite.Connection,
        lock: Lock | None,
        clock: Callable[[], int],
    ) -> None:
        self.path = path
        self._w = writer
        self._r = reader
        self._lock = lock
        self._clock = clock
        self._write_lock = asyncio.Lock()
        self._listeners: list[Listener] = []
        #: kind ("user", "role", "channel", "guild") → id → name.
        self._names: dict[str, dict[int, str]] = {}
        self._names_complete = False  # every stored name is in the cache (not only some)
        self.ids = SnowflakeFactory()
        self.closed = False
        #: Why the last write failed (a full disk, an I/O error) until a write commits again: the
        #: console is degraded meanwhile, and the reconciler calls nothing on Discord.
        self.write_failure: str | None = None
        self._write_listeners: list[Callable[[str | None], None]] = []
        self._scan: aiosqlite.Connection | None = None  # see scanner()
        self._scan_opening = asyncio.Lock()
        self._watchers = Watchers()
        self._poller: VersionPoller | None = None
        #: How often a read-only store's watch reads data_version (another process's commits).
        self.poll_s = watching.POLL_S

    async def close(self) -> None:
        """Close both connections (aiosqlite's thread keeps the process alive otherwise)."""
        if self.closed:
            return
        self.closed = True
        if self._poller is not None:
            await self._poller.stop()
        for db in (self._scan, self._r):
            if db is not None:
                # A read still running (an exact count or the sparse index over a million
                # entries: ~1 s) has nobody left to answer, and the close would queue behind it.
                # Writes are never interrupted.
                with contextlib.suppress(Exception):
                    await db.interrupt()
        # Readers first: the writer, closing last, checkpoints and removes the WAL, so a cleanly
        # closed store is one self-contained file (a read-only connection cannot do that).
        for db in (self._scan, self._r, self._w):
            if db is not None:
                with contextlib.suppress(Exception):
                    await db.close()
        if self._lock:
            self._lock.release()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def scanner(self) -> aiosqlite.Connection:
        """A read connection of its own for scans of a whole filter — exact counts, the sparse
        index, the sparkline. At a million entries they read for up to a second, and the page
        fetches and lookups on ``reader`` must not queue behind them (keys waited a second after
        opening a big store). Opened on first use."""
        async with self._scan_opening:
            if self.closed:
                raise ValueError("the store is closed")
            if self._scan is None:
                db = await connect(self.path, readonly=True)
                try:
                    await prepare(db, self.path, readonly=True, quick_check=False)
                except BaseException:
                    await db.close()
                    raise
                self._scan = db
            return self._scan

    @property
    def reader(self) -> aiosqlite.Connection:
        """The read connection (WAL: it reads while the writer commits)."""
        return self._r

    @property
    def readonly(self) -> bool:
        return self._w is None

    def now_ms(self) -> int:
        return self._clock()

    async def check_leading(self) -> None:
        """One collector per file (the lock file): it always leads."""

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` after every committed batch; returns a function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _notify(self, result: IngestResult) -> None:
        for listener in list(self._listeners):
            listener(result)
        self._watchers.tell(result)

    # -- writing --------------------------------------------------------------------------------

    def _writer(self) -> aiosqlite.Connection:
        if self._w is None:
            raise StoreError(f"{self.path} is open read-only")
        return self._w

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` on the writer, rolled back on any error or cancel."""
        db = self._writer()
        async with self._write_lock:
            begin = asyncio.ensure_future(db.execute("BEGIN IMMEDIATE"))
            try:
                await asyncio.shield(begin)
            except asyncio.CancelledError:
                # The BEGIN goes on in aiosqlite's thread: undo it once done, then stay cancelled
                # (otherwise the next writer meets "cannot start a transaction within a transaction").
                with contextlib.suppress(Exception):
                    await begin
                    await db.execute("ROLLBACK")
                raise
            except sqlite3.Error as e:
                raise self._write_error(e) from None
            try:
                yield db
            except BaseException as e:
                with contextlib.suppress(Exception):
                    # Shielded: a cancelled task must never leave the transaction open.
                    await asyncio.shield(db.execute("ROLLBACK"))
                # A big transaction spills pages before COMMIT, so a full disk can fail any
                # statement: it must reach callers as the StoreFullError they handle.
                if isinstance(e, sqlite3.Error) and isinstance(failed := self._write_error(e), StoreFullError):
                    raise failed from None
                raise
            try:
                await asyncio.shield(db.execute("COMMIT"))
            except sqlite3.Error as e:
                with contextlib.suppress(Exception):
                    await db.execute("ROLLBACK")
                raise self._write_error(e) from None
            self._write_state(None)

    def _write_error(self, e: sqlite3.Error) -> StoreError:
        low = str(e).lower()
        if "full" in low or "i/o" in low or "disk" in low:
            failed = StoreFullError(describe(e, self.path))
            self._write_state(str(failed))
            return failed
        return StoreError(describe(e, self.path))

    def add_write_listener(self, listener: Callable[[str | None], None]) -> Callable[[], None]:
        """Told the reason when writes start failing (full disk, I/O error), None when one commits
        again. Returns the unsubscribe function."""
        self._write_listeners.append(listener)
        return lambda: self._write_listeners.remove(listener) if listener in self._write_listeners else None

    def _write_state(self, failure: str | None) -> None:
        if failure != self.write_failure:
            self.write_failure = failure
            for listener in list(self._write_listeners):
                listener(failure)


async def close_all(
    writer: aiosqlite.Connection | None, reader: aiosqlite.Connection | None, lock: Lock | None
) -> None:
    for db in (reader, writer):
        if db is not None:
            with contextlib.suppress(Exception):
                await db.close()
    if lock:
        lock.release()
