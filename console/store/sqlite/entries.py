"""Audit entries: ingest (idempotent on the id, in-place updates kept as revisions, the chain
linked in the same transaction), the feed's keyset pages, lookups, and what could not be parsed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

import orjson

from console.model import entry as entries
from console.model.actions import target_name_kinds
from console.model.filters import Filter
from console.model.snowflake import parse as parse_id
from console.model.stored import StoredEntry
from console.store import chain, queries
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
        result = IngestResult(source=source)
        prepared: dict[int, tuple[Any, ...]] = {}
        fts: dict[int, tuple[Any, ...]] = {}
        hashes: dict[int, bytes] = {}
        linked: dict[int, bytes] = {}  # the integrity chain's content hash of each new row
        failures: list[tuple[Any, ...]] = []
        later: list[Mapping[str, Any]] = []  # second copies of an id in this batch
        for n, raw in enumerate(raws):
            if n and n % 50 == 0:
                # Parsing takes a while per row: give the loop a turn now and then, so a big
                # batch never holds it long (the loop-lag goal in docs/performance.md).
                await asyncio.sleep(0)
            if isinstance(raw, Mapping) and not isinstance(raw, dict):
                raw = dict(raw)
            try:
                e = entries.parse_entry(raw, guild_id)
                if e.guild_id is None:
                    raise entries.MalformedEntry(f"entry {e.id} has no guild_id")
                raw_json = orjson.dumps(raw, option=orjson.OPT_NON_STR_KEYS).decode()
            except (entries.MalformedEntry, TypeError, orjson.JSONEncodeError) as exc:
                failures.append((guild_id, now, source, str(exc)[:500], _dump_any(raw)))
                continue
            h = entries.content_hash(raw)
            if e.id in hashes:
                # The same entry twice in one batch (a count bumped between gateway and REST):
                # identical, it is a duplicate; changed, it is applied after this batch as an
                # update, so the earlier content is kept as a revision instead of vanishing.
                if hashes[e.id] == h:
                    result.duplicates += 1
                else:
                    later.append(raw)
                continue
            hashes[e.id] = h
            target = parse_id(e.target_id)
            prepared[e.id] = row = (
                e.id,
                e.guild_id,
                e.action_type,
                e.actor_id,
                target,
                e.reason,
                e.created_ms,
                now,
                source,
                raw_json,
                h,
            )
            linked[e.id] = chain.entry_hash(row[:9], raw_json)
            fts[e.id] = (e.id, e.reason or "", self._fts_names(e), entries.changes_text(e))
            result.guild_ids.add(e.guild_id)
        async with self.transaction() as db:
            existing: dict[int, tuple[bytes, int, str]] = {}
            stored_heads: dict[int, tuple[Any, ...]] = {}  # what an in-place update keeps
            ids = list(prepared)
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                marks = ",".join("?" * len(chunk))
                found = await rows(
                    db,
                    f"SELECT id, content_hash, revision, raw, {chain.ENTRY_HEAD} FROM audit_entries"
                    f" WHERE id IN ({marks})",
                    chunk,
                )
                for rid, h, rev, old_raw, *head in found:
                    existing[rid] = (h, rev, old_raw)
                    stored_heads[rid] = tuple(head)
            new_rows = [r for i, r in prepared.items() if i not in existing]
            changed = [i for i in existing if existing[i][0] != hashes[i]]
            result.duplicates += len(existing) - len(changed)
            if new_rows:
                await db.executemany(
                    "INSERT INTO audit_entries (id, guild_id, action_type, actor_id, target_id, reason,"
                    " created_at, received_at, source, raw, content_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    new_rows,
                )
                await db.executemany(
                    "INSERT INTO audit_fts (rowid, reason, names, changes) VALUES (?,?,?,?)",
                    [fts[r[0]] for r in new_rows],
                )
                result.inserted = [r[0] for r in new_rows]
            if changed:
                await db.executemany(
                    "INSERT OR IGNORE INTO audit_revisions (entry_id, revision, raw, content_hash, replaced_at)"
                    " VALUES (?,?,?,?,?)",
                    [(i, existing[i][1], existing[i][2], existing[i][0], now) for i in changed],
                )
                await db.executemany(
                    "UPDATE audit_entries SET raw = ?, content_hash = ?, reason = ?, revision = revision + 1"
                    " WHERE id = ?",
                    [(prepared[i][9], hashes[i], prepared[i][5], i) for i in changed],
                )
                await db.executemany("DELETE FROM audit_fts WHERE rowid = ?", [(i,) for i in changed])
                await db.executemany(
                    "INSERT INTO audit_fts (rowid, reason, names, changes) VALUES (?,?,?,?)",
                    [fts[i] for i in changed],
                )
                result.updated = changed
            chain_links: dict[int, list[chain.Item]] = {}
            for r in new_rows:
                chain_links.setdefault(r[1], []).append((chain.ENTRY, r[0], 0, linked[r[0]], None))
            for i in changed:
                # Discord changed it in place: the new content is the entry's next link.
                head = list(stored_heads[i])
                head[5] = prepared[i][5]
                chain_links.setdefault(head[1], []).append(
                    (chain.ENTRY, i, existing[i][1] + 1, chain.entry_hash(head, prepared[i][9]), None)
                )
            await links.append(db, chain_links, now)
            if failures:
                await db.executemany(
                    "INSERT INTO parse_failures (guild_id, received_at, source, error, raw) VALUES (?,?,?,?,?)",
                    failures,
                )
                result.failures = len(failures)
        if result.inserted or result.updated or result.failures:
            self._notify(result)
        if later:
            more = await self.add_entries(later, source=source, guild_id=guild_id, received_at=received_at)
            result.updated = [*result.updated, *more.updated]
            result.inserted = [*result.inserted, *more.inserted]
            result.duplicates += more.duplicates
            result.failures += more.failures
        return result

    def _fts_names(self, e: entries.AuditEntry) -> str:
        found = []
        if e.actor_id is not None:
            found.append(self.name_of("user", e.actor_id) or "")
        target = parse_id(e.target_id)
        if target is not None:
            for kind in target_name_kinds(e.action_type):
                name = self.name_of(kind, target)
                if name:
                    found.append(name)
                    break
        return " ".join(n for n in found if n)

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
        text = raw.decode("utf-8", "backslashreplace")
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO parse_failures (guild_id, received_at, source, error, raw) VALUES (?,?,?,?,?)",
                (guild_id, self._clock(), source, error[:500], text),
            )

    async def parse_failures(self) -> list[tuple[int, str, str]]:
        found = await rows(self._r, "SELECT id, error, raw FROM parse_failures ORDER BY id")
        return [tuple(r) for r in found]


def _dump_any(raw: Any) -> str:
    try:
        return orjson.dumps(raw, option=orjson.OPT_NON_STR_KEYS).decode()
    except (TypeError, orjson.JSONEncodeError):
        return repr(raw)
