"""Following a store's commits wherever they were made (``AuditStore.watch``): the watchers a store
keeps, told of its own batches directly and of other writers' commits by the backend's own means —
the SQLite store polls its ``data_version`` (:class:`VersionPoller`), the PostgreSQL store
listens for notifications (``postgres/notify.py``). Backend-neutral."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from console.store.errors import StoreError
from console.store.results import IngestResult

log = logging.getLogger(__name__)

WatchCallback = Callable[[IngestResult], None]
#: Told a reason when the store can no longer follow other writers (its server lost), None
#: when it follows again.
LinkCallback = Callable[[str | None], None]

#: How often a SQLite store browsed beside another process's collector reads its data_version.
POLL_S = 1.0


def catch_up(kinds: frozenset[str] = frozenset()) -> IngestResult:
    """Something was committed elsewhere (``kinds``: what, empty when not known): read on from
    your cursor."""
    result = IngestResult()
    result.elsewhere = True
    result.kinds = kinds
    return result


class Watchers:
    """The callbacks of :meth:`AuditStore.watch` and whether the store follows others now."""

    def __init__(self) -> None:
        self._subs: list[tuple[WatchCallback, LinkCallback | None]] = []
        #: Why the store cannot follow other writers now; None while it does.
        self.lost: str | None = None

    def __len__(self) -> int:
        return len(self._subs)

    def add(self, callback: WatchCallback, on_link: LinkCallback | None) -> Callable[[], None]:
        sub = (callback, on_link)
        self._subs.append(sub)
        if on_link is not None and self.lost is not None:
            on_link(self.lost)
        return lambda: self._subs.remove(sub) if sub in self._subs else None

    def tell(self, result: IngestResult) -> None:
        for callback, _ in list(self._subs):
            callback(result)

    def link(self, lost: str | None) -> None:
        """The link to other writers was lost (a reason) or is back (None): told on a change
        only; when it is back, every watcher is told to catch up (what others committed
        meanwhile was told to nobody)."""
        if lost == self.lost:
            return
        was_lost, self.lost = self.lost, lost
        for _, on_link in list(self._subs):
            if on_link is not None:
                on_link(lost)
        if lost is None and was_lost is not None:
            self.tell(catch_up())


class VersionPoller:
    """Reads a version that moves when another connection commits, every ``interval_s``, and
    tells the watchers to catch up when it moved. The first version is read before
    :meth:`start` returns, so a commit after it is never missed."""

    def __init__(self, read_version: Callable[[], Awaitable[int]], watchers: Watchers, interval_s: float) -> None:
        self._read = read_version
        self._watchers = watchers
        self._interval = interval_s
        self._version = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._version = await self._read()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="store-poll")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                version = await self._read()
            except (StoreError, ValueError) as e:  # ValueError: the store closed meanwhile
                if "closed" in str(e).lower():
                    return
                self._watchers.link(str(e))
                continue
            was_lost = self._watchers.lost is not None
            self._watchers.link(None)  # back: that tells every watcher to catch up
            if version != self._version:
                self._version = version
                if not was_lost:
                    self._watchers.tell(catch_up())
