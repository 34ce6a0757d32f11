"""Retention in PostgreSQL: remove what is outside each guild's window and say so in the chain,
exactly as the SQLite store does (``sqlite/prune.py``; what goes and the links' notes are
``retention.py``'s), so that both verify alike and a store copied between them still does.

Per guild: a prune link (the window and cut-off) is committed first, then the rows go in chunks
(a collector's writes interleave), then a compact link drops the links of what was removed. An
interruption anywhere leaves a chain that verifies; the next run finishes the job."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Final

import asyncpg

from console.model.retention import DAY_MS, Retention
from console.model.snowflake import from_ms, to_ms
from console.store.chain import COMPACT, PRUNE, RECORD_KINDS, note_hash
from console.store.postgres.core import PgCore
from console.store.postgres.links import append
from console.store.results import IngestResult
from console.store.retention import PRUNED, PruneResult, compact_from, compact_note, prune_note

#: (label, table, WHERE clause for "outside the window" with $1 the guild, $2 the cut-off, which
#: cut-off: "id" or "ms")
_PRUNED: Final = tuple((label, table, where.format(g="$1", cut="$2"), cut) for label, table, where, cut in PRUNED)
#: Rows that belong to a pruned row and go with it (before it: attempts reference their change).
_DEPENDENTS: Final = {
    "audit_entries": (
        "DELETE FROM audit_fts WHERE entry_id = ANY($1::bigint[])",
        "DELETE FROM audit_revisions WHERE entry_id = ANY($1::bigint[])",
    ),
    "role_changes": ("DELETE FROM role_change_attempts WHERE change_id = ANY($1::bigint[])",),
}


class PrunePart(PgCore):
    """Retention's pruning and how far back the store reaches."""

    async def prune(
        self,
        retention: Retention,
        *,
        dry_run: bool = False,
        chunk: int = 2000,
        guild_ids: Iterable[int] | None = None,
    ) -> list[PruneResult]:
        """Remove every record outside its guild's retention window, never one inside it.

        Rows go in chunks of ``chunk``. Returns what was (or, with ``dry_run``, would be) removed
        per guild."""
        now = self.now_ms()
        wanted = None if guild_ids is None else set(guild_ids)
        guilds = await self.fetch(
            "SELECT guild_id FROM chain_heads UNION SELECT guild_id FROM gaps"
            " UNION SELECT guild_id FROM role_changes UNION SELECT guild_id FROM decisions ORDER BY 1"
        )
        results = []
        for (gid,) in guilds:
            if gid is None or (wanted is not None and gid not in wanted):
                continue
            days = retention.days(gid)
            if days is None:
                continue
            cutoff_ms = now - days * DAY_MS
            cuts = {"id": from_ms(cutoff_ms), "ms": cutoff_ms}
            removed: dict[str, int] = {}
            for label, table, where, cut in _PRUNED:
                removed[label] = int(await self.fetchval(f"SELECT count(*) FROM {table} WHERE {where}", gid, cuts[cut]))
            result = PruneResult(gid, days, cutoff_ms, removed, dry_run)
            results.append(result)
            if result.total and not dry_run:
                await self._prune_guild(gid, days, cuts, removed, chunk)
        return results

    async def _prune_guild(
        self, gid: int, days: int, cuts: dict[str, int], removed: dict[str, int], chunk: int
    ) -> None:
        note = prune_note(cuts["ms"], days, removed)
        async with self.transaction() as db:
            await append(db, {gid: [(PRUNE, cuts["id"], 0, note_hash(note), note)]}, self.now_ms())
        for _, table, where, cut in _PRUNED:
            dependents = _DEPENDENTS.get(table, ())
            while True:
                async with self.transaction() as db:
                    self._note("records")
                    ids = [
                        r[0]
                        for r in await db.fetch(
                            f"SELECT id FROM {table} WHERE {where} ORDER BY id LIMIT {int(chunk)}", gid, cuts[cut]
                        )
                    ]
                    if ids:
                        for sql in dependents:
                            await db.execute(sql, ids)
                        await db.execute(f"DELETE FROM {table} WHERE id = ANY($1::bigint[])", ids)
                if len(ids) < chunk:
                    break
                await asyncio.sleep(0)
        async with self.transaction() as db:
            await _compact(db, gid, cuts["id"], self.now_ms())
            self._notify(IngestResult(guild_ids={gid}))  # the feed reloads and shows how far back it reaches

    async def kept_since(self) -> int | None:
        """Retention's newest cut-off (ms): everything after it is kept (None: nothing pruned)."""
        found = await self.fetchval("SELECT max(record_id) FROM chain WHERE kind = $1", PRUNE)
        return None if found is None else to_ms(found)

    async def reach(self) -> tuple[int | None, dict[int, int]]:
        """(the oldest record's time, guild → newest retention cut-off), both in ms."""
        oldest = await self.fetchval(
            "SELECT least((SELECT min(id) FROM audit_entries), (SELECT min(id) FROM decisions))"
        )
        cut = await self.fetch("SELECT guild_id, max(record_id) FROM chain WHERE kind = $1 GROUP BY guild_id", PRUNE)
        return (None if oldest is None else to_ms(oldest)), {g: to_ms(r) for g, r in cut}


async def _compact(db: asyncpg.Connection, gid: int, cutoff_id: int, at: int) -> None:
    """Drop the links before the first one still needed (a record inside the window, or this
    prune's own link), and chain a compact link saying where the rest starts."""
    first_seq = await db.fetchval("SELECT min(seq) FROM chain WHERE guild_id = $1", gid)
    inside = await db.fetchval(
        "SELECT min(seq) FROM chain WHERE guild_id = $1 AND kind = ANY($2::int[]) AND record_id >= $3",
        gid,
        list(RECORD_KINDS),
        cutoff_id,
    )
    newest_prune = await db.fetchval("SELECT max(seq) FROM chain WHERE guild_id = $1 AND kind = $2", gid, PRUNE)
    keep_seq = compact_from(first_seq, inside, newest_prune)
    if keep_seq is None:
        return
    base = await db.fetchval("SELECT link FROM chain WHERE guild_id = $1 AND seq = $2", gid, keep_seq - 1)
    if base is None:
        return  # a hole just before it: leave the chain as it is for verify to report
    covered = await db.fetchval("SELECT max(record_id) FROM chain WHERE guild_id = $1 AND kind = $2", gid, PRUNE)
    await db.execute("DELETE FROM chain WHERE guild_id = $1 AND seq < $2", gid, keep_seq)
    note = compact_note(keep_seq, bytes(base), covered)
    await append(db, {gid: [(COMPACT, keep_seq, 0, note_hash(note), note)]}, at)
