"""The one timeline of every kind of record, as the feed browses it (PostgreSQL; the SQL is
``timeline.py``'s). Every read takes a connection of the reading pool, so a long exact count or
index never holds up a page read behind it (the SQLite store keeps a separate scanner for that)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from console.model.filters import Filter
from console.store import member_queries
from console.store.postgres import timeline
from console.store.postgres.core import PgCore
from console.store.postgres.placeholders import numbered
from console.store.results import Ref
from console.store.timeline_filter import CODE_KINDS, Record, fold_buckets, ids_by_kind, in_order, record_specs

if TYPE_CHECKING:
    from console.model.member import MemberCounts


class BrowsePart(PgCore):
    """Timeline pages, records, counts, the jump index and the activity histogram."""

    async def timeline_page(
        self, flt: Filter, *, anchor: int | None = None, offset: int = 0, limit: int = 100
    ) -> list[Ref]:
        statement = timeline.page(flt, anchor=anchor, offset=offset, limit=limit)
        if statement is None:
            return []
        return [Ref(CODE_KINDS[k], i) for i, k in await self.fetch(statement[0], *statement[1])]

    async def timeline_records(self, refs: Sequence[Ref]) -> list[Any]:
        got: dict[tuple[str, int], Record] = {}
        specs = record_specs()
        for kind, ids in ids_by_kind(refs).items():
            table, columns, make = specs[kind]
            for row in await self.fetch(f"SELECT {columns} FROM {table} WHERE id = ANY($1::bigint[])", ids):
                got[(kind, row[0])] = make(tuple(row))
        return in_order(refs, got)

    async def timeline_count(
        self, flt: Filter, *, newer_than: int | None = None, up_to: int | None = None, cap: int | None = None
    ) -> int:
        statement = timeline.count(flt, newer_than=newer_than, up_to=up_to, cap=cap)
        return 0 if statement is None else int(await self.fetchval(statement[0], *statement[1]) or 0)

    async def timeline_total(self, flt: Filter) -> int:
        return await self.timeline_count(flt)

    async def timeline_index(self, flt: Filter, every: int = 1000) -> tuple[int, list[int]]:
        statement = timeline.sparse_index(flt, every)
        if statement is None:
            return 0, []
        async with self.reading() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            # One snapshot: the anchors and the total describe the same records.
            anchors = [r[0] for r in await conn.fetch(statement[0], *statement[1])]
            counted = timeline.count(flt)
            total = 0 if counted is None else int(await conn.fetchval(counted[0], *counted[1]) or 0)
        return total, anchors

    async def activity(self, flt: Filter, *, start_ms: int, end_ms: int, buckets: int) -> list[int]:
        statement = timeline.histogram(flt, start_ms=start_ms, end_ms=end_ms, buckets=buckets)
        if statement is None:
            return [0] * buckets
        return fold_buckets(await self.fetch(statement[0], *statement[1]), buckets)

    async def member_counts(self, guild_id: int, member_id: int, *, cap: int | None = None) -> MemberCounts:
        async def run(sql: str, args: list[Any]) -> list[Any]:
            return await self.fetch(numbered(sql), *args)

        return await member_queries.member_counts(run, guild_id, member_id, cap)
