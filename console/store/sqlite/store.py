"""The SQLite store: one file in WAL mode, one batched writer, the default backend. Its jobs are
parts (entries and names, sync state and gaps, decisions and role changes, alerts, reports,
browsing, retention, upkeep) over one core of connections and listeners; this puts them
together and opens the file. It implements :class:`console.store.api.AuditStore`."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from console.store.connection import check_file, connect, describe, prepare
from console.store.errors import StoreError
from console.store.sqlite.actions import ActionsPart
from console.store.sqlite.alerts import AlertsPart
from console.store.sqlite.browse import BrowsePart
from console.store.sqlite.core import Lock, close_all, wall_clock_ms
from console.store.sqlite.entries import EntriesPart
from console.store.sqlite.links import adopt
from console.store.sqlite.notes import NotesPart
from console.store.sqlite.prune import PrunePart
from console.store.sqlite.reports import ReportsPart
from console.store.sqlite.sync import SyncPart
from console.store.sqlite.upkeep import UpkeepPart


class Store(EntriesPart, SyncPart, ActionsPart, AlertsPart, NotesPart, ReportsPart, BrowsePart, PrunePart, UpkeepPart):
    """Audit entries, names, gaps and sync state, decisions and role changes, alerts: the
    console's records in one SQLite file."""

    @classmethod
    async def open(
        cls,
        path: str | Path,
        *,
        readonly: bool = False,
        quick_check: bool = True,
        clock: Callable[[], int] = wall_clock_ms,
        busy_timeout: float = 5.0,
        collector_lock: bool = True,
        names: bool = True,
    ) -> Store:
        """Open (creating and migrating unless ``readonly``). Raises StoreError with one line.

        ``busy_timeout`` (seconds) is how long a statement waits for another program's lock
        before failing with "locked". ``collector_lock`` False writes beside a running
        collector (``role grant`` hands it a request); SQLite serialises the writes.

        ``names`` False: the names cache starts empty, for :meth:`load_names_for` and then
        :meth:`reload_names` (the console's start: a big guild's members take a while to read).
        """
        p = Path(path).expanduser()  # noqa: ASYNC240 - once per open, before any connection exists
        check_file(p, must_exist=readonly, write=not readonly)
        lock = None
        if not readonly and collector_lock:
            # The real file's name: a second console reaching it through a symlink meets the same lock.
            lock = Lock(p.resolve())
            lock.acquire()
        writer = reader = None
        try:
            busy = f"PRAGMA busy_timeout = {max(0, int(busy_timeout * 1000))}"
            if not readonly:
                writer = await connect(p, readonly=False)
                await writer.execute(busy)
                await prepare(writer, p, readonly=False, quick_check=quick_check)
                await writer.execute(busy)  # prepare() sets its own default
                try:
                    await adopt(writer, clock())  # links records older than the chain, once
                except sqlite3.Error as e:
                    raise StoreError(describe(e, p)) from None
            reader = await connect(p, readonly=True)
            await reader.execute(busy)
            await prepare(reader, p, readonly=True, quick_check=quick_check and readonly)
            store = cls(p, writer, reader, lock, clock)
            if names:
                await store._load_names()
            return store
        except StoreError as e:
            await close_all(writer, reader, lock)
            # One line, always: quick_check can report "*** in database main ***\nPage 3: …".
            raise type(e)(" ".join(str(e).split())) from None
        except BaseException:
            await close_all(writer, reader, lock)
            raise
