"""Backfill: REST pages with ``after=`` from the high-water mark, oldest first.

The high-water mark (hwm) means "every entry id ≤ hwm is stored". It moves only after the pages
below it are committed, and never from live events. Each run records a gap saying what may have
been missed, how much was recovered, and what lies beyond Discord's 45-day retention.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from console.ingest.names import names_from_audit_page
from console.ingest.pace import Pace
from console.ingest.source import AuditLogSource, MissingAccess, SourceError, UnreadablePage
from console.model.records import Gap
from console.model.snowflake import RETENTION_MS, to_ms
from console.model.snowflake import parse as parse_id
from console.store import AuditStore

log = logging.getLogger("console.ingest")

#: Re-read this far below the hwm: entries can surface slightly out of id order, and Discord
#: updates recent counts in place. 10 minutes, in snowflake units.
OVERLAP_IDS = (10 * 60 * 1000) << 22
PAGE = 100


@dataclass(slots=True)
class BackfillResult:
    gap: Gap
    pages: int
    recovered: int
    refreshed: int
    #: The guild refused for want of a permission (MissingAccess): retry when it may have changed.
    blocked: bool = False


class Backfiller:
    def __init__(
        self,
        store: AuditStore,
        source: AuditLogSource,
        *,
        on_progress: Callable[[int, int], None] | None = None,
        pace: Pace | None = None,
    ) -> None:
        """``on_progress(guild_id, inserted)``: after each committed page, how many entries it
        added (the header's count across guilds). ``pace``: spaces the page requests of every
        guild this backfiller reads (default: ``PAGES_PER_S``)."""
        self._store = store
        self._source = source
        self._pace = pace or Pace()
        self._locks: dict[int, asyncio.Lock] = {}
        self._on_progress = on_progress

    async def run(
        self, guild_id: int, reason: str, *, live_until: int | None = None, gap: Gap | None = None
    ) -> BackfillResult:
        """Record a gap and recover it. One backfill per guild at a time. ``gap``: one recorded
        before (an outage's, a refused backfill's) that this run recovers, so a guild blocked
        for a day keeps one gap, not one per retry."""
        lock = self._locks.setdefault(guild_id, asyncio.Lock())
        async with lock:
            if gap is None:
                gap = await self.open(guild_id, reason, live_until=live_until)
            return await self._run(guild_id, gap)

    async def open(self, guild_id: int, reason: str, *, live_until: int | None = None) -> Gap:
        """Record an open gap from where collecting stopped (the hwm, or ``live_until``)."""
        store = self._store
        hwm = await store.hwm(guild_id)
        if hwm is None and await store.max_entry_id(guild_id) is None:
            # Entries stored live before any backfill completed still count as a starting point.
            reason = "first-sync"
        # Where the gateway last delivered (or the hwm, if later). A guild whose log was empty at
        # every backfill so far has no hwm, but live_until still says when the connection dropped.
        started_at = live_until
        if hwm is not None:
            started_at = max(to_ms(hwm), live_until or 0)
        return await store.open_gap(guild_id, reason, from_id=hwm, started_at=started_at)

    async def _run(self, guild_id: int, gap: Gap) -> BackfillResult:
        store = self._store
        hwm_start = await store.hwm(guild_id)
        started_at = gap.started_at
        cursor = max(0, hwm_start - OVERLAP_IDS) if hwm_start is not None else 0
        recovered, refreshed, pages = gap.recovered, gap.refreshed, 0
        newest = hwm_start or 0
        try:
            while True:
                await self._pace.wait()
                page = await self._source.fetch_audit_log(guild_id, after=cursor, limit=PAGE)
                raws = _entries_of(page)
                for kind, items in names_from_audit_page(page).items():
                    await store.upsert_names(guild_id, kind, items)
                result = await store.add_entries(raws, source="backfill", guild_id=guild_id)
                pages += 1
                recovered += len(result.inserted)
                refreshed += len(result.updated)
                if self._on_progress:
                    self._on_progress(guild_id, len(result.inserted))
                ids = [i for i in (parse_id(r.get("id")) for r in raws if isinstance(r, Mapping)) if i is not None]
                if not ids or max(ids) <= cursor:
                    break
                cursor = max(ids)
                newest = max(newest, cursor)
                if len(raws) < PAGE:
                    break
        except SourceError as e:
            log.info("backfill of guild %s failed: %s", guild_id, e)  # reported through the gap
            if isinstance(e, UnreadablePage):
                await store.add_parse_failure(guild_id, "backfill", str(e), e.raw)
            gap = await store.close_gap(gap, status="failed", recovered=recovered, refreshed=refreshed, error=str(e))
            return BackfillResult(gap, pages, recovered, refreshed, blocked=isinstance(e, MissingAccess))
        # Only now, with every page committed, may the high-water mark move.
        if newest:
            await store.set_hwm(guild_id, newest)
        beyond = 0
        if started_at is not None:
            floor = store.now_ms() - RETENTION_MS
            beyond = max(0, floor - started_at)
        gap = await store.close_gap(
            gap,
            status="partial" if beyond else "recovered",
            recovered=recovered,
            refreshed=refreshed,
            beyond_retention_ms=beyond,
        )
        log.info("backfill of guild %s: %d pages, %d recovered, %d refreshed", guild_id, pages, recovered, refreshed)
        return BackfillResult(gap, pages, recovered, refreshed)

    async def recheck(self, guild_id: int) -> int:
        """Re-read the newest page (Discord updates message-delete and voice counts in place).

        Returns how many stored entries changed. Records no gap: nothing can be missing here.
        """
        await self._pace.wait()
        page = await self._source.fetch_audit_log(guild_id, limit=PAGE)
        result = await self._store.add_entries(_entries_of(page), source="backfill", guild_id=guild_id)
        return len(result.updated) + len(result.inserted)


def _entries_of(page: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    entries = page.get("audit_log_entries") if isinstance(page, Mapping) else None
    if not isinstance(entries, list):
        try:
            raw = orjson.dumps(page, option=orjson.OPT_NON_STR_KEYS)
        except (TypeError, orjson.JSONEncodeError):
            raw = repr(page).encode("utf-8", "backslashreplace")
        raise UnreadablePage("Discord sent an audit-log page without audit_log_entries", raw)
    return entries
