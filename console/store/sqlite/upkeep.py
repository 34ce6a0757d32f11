"""Upkeep: settings kept in the store, health checks (SQLite's ``quick_check``, a write probe),
whether another process committed (and following it: ``watch``), and overall counts."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from typing import Any

from console.store.connection import connect, one, rows
from console.store.sqlite.core import StoreCore
from console.store.watching import LinkCallback, VersionPoller, WatchCallback

#: What quick_check runs (tests swap in a slow statement to prove it can be stopped).
QUICK_CHECK_SQL = "PRAGMA quick_check"


class UpkeepPart(StoreCore):
    """Settings, health and counts."""

    async def setting(self, key: str) -> str | None:
        row = await one(self._r, "SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else str(row[0])

    async def set_setting(self, key: str, value: str | None) -> None:
        async with self.transaction() as db:
            if value is None:
                await db.execute("DELETE FROM meta WHERE key = ?", (key,))
            else:
                await db.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?)"
                    " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (key, value),
                )

    async def probe_write(self) -> None:
        """A write that leaves nothing behind: whether a commit goes through now (StoreFullError
        if not). Used while degraded, when nothing else may be writing."""
        async with self.transaction() as db:
            await db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('write_probe', '1')")
            await db.execute("DELETE FROM meta WHERE key = 'write_probe'")

    async def quick_check(self) -> str | None:
        """SQLite's own ``quick_check``: None when healthy, else the first problem (one line).

        It reads the whole file (seconds at a million entries), so it gets a connection of its
        own: the feed's queries must not queue behind it.
        """
        db = await connect(self.path, readonly=True)
        try:
            found = await rows(db, QUICK_CHECK_SQL)
        except sqlite3.DatabaseError as e:
            return str(e)
        except asyncio.CancelledError:
            # The check runs on in aiosqlite's thread, and closing queues behind it: quitting the
            # console a moment after opening a big store waited seconds for it. Stop it now.
            await db.interrupt()
            raise
        finally:
            await db.close()
        problems = [" ".join(str(r[0]).split()) for r in found if r[0] != "ok"]
        return problems[0] if problems else None

    async def data_version(self) -> int:
        """Changes whenever another connection (another process's collector) commits."""
        row = await one(self._r, "PRAGMA data_version")
        return int(row[0]) if row else 0

    async def watch(self, callback: WatchCallback, on_link: LinkCallback | None = None) -> Callable[[], None]:
        """Own batches as listeners get them; another process's commits (only possible when
        browsing read-only: a writing store holds the collector's lock) by polling
        data_version, which moves when another connection commits."""
        unsubscribe = self._watchers.add(callback, on_link)
        if self.readonly and self._poller is None and not self.closed:
            self._poller = VersionPoller(self.data_version, self._watchers, self.poll_s)
            await self._poller.start()
        return unsubscribe

    async def stats(self) -> dict[str, Any]:
        total, oldest, newest = await one(self._r, "SELECT count(*), min(id), max(id) FROM audit_entries")
        (open_gaps,) = await one(self._r, "SELECT count(*) FROM gaps WHERE status IN ('open', 'failed')")
        return {"entries": total, "oldest_id": oldest, "newest_id": newest, "open_gaps": open_gaps}
