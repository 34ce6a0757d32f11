"""Retention, backend-neutral: what a prune did (:class:`PruneResult`), how far back a store
reaches in words, and the task that applies retention in a collecting process. The pruning
itself is the store's (:meth:`AuditStore.prune`): it writes the chain's prune and compact links
in the same transactions as the deletions."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import orjson

from console.model.retention import Retention
from console.model.times import day
from console.store.chain import FINAL_SQL
from console.store.errors import StoreError

if TYPE_CHECKING:
    from console.store.api import AuditStore

log = logging.getLogger("console.store.integrity")


#: What retention removes, per guild, for both backends: (label, table, "outside the window" with
#: ``{g}`` the guild and ``{cut}`` the cut-off, and whether that cut-off is the id or the ms).
PRUNED: Final = (
    ("entries", "audit_entries", "guild_id = {g} AND id < {cut}", "id"),
    ("decisions", "decisions", "guild_id = {g} AND id < {cut}", "id"),
    ("role changes", "role_changes", f"guild_id = {{g}} AND id < {{cut}} AND state IN {FINAL_SQL}", "id"),
    ("gaps", "gaps", "guild_id = {g} AND id < {cut} AND status != 'open'", "id"),
    ("alerts", "alerts", "guild_id = {g} AND id < {cut}", "id"),
    ("notes", "notes", "guild_id = {g} AND id < {cut}", "id"),
    ("break-glass sessions", "break_glass", "guild_id = {g} AND expires_at < {cut}", "ms"),
    ("parse failures", "parse_failures", "guild_id = {g} AND received_at < {cut}", "ms"),
)


def prune_note(cutoff_ms: int, days: int, removed: dict[str, int]) -> str:
    """The note of a prune link: the window applied and what it removes."""
    return orjson.dumps({"cutoff_ms": cutoff_ms, "days": days, "removed": removed}).decode()


def compact_from(first_seq: int | None, inside: int | None, newest_prune: int | None) -> int | None:
    """The first link a compaction keeps (the first of a record inside the window, or the newest
    prune link, which says the older records may be gone), or None when nothing can go."""
    candidates = [s for s in (inside, newest_prune) if s is not None]
    if first_seq is None or not candidates:
        return None
    keep_seq = min(candidates)
    return keep_seq if keep_seq > first_seq else None


def compact_note(keep_seq: int, base: bytes, covered: int | None) -> str:
    """The note of a compact link: where the remaining links start and the hash they start from."""
    return orjson.dumps({"links_before": keep_seq, "base": base.hex(), "covered_below": covered}).decode()


def reach_text(oldest_ms: int | None, pruned_before: dict[int, int]) -> str:
    """How far back the store reaches, for verify, prune and docs/integrity.md's promise."""
    if oldest_ms is None and not pruned_before:
        return "the store is empty"
    text = f"the store reaches back to {day(oldest_ms)}" if oldest_ms is not None else "no records kept"
    if pruned_before:
        newest = max(pruned_before.values())
        text += f" (retention removed what was older than {day(newest)}" + (
            f" in {len(pruned_before)} guilds)" if len(pruned_before) > 1 else ")"
        )
    return text


@dataclass(slots=True)
class PruneResult:
    guild_id: int
    days: int
    cutoff_ms: int
    removed: dict[str, int]
    dry_run: bool = False

    @property
    def total(self) -> int:
        return sum(self.removed.values())

    def describe(self) -> str:
        verb = "would remove" if self.dry_run else "removed"
        what = ", ".join(f"{n:,} {k}" for k, n in self.removed.items() if n) or "nothing"
        return f"guild {self.guild_id}: keeps {self.days} days (since {day(self.cutoff_ms)}): {verb} {what}"


class RetentionTask:
    """Applies retention in a collecting process: soon after start, then every ``interval_s``."""

    def __init__(
        self,
        store: AuditStore,
        retention: Retention,
        *,
        interval_s: float = 3600.0,
        first_delay_s: float = 30.0,
        on_pruned: Callable[[list[PruneResult]], Awaitable[None] | None] | None = None,
    ) -> None:
        self.store = store
        self.retention = retention
        self.interval_s = interval_s
        self.first_delay_s = first_delay_s
        self.on_pruned = on_pruned
        self.runs = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> RetentionTask:
        if self._task is None and not self.retention.forever and not self.store.readonly:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="retention")
        return self

    async def run_once(self) -> list[PruneResult]:
        results = await self.store.prune(self.retention)
        self.runs += 1
        results = [r for r in results if r.total]
        if results:
            for r in results:
                log.info("retention: %s", r.describe())
            if self.on_pruned is not None:
                maybe = self.on_pruned(results)
                if asyncio.iscoroutine(maybe):
                    await maybe
        return results

    async def _run(self) -> None:
        delay = self.first_delay_s
        while True:
            await asyncio.sleep(delay)
            delay = self.interval_s
            try:
                await self.run_once()
            except StoreError as e:
                log.warning("retention: prune failed, will retry: %s", e)
            except Exception:
                log.exception("retention: prune failed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
            self._task = None
