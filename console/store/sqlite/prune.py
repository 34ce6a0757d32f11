"""Retention in SQLite: remove what is outside each guild's window and say so in the chain.

Per guild: a prune link (the window and cut-off) is committed first, then the rows go in chunks
(a collector's writes interleave), then a compact link drops the links of what was removed. An
interruption anywhere leaves a chain that verifies; the next run finishes the job."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Final

import aiosqlite

from console.model.retention import DAY_MS, Retention
from console.model.snowflake import from_ms, to_ms
from console.store.chain import COMPACT, PRUNE, RECORD_KINDS, note_hash
from console.store.connection import one, rows
from console.store.results import IngestResult
from console.store.retention import PRUNED, PruneResult, compact_from, compact_note, prune_note
from console.store.sqlite.core import StoreCore
from console.store.sqlite.links import append

#: (label, table, WHERE clause for "outside the window"; :g = guild, :id / :ms = the cut-off)
_PRUNED: Final = tuple((label, table, where.format(g=":g", cut=f":{cut}")) for label, table, where, cut in PRUNED)
#: Rows that belong to a pruned row and go with it.
_DEPENDENTS: Final = {
    "audit_entries": (
        "DELETE FROM audit_fts WHERE rowid IN ({ids})",
        "DELETE FROM audit_revisions WHERE entry_id IN ({ids})",
    ),
    "role_changes": ("DELETE FROM role_change_attempts WHERE change_id IN ({ids})",),
    "notes": ("DELETE FROM notes_fts WHERE rowid IN ({ids})",),
}


async def _guilds(db: aiosqlite.Connection, tables: set[str]) -> list[int]:
    parts = ["SELECT guild_id FROM chain_heads"]
    parts += [f"SELECT guild_id FROM {t}" for t in ("gaps", "role_changes", "decisions") if t in tables]
    found = await rows(db, " UNION ".join(parts))
    return sorted(int(r[0]) for r in found if r[0] is not None)


async def _table_names(db: aiosqlite.Connection) -> set[str]:
    return {r[0] for r in await rows(db, "SELECT name FROM sqlite_master WHERE type = 'table'")}


class PrunePart(StoreCore):
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
        reader = self._r
        now = self.now_ms()
        tables = await _table_names(reader)
        wanted = None if guild_ids is None else set(guild_ids)
        results = []
        for gid in await _guilds(reader, tables):
            if wanted is not None and gid not in wanted:
                continue
            days = retention.days(gid)
            if days is None:
                continue
            cutoff_ms = now - days * DAY_MS
            params = {"g": gid, "id": from_ms(cutoff_ms), "ms": cutoff_ms}
            removed: dict[str, int] = {}
            for label, table, where in _PRUNED:
                if table in tables:
                    (n,) = await one(reader, f"SELECT count(*) FROM {table} WHERE {where}", params)
                    removed[label] = int(n)
            result = PruneResult(gid, days, cutoff_ms, removed, dry_run)
            results.append(result)
            if result.total and not dry_run:
                await self._prune_guild(gid, days, params, removed, tables, chunk)
        return results

    async def _prune_guild(
        self, gid: int, days: int, params: dict[str, int], removed: dict[str, int], tables: set[str], chunk: int
    ) -> None:
        cutoff_id = params["id"]
        note = prune_note(params["ms"], days, removed)
        async with self.transaction() as db:
            await append(db, {gid: [(PRUNE, cutoff_id, 0, note_hash(note), note)]}, self.now_ms())
        for _, table, where in _PRUNED:
            if table not in tables:
                continue
            dependents = _DEPENDENTS.get(table, ())
            while True:
                async with self.transaction() as db:
                    ids = [
                        r[0]
                        for r in await rows(
                            db, f"SELECT id FROM {table} WHERE {where} ORDER BY id LIMIT {chunk}", params
                        )
                    ]
                    if ids:
                        marks = ",".join("?" * len(ids))
                        for sql in dependents:
                            await db.execute(sql.format(ids=marks), ids)
                        await db.execute(f"DELETE FROM {table} WHERE id IN ({marks})", ids)
                if len(ids) < chunk:
                    break
                await asyncio.sleep(0)
        async with self.transaction() as db:
            await _compact(db, gid, cutoff_id, self.now_ms())
        self._notify(IngestResult(guild_ids={gid}))  # the feed reloads and shows how far back it reaches

    async def kept_since(self) -> int | None:
        """Retention's newest cut-off (ms): everything after it is kept (None: nothing pruned)."""
        row = await one(self._r, "SELECT max(record_id) FROM chain WHERE kind = ?", (PRUNE,))
        return None if row is None or row[0] is None else to_ms(row[0])

    async def reach(self) -> tuple[int | None, dict[int, int]]:
        """(the oldest record's time, guild → newest retention cut-off), both in ms."""
        db = self._r
        oldest = []
        for table in ("audit_entries", "decisions"):
            (found,) = await one(db, f"SELECT min(id) FROM {table}")
            if found is not None:
                oldest.append(to_ms(found))
        cut = await rows(db, "SELECT guild_id, max(record_id) FROM chain WHERE kind = ? GROUP BY guild_id", (PRUNE,))
        return (min(oldest) if oldest else None), {g: to_ms(r) for g, r in cut}


async def _compact(db: aiosqlite.Connection, gid: int, cutoff_id: int, at: int) -> None:
    """Drop the links before the first one still needed (a record inside the window, or this
    prune's own link), and chain a compact link saying where the rest starts."""
    (first_seq,) = await one(db, "SELECT min(seq) FROM chain WHERE guild_id = ?", (gid,))
    (inside,) = await one(
        db,
        f"SELECT min(seq) FROM chain WHERE guild_id = ? AND kind IN ({','.join('?' * len(RECORD_KINDS))})"
        " AND record_id >= ?",
        (gid, *RECORD_KINDS, cutoff_id),
    )
    # The newest prune link stays too: it is what says the older records may be gone.
    (newest_prune,) = await one(db, "SELECT max(seq) FROM chain WHERE guild_id = ? AND kind = ?", (gid, PRUNE))
    keep_seq = compact_from(first_seq, inside, newest_prune)
    if keep_seq is None:
        return
    base = await one(db, "SELECT link FROM chain WHERE guild_id = ? AND seq = ?", (gid, keep_seq - 1))
    if base is None:
        return  # a hole just before it: leave the chain as it is for verify to report
    (covered,) = await one(db, "SELECT max(record_id) FROM chain WHERE guild_id = ? AND kind = ?", (gid, PRUNE))
    await db.execute("DELETE FROM chain WHERE guild_id = ? AND seq < ?", (gid, keep_seq))
    note = compact_note(keep_seq, bytes(base[0]), covered)
    await append(db, {gid: [(COMPACT, keep_seq, 0, note_hash(note), note)]}, at)
