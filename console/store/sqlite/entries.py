"""Audit entries: ingest (idempotent on the id, in-place updates kept as revisions, the chain
linked in the same transaction), the feed's keyset pages, lookups, and what could not be parsed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

from console.model.filters import Filter
from console.model.stored import StoredEntry
from console.store import ingest_batch, queries
from console.store.chain import column_text
from console.store.connection import one, rows
from console.store.results import IngestResult
from console.store.sqlite import links
from console.store.sqlite.names import NamesPart

_ENTRY_COLUMNS = (
    "id, guild_id, action_type, actor_id, target_id, reason, created_at, received_at, source, raw, revision"
)


class EntriesPart(NamesPart):
    """Audit entries and parse failures (names: the full-text index holds the names of the day)."""

    async def add_entries(
        self,
        raws: Iterable[Mapping[str, Any]],
        *,
        source: str,
        guild_id: int | None = None,
        received_at: int | None = None,
    ) -> IngestResult:
        """Insert raw entries in one transaction; idempotent on the entry id.

        An entry already stored with other content (Discord updates counts in place) is updated
        and its previous content kept in ``audit_revisions``. Payloads that cannot be keyed go to
        ``parse_failures``. Listeners are told only after COMMIT.
        """
        now = received_at if received_at is not None else self._clock()
        batch = await ingest_batch.parse_batch(raws, source=source, guild_id=guild_id, now=now, name_of=self.name_of)
        result = batch.result
        async with self.transaction() as db:
            stored = ingest_batch.Stored()
            ids = list(batch.rows)
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                marks = ",".join("?" * len(chunk))
                for row in await rows(
                    db, f"SELECT {ingest_batch.STORED_COLUMNS} FROM audit_entries WHERE id IN ({marks})", chunk
                ):
                    stored.add(row)
            todo = ingest_batch.plan(batch, stored, now)
            if todo.new_rows:
                await db.executemany(
                    f"INSERT INTO audit_entries ({ingest_batch.ROW_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    todo.new_rows,
                )
                await db.executemany(
                    "INSERT INTO audit_fts (rowid, reason, names, changes) VALUES (?,?,?,?)",
                    [batch.fts[r[0]] for r in todo.new_rows],
                )
            if todo.changed:
                await db.executemany(
                    "INSERT OR IGNORE INTO audit_revisions (entry_id, revision, raw, content_hash, replaced_at)"
                    " VALUES (?,?,?,?,?)",
                    todo.revisions,
                )
                await db.executemany(
                    "UPDATE audit_entries SET raw = ?, content_hash = ?, reason = ?, revision = revision + 1"
                    " WHERE id = ?",
                    todo.updates,
                )
                await db.executemany("DELETE FROM audit_fts WHERE rowid = ?", [(i,) for i in todo.changed])
                await db.executemany(
                    "INSERT INTO audit_fts (rowid, reason, names, changes) VALUES (?,?,?,?)",
                    [batch.fts[i] for i in todo.changed],
                )
            await links.append(db, todo.links, now)
            if batch.failures:
                await db.executemany(
                    "INSERT INTO parse_failures (guild_id, received_at, source, error, raw) VALUES (?,?,?,?,?)",
                    batch.failures,
                )
        if ingest_batch.worth_telling(result):
            self._notify(result)
        if batch.later:
            more = await self.add_entries(batch.later, source=source, guild_id=guild_id, received_at=received_at)
            ingest_batch.merge(result, more)
        return result

    async def max_entry_id(self, guild_id: int) -> int | None:
        row = await one(self._r, "SELECT max(id) FROM audit_entries WHERE guild_id = ?", (guild_id,))
        return None if row is None or row[0] is None else int(row[0])

    async def page(
        self, flt: Filter = Filter(), *, before: int | None = None, after: int | None = None, limit: int = 100
    ) -> list[StoredEntry]:
        """One keyset page of audit entries in the filter's order (newest first by default)."""
        sql, args = queries.entry_page(flt, before=before, after=after, limit=limit, columns=_ENTRY_COLUMNS)
        found = await rows(self._r, sql, args)
        return [StoredEntry.from_row(r) for r in found]

    async def count(self, flt: Filter = Filter()) -> int:
        sql, args = queries.entry_count(flt)
        row = await one(self._r, sql, args)
        return int(row[0]) if row else 0

    async def get_entry(self, entry_id: int) -> StoredEntry | None:
        row = await one(self._r, f"SELECT {_ENTRY_COLUMNS} FROM audit_entries WHERE id = ?", (entry_id,))
        return None if row is None else StoredEntry.from_row(row)

    async def iter_entries(self, flt: Filter = Filter(), *, batch: int = 1000) -> AsyncIterator[list[StoredEntry]]:
        """Every entry matching ``flt`` in pages (keyset, so memory stays flat)."""
        before = after = None
        while True:
            page = await self.page(flt, before=before, after=after, limit=batch)
            if not page:
                return
            yield page
            if len(page) < batch:
                return
            if flt.newest_first:
                before = page[-1].id
            else:
                after = page[-1].id

    async def role_entries(self, guild_id: int, member_id: int, after_id: int) -> list[StoredEntry]:
        """MEMBER_ROLE_UPDATE entries about ``member_id`` newer than ``after_id`` (oldest first):
        where the reconciler finds who undid a change."""
        found = await rows(
            self._r,
            f"SELECT {_ENTRY_COLUMNS} FROM audit_entries WHERE guild_id = ? AND target_id = ?"
            " AND action_type = 25 AND id > ? ORDER BY id LIMIT 50",
            (guild_id, member_id, after_id),
        )
        return [StoredEntry.from_row(r) for r in found]

    async def raw_entries(self, ids: Iterable[int], action_types: Iterable[int]) -> list[tuple[str, int]]:
        """(raw JSON, guild id) of the entries among ``ids`` of these action types, in id order."""
        ids = list(ids)
        kinds = ",".join(map(str, sorted(action_types)))
        found: list[tuple[str, int]] = []
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            found += await rows(
                self._r,
                f"SELECT raw, guild_id FROM audit_entries WHERE id IN ({','.join('?' * len(chunk))})"
                f" AND action_type IN ({kinds}) ORDER BY id",
                chunk,
            )
        return found

    async def revisions(self, entry_id: int) -> list[tuple[int, str, int]]:
        found = await rows(
            self._r,
            "SELECT revision, raw, replaced_at FROM audit_revisions WHERE entry_id = ? ORDER BY revision",
            (entry_id,),
        )
        return [tuple(r) for r in found]

    async def add_parse_failure(self, guild_id: int | None, source: str, error: str, raw: bytes) -> None:
        """Keep something Discord sent that is not even JSON (a gateway frame, a REST page).

        ``raw`` is stored as UTF-8 text with undecodable bytes as ``\\xNN`` escapes."""
        text = ingest_batch.stored_text(raw)
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO parse_failures (guild_id, received_at, source, error, raw) VALUES (?,?,?,?,?)",
                (guild_id, self._clock(), source, column_text(error[:500]), text),
            )

    async def parse_failures(self) -> list[tuple[int, str, str]]:
        found = await rows(self._r, "SELECT id, error, raw FROM parse_failures ORDER BY id")
        return [tuple(r) for r in found]
