"""Sync state (how far each guild is collected: high-water marks, the gateway's last delivery)
and gaps (where collection may have missed entries, and how their recovery went), on PostgreSQL.
Guild state snapshots are kept beside the names, as in SQLite. The records' values are
``record_rows.py``'s, shared with SQLite."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from console.model.records import Gap
from console.store.postgres.core import PgCore
from console.store.record_rows import closed_gap, new_gap
from console.store.results import IngestResult


class SyncPart(PgCore):
    """High-water marks, the gateway's last delivery, gaps."""

    async def hwm(self, guild_id: int) -> int | None:
        found = await self.fetchval("SELECT hwm FROM sync_state WHERE guild_id = $1", guild_id)
        return None if found is None else int(found)

    async def set_hwm(self, guild_id: int, hwm: int) -> None:
        """Move the high-water mark; called only after the entries below it were committed."""
        async with self.transaction() as conn:
            self._note("state")
            await conn.execute(
                "INSERT INTO sync_state (guild_id, hwm, updated_at) VALUES ($1, $2, $3)"
                " ON CONFLICT (guild_id) DO UPDATE SET hwm = greatest(coalesce(sync_state.hwm, 0), excluded.hwm),"
                " updated_at = excluded.updated_at",
                guild_id,
                hwm,
                self._clock(),
            )

    async def live_until(self, guild_id: int) -> int | None:
        found = await self.fetchval("SELECT live_until FROM sync_state WHERE guild_id = $1", guild_id)
        return None if found is None else int(found)

    async def set_live_until(self, guild_ids: Iterable[int], ms: int) -> None:
        """Remember that the gateway was delivering up to ``ms`` (where the next gap starts)."""
        async with self.transaction() as conn:
            self._note("state")
            await conn.executemany(
                "INSERT INTO sync_state (guild_id, live_until, updated_at) VALUES ($1, $2, $3)"
                " ON CONFLICT (guild_id) DO UPDATE SET"
                " live_until = greatest(coalesce(sync_state.live_until, 0), excluded.live_until),"
                " updated_at = excluded.updated_at",
                [(g, ms, ms) for g in guild_ids],
            )

    async def open_gap(self, guild_id: int, reason: str, *, from_id: int | None, started_at: int | None) -> Gap:
        now = self._clock()
        gap = new_gap(self.ids.make(now), guild_id, reason, from_id=from_id, started_at=started_at, now=now)
        async with self.transaction() as conn:
            await conn.execute(
                "INSERT INTO gaps (id, guild_id, reason, from_id, started_at, detected_at, status)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7)",
                gap.id,
                guild_id,
                reason,
                from_id,
                started_at,
                now,
                gap.status,
            )
            self._notify(IngestResult(guild_ids={guild_id}))
        return gap

    async def close_gap(
        self,
        gap: Gap,
        *,
        status: str,
        recovered: int,
        refreshed: int = 0,
        beyond_retention_ms: int = 0,
        error: str | None = None,
    ) -> Gap:
        closed = closed_gap(
            gap,
            status=status,
            recovered=recovered,
            refreshed=refreshed,
            beyond_retention_ms=beyond_retention_ms,
            error=error,
            now=self._clock(),
        )
        async with self.transaction() as conn:
            await conn.execute(
                "UPDATE gaps SET status = $1, recovered = $2, refreshed = $3, beyond_retention_ms = $4,"
                " error = $5, ended_at = $6 WHERE id = $7",
                status,
                recovered,
                refreshed,
                beyond_retention_ms,
                error,
                closed.ended_at,
                gap.id,
            )
            self._notify(IngestResult(guild_ids={gap.guild_id}, changed=[("gap", gap.id)]))
        return closed

    async def gaps(self, guild_id: int | None = None) -> list[Gap]:
        sql = "SELECT " + Gap.COLUMNS + " FROM gaps"
        args: tuple[Any, ...] = ()
        if guild_id is not None:
            sql += " WHERE guild_id = $1"
            args = (guild_id,)
        return [Gap.from_row(r) for r in await self.fetch(sql + " ORDER BY id", *args)]

    async def open_gap_count(self) -> int:
        return int(await self.fetchval("SELECT count(*) FROM gaps WHERE status IN ('open', 'failed')"))
