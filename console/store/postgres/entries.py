"""Audit entries (PostgreSQL): idempotent ingest with revisions and the full-text rows, the chain
linked in the same transaction, the feed's keyset pages, lookups, and what could not be parsed.
What a batch means (parsing, copies of an id, new vs changed) is ``ingest_batch.py``'s, shared
with the SQLite store; this holds the SQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

from console.model.filters import Filter
from console.model.stored import StoredEntry
from console.store import ingest_batch
from console.store.chain import column_text
from console.store.postgres import fulltext, links, queries
from console.store.postgres.names import NamesPart
from console.store.results import IngestResult

_ROW_NAMES = [c.strip() for c in ingest_batch.ROW_COLUMNS.split(",")]
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
        docs = {i: fulltext.document(*f[1:]) for i, f in batch.fts.items()}
        async with self.transaction() as db:
            # First, so this transaction waits before it holds any row another linking one needs.
            await links.lock(db)
            stored = ingest_batch.Stored()
            if batch.rows:
                found = await db.fetch(
                    f"SELECT {ingest_batch.STORED_COLUMNS} FROM audit_entries WHERE id = ANY($1)", list(batch.rows)
                )
                for row in found:
                    stored.add(row)
            todo = ingest_batch.plan(batch, stored, now)
            if todo.new_rows:
                await links.insert_rows(db, "audit_entries", _ROW_NAMES, todo.new_rows)
                await db.executemany(
                    "INSERT INTO audit_fts (entry_id, reason, names, changes, doc)"
                    " VALUES ($1, $2, $3, $4, $5::tsvector)",
                    [(*batch.fts[r[0]], docs[r[0]]) for r in todo.new_rows],
                )
            if todo.changed:
                await db.executemany(
                    "INSERT INTO audit_revisions (entry_id, revision, raw, content_hash, replaced_at)"
                    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                    todo.revisions,
                )
                await db.executemany(
                    "UPDATE audit_entries SET raw = $1, content_hash = $2, reason = $3, revision = revision + 1"
                    " WHERE id = $4",
                    todo.updates,
                )
                await db.executemany(
                    "UPDATE audit_fts SET reason = $2, names = $3, changes = $4, doc = $5::tsvector"
                    " WHERE entry_id = $1",
                    [(*batch.fts[i], docs[i]) for i in todo.changed],
                )
            await links.append(db, todo.links, now, locked=True)
            if batch.failures:
                await db.executemany(
                    "INSERT INTO parse_failures (guild_id, received_at, source, error, raw)"
                    " VALUES ($1, $2, $3, $4, $5)",
                    batch.failures,
                )
            if ingest_batch.worth_telling(result):
                self._notify(result)  # in the transaction's notification; listeners after COMMIT
        if batch.later:
            more = await self.add_entries(batch.later, source=source, guild_id=guild_id, received_at=received_at)
            ingest_batch.merge(result, more)
        return result

    async def max_entry_id(self, guild_id: int) -> int | None:
        found = await self.fetchval("SELECT max(id) FROM audit_entries WHERE guild_id = $1", guild_id)
        return None if found is None else int(found)

    async def page(
        self, flt: Filter = Filter(), *, before: int | None = None, after: int | None = None, limit: int = 100
    ) -> list[StoredEntry]:
        """One keyset page of audit entries in the filter's order (newest first by default)."""
        sql, args = queries.entry_page(flt, before=before, after=after, limit=limit, columns=_ENTRY_COLUMNS)
        return [StoredEntry.from_row(r) for r in await self.fetch(sql, *args)]

    async def count(self, flt: Filter = Filter()) -> int:
        sql, args = queries.entry_count(flt)
        return int(await self.fetchval(sql, *args) or 0)

    async def get_entry(self, entry_id: int) -> StoredEntry | None:
        row = await self.fetchrow(f"SELECT {_ENTRY_COLUMNS} FROM audit_entries WHERE id = $1", entry_id)
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
        found = await self.fetch(
            f"SELECT {_ENTRY_COLUMNS} FROM audit_entries WHERE guild_id = $1 AND target_id = $2"
            " AND action_type = 25 AND id > $3 ORDER BY id LIMIT 50",
            guild_id,
            member_id,
            after_id,
        )
        return [StoredEntry.from_row(r) for r in found]

    async def raw_entries(self, ids: Iterable[int], action_types: Iterable[int]) -> list[tuple[str, int]]:
        """(raw JSON, guild id) of the entries among ``ids`` of these action types, in id order."""
        found = await self.fetch(
            "SELECT raw, guild_id FROM audit_entries WHERE id = ANY($1) AND action_type = ANY($2) ORDER BY id",
            list(ids),
            sorted(action_types),
        )
        return [(r[0], r[1]) for r in found]

    async def revisions(self, entry_id: int) -> list[tuple[int, str, int]]:
        found = await self.fetch(
            "SELECT revision, raw, replaced_at FROM audit_revisions WHERE entry_id = $1 ORDER BY revision", entry_id
        )
        return [(r[0], r[1], r[2]) for r in found]

    async def add_parse_failure(self, guild_id: int | None, source: str, error: str, raw: bytes) -> None:
        """Keep something Discord sent that is not even JSON (a gateway frame, a REST page).

        ``raw`` is stored as UTF-8 text with undecodable bytes as ``\\xNN`` escapes."""
        async with self.transaction() as db:
            self._note("state")
            await db.execute(
                "INSERT INTO parse_failures (guild_id, received_at, source, error, raw) VALUES ($1, $2, $3, $4, $5)",
                guild_id,
                self._clock(),
                source,
                column_text(error[:500]),
                ingest_batch.stored_text(raw),
            )

    async def parse_failures(self) -> list[tuple[int, str, str]]:
        found = await self.fetch("SELECT id, error, raw FROM parse_failures ORDER BY id")
        return [(r[0], r[1], r[2]) for r in found]
