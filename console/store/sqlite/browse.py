"""The timeline of every kind of record, as the feed browses it (the SQL is ``timeline.py``'s).

Page fetches, lookups and capped counts read on the reader; scans of a whole filter (exact
counts, the jump index, the activity sparkline) on the scanner, so the first never queue
behind the second."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from console.model.filters import Filter
from console.store import member_queries, timeline
from console.store.connection import describe, rows
from console.store.errors import StoreError
from console.store.results import Ref
from console.store.sqlite.core import StoreCore

if TYPE_CHECKING:
    from console.model.member import MemberCounts


class BrowsePart(StoreCore):
    """Timeline pages, records, counts, the jump index and the activity histogram."""

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[None]:
        try:
            yield
        except sqlite3.DatabaseError as e:
            raise StoreError(describe(e, self.path)) from None

    async def timeline_page(
        self, flt: Filter, *, anchor: int | None = None, offset: int = 0, limit: int = 100
    ) -> list[Ref]:
        async with self._reading():
            return await timeline.page_refs(self._r, flt, anchor=anchor, offset=offset, limit=limit)

    async def timeline_records(self, refs: Sequence[Ref]) -> list[Any]:
        async with self._reading():
            return await timeline.fetch(self._r, refs)

    async def timeline_count(
        self, flt: Filter, *, newer_than: int | None = None, up_to: int | None = None, cap: int | None = None
    ) -> int:
        async with self._reading():
            return await timeline.count(self._r, flt, newer_than=newer_than, up_to=up_to, cap=cap)

    async def timeline_total(self, flt: Filter) -> int:
        async with self._reading():
            return await timeline.count(await self.scanner(), flt)

    async def timeline_index(self, flt: Filter, every: int = 1000) -> tuple[int, list[int]]:
        async with self._reading():
            return await timeline.sparse_index(await self.scanner(), flt, every)

    async def activity(self, flt: Filter, *, start_ms: int, end_ms: int, buckets: int) -> list[int]:
        async with self._reading():
            return await timeline.histogram(
                await self.scanner(), flt, start_ms=start_ms, end_ms=end_ms, buckets=buckets
            )

    async def member_counts(self, guild_id: int, member_id: int, *, cap: int | None = None) -> MemberCounts:
        async with self._reading():
            return await member_queries.member_counts(
                lambda sql, args: rows(self._r, sql, args), guild_id, member_id, cap
            )
