"""The PostgreSQL store: the same records as the SQLite store, on a server many consoles share.
Its jobs are parts over one core (``core.py``), as the SQLite store's are; this puts them together
and opens the database. It implements :class:`console.store.api.AuditStore`."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import asyncpg

from console.model.location import display_url
from console.model.times import wall_clock_ms
from console.store.errors import StoreError
from console.store.postgres.actions import ActionsPart
from console.store.postgres.alerts import AlertsPart
from console.store.postgres.browse import BrowsePart
from console.store.postgres.connect import (
    CONNECTION_ERRORS,
    READING_SETTINGS,
    WRITER_SETTINGS,
    connect,
    describe,
    prepare,
)
from console.store.postgres.entries import EntriesPart
from console.store.postgres.leadership import Leadership
from console.store.postgres.links import adopt
from console.store.postgres.notes import NotesPart
from console.store.postgres.prune import PrunePart
from console.store.postgres.reports import ReportsPart
from console.store.postgres.sync import SyncPart
from console.store.postgres.upkeep import UpkeepPart

#: Seconds a statement may go unanswered before its connection counts as lost.
COMMAND_TIMEOUT = 30.0


class PgStore(
    EntriesPart, SyncPart, ActionsPart, AlertsPart, NotesPart, ReportsPart, BrowsePart, PrunePart, UpkeepPart
):
    """Audit entries, names, gaps and sync state, decisions and role changes, alerts: the
    console's records in a PostgreSQL database."""

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        readonly: bool = False,
        clock: Callable[[], int] = wall_clock_ms,
        collector_lock: bool = True,
        names: bool = True,
        password: str | None = None,
        standby: Callable[[str], None] | None = None,
        on_deposed: Callable[[str], None] | None = None,
        shard_group: str = "",
        **_ignored: Any,
    ) -> PgStore:
        """Open (creating the tables and migrating unless ``readonly``). Raises StoreError with one
        line. ``collector_lock`` False writes beside a running collector (``role grant`` hands it
        a request). A collecting store leads (``leadership.py``): another collector leading is
        CollectorRunningError, or with ``standby``, told who leads (a line) and waited for until
        this one takes over; ``shard_group`` (``ShardGroup.key``) leads that group only, beside the
        collectors of other groups. ``on_deposed``: the line when another collector took over since
        (nothing more commits). Options only the SQLite store knows (``quick_check``, ``busy_timeout``) are
        accepted and have no meaning here."""
        where = display_url(url)
        # A statement unanswered this long means the server or the network is gone without a word
        # (a silent cut): the write fails as a lost connection (degraded, reconnect) instead of
        # waiting on TCP's own timeouts, a quarter of an hour.
        options: dict[str, Any] = {"command_timeout": COMMAND_TIMEOUT}
        if password is not None:
            options["password"] = password
        settings = dict(READING_SETTINGS)
        if readonly:
            settings["default_transaction_read_only"] = "on"
        writer = None
        pool = None
        leadership = None
        try:
            first = await connect(url, where, server_settings=WRITER_SETTINGS, **options)
            try:
                await prepare(first, where, readonly=readonly)
                if not readonly and collector_lock:
                    leadership = Leadership(url, where, options, clock, on_deposed, scope=shard_group)
                    await leadership.take(standby)
            except BaseException:
                await first.close()
                raise
            if readonly:
                await first.close()
            else:
                writer = first
            try:
                pool = await asyncpg.create_pool(
                    url, min_size=1, max_size=4, server_settings=settings, timeout=10, **options
                )
            except (asyncpg.PostgresError, *CONNECTION_ERRORS) as e:
                raise StoreError(describe(e, where, connecting=True)) from None
            store = cls(where, url, writer, pool, clock, options, leadership)
            if leadership is not None:
                leadership.add_deposed_listener(store._write_state)  # the collector's degraded line
            if not readonly:
                async with store.transaction() as db:
                    await adopt(db, clock())  # links records older than the chain, once
            if names and hasattr(store, "_load_names"):
                await store._load_names()
            return store
        except BaseException:
            if leadership is not None:
                await leadership.close()
            if writer is not None:
                with contextlib.suppress(Exception):
                    await writer.close()
            if pool is not None:
                with contextlib.suppress(Exception):
                    await pool.close()
            raise
