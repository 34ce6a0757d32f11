"""The one batched writer: live payloads are coalesced (≤ max_batch rows or max_delay) into one
transaction each. Nothing is acknowledged before COMMIT; on a full disk the batch is kept in
memory (bounded) and retried, and the writer reports a degraded state."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from console.store import AuditStore
from console.store.errors import StoreError

log = logging.getLogger("console.ingest")


class BatchWriter:
    def __init__(
        self,
        store: AuditStore,
        *,
        max_batch: int = 500,
        max_delay: float = 0.05,
        max_buffer: int = 200_000,
        on_degraded: Callable[[str | None], None] | None = None,
        on_overflow: Callable[[int], None] | None = None,
    ) -> None:
        self._store = store
        self._max_batch = max_batch
        self._max_delay = max_delay
        self._max_buffer = max_buffer
        self._buf: deque[tuple[int | None, Mapping[str, Any], str]] = deque()
        self._wake = asyncio.Event()
        self._submitted = 0
        self._committed = 0
        self._progress = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._on_degraded = on_degraded
        self._on_overflow = on_overflow
        self.degraded: str | None = None
        self.dropped = 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="batch-writer")

    def submit(self, guild_id: int | None, raw: Mapping[str, Any], source: str = "gateway") -> None:
        """Queue one raw entry; never blocks (called from gateway listeners)."""
        if len(self._buf) >= self._max_buffer:
            # Beyond the bound we drop the oldest and say so: the gap is then backfilled.
            dropped_gid, _, _ = self._buf.popleft()
            self.dropped += 1
            self._committed += 1  # counts as settled for flush() purposes
            if self._on_overflow and dropped_gid is not None:
                self._on_overflow(dropped_gid)
        self._buf.append((guild_id, raw, source))
        self._submitted += 1
        self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._buf)

    async def flush(self, timeout: float | None = None) -> None:
        """Wait until everything submitted so far is committed (or given up on)."""
        target = self._submitted
        async with self._progress:
            await asyncio.wait_for(self._progress.wait_for(lambda: self._committed >= target), timeout)

    async def stop(self, timeout: float = 10.0) -> None:
        """Flush what is queued, then end the task."""
        if self._task is None:
            return
        with contextlib.suppress(asyncio.TimeoutError, StoreError):
            await self.flush(timeout)
        self._stopping = True
        self._wake.set()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            if len(self._buf) < self._max_batch and not self._stopping:
                await asyncio.sleep(self._max_delay)  # coalesce a burst into one transaction
            self._wake.clear()
            while self._buf:
                batch = [self._buf.popleft() for _ in range(min(self._max_batch, len(self._buf)))]
                try:
                    await self._write(batch)
                except Exception as e:
                    # Anything else a store raised (a driver's own error) must not end this task:
                    # every later entry would be dropped unseen. Held and retried, as degraded.
                    if not isinstance(e, StoreError):
                        log.error("store write failed unexpectedly", exc_info=e)
                    self._buf.extendleft(reversed(batch))
                    self._set_degraded(str(e) if isinstance(e, StoreError) else f"store write failed: {e}")
                    await asyncio.sleep(1.0)
                    continue
                self._set_degraded(None)
                async with self._progress:
                    self._committed += len(batch)
                    self._progress.notify_all()

    async def _write(self, batch: list[tuple[int | None, Mapping[str, Any], str]]) -> None:
        groups: dict[tuple[int | None, str], list[Mapping[str, Any]]] = {}
        for gid, raw, source in batch:
            groups.setdefault((gid, source), []).append(raw)
        for (gid, source), raws in groups.items():
            await self._store.add_entries(raws, source=source, guild_id=gid)

    def _set_degraded(self, reason: str | None) -> None:
        if reason != self.degraded:
            self.degraded = reason
            if reason:
                log.error("store write failed, holding %d entries in memory: %s", len(self._buf), reason)
            else:
                log.warning("store writable again")
            if self._on_degraded:
                self._on_degraded(reason)
