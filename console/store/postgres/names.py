"""Names of users, members, roles, channels and guilds (PostgreSQL): cached in memory, because the
feed reads them per row and per keystroke; the table is written only where a name changed. And
each guild's state snapshot (roles, members, channels), as the SQLite store keeps it beside them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from console.store import member_queries
from console.store.chain import column_text
from console.store.postgres import queries
from console.store.postgres.core import PgCore
from console.store.postgres.placeholders import numbered
from console.store.record_rows import snapshot_from_text, snapshot_text


class NamesPart(PgCore):
    """The names cache and table, and the guild state snapshots."""

    async def _load_names(self) -> None:
        found = await self.fetch("SELECT kind, id, name FROM names")
        names: dict[str, dict[int, str]] = {}
        for k, i, n in found:
            names.setdefault(k, {})[i] = n
        self._names = names
        self._names_complete = True

    async def load_names_for(self, wanted: Iterable[tuple[str, int | None]]) -> None:
        """Add these names (kind, id) to the cache, and every guild's: what a first screen shows,
        read by key instead of the whole table."""
        if self._names_complete:
            return
        missing = [(k, i) for k, i in wanted if i is not None and i not in self._names.get(k, {})]
        sql, args = queries.names_by_key(missing)
        for k, i, n in await self.fetch(sql, *args):
            self._names.setdefault(k, {})[i] = n

    @property
    def names_complete(self) -> bool:
        """Every stored name is cached (not only those :meth:`load_names_for` read)."""
        return self._names_complete

    async def reload_names(self) -> None:
        """Re-read the names cache (another process may have learnt new names)."""
        await self._load_names()

    def name_of(self, kind: str, ident: int | None) -> str | None:
        """Cached display name (raw, unsanitised)."""
        return None if ident is None else self._names.get(kind, {}).get(ident)

    def names(self, kind: str) -> Mapping[int, str]:
        """Every cached name of one kind, read-only and without a copy (read per keystroke)."""
        return MappingProxyType(self._names.get(kind, {}))

    async def upsert_names(self, guild_id: int | None, kind: str, items: Iterable[tuple[int, str]]) -> int:
        """Remember names; returns how many changed. Writes only what changed."""
        if not self._names_complete:  # "unchanged" needs every stored name at hand
            await self._load_names()
        known = self._names.setdefault(kind, {})
        stored = ((i, column_text(n)) for i, n in items if isinstance(n, str))
        changed = [(i, n) for i, n in stored if n is not None and known.get(i) != n]
        if not changed:
            return 0
        now = self._clock()
        closing, opening = member_queries.history_rows(kind, changed, known, now)
        async with self.transaction() as db:
            self._note("names")
            await db.executemany(
                "INSERT INTO names (kind, id, guild_id, name, updated_at) VALUES ($1, $2, $3, $4, $5)"
                " ON CONFLICT (kind, id) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at",
                [(kind, i, guild_id, n, now) for i, n in changed],
            )
            if opening:
                await db.executemany(numbered(member_queries.CLOSE_NAME), closing)
                await db.executemany(numbered(member_queries.OPEN_NAME), opening)
        known.update(changed)
        return len(changed)

    async def name_history(self, user_id: int) -> list[tuple[str, str, int, int]]:
        async def run(sql: str, args: list[Any]) -> list[Any]:
            return await self.fetch(numbered(sql), *args)

        return await member_queries.name_history(run, user_id)

    async def save_guild_state(self, guild_id: int, snapshot: Mapping[str, Any]) -> None:
        text = snapshot_text(snapshot)
        async with self.transaction() as db:
            self._note("state")
            await db.execute(
                "INSERT INTO guild_state (guild_id, snapshot, updated_at) VALUES ($1, $2, $3)"
                " ON CONFLICT (guild_id) DO UPDATE SET snapshot = excluded.snapshot, updated_at = excluded.updated_at",
                guild_id,
                text,
                self._clock(),
            )

    async def guild_ids_with_state(self) -> list[int]:
        """The guilds whose state (roles, members, channels) the store holds."""
        return [int(r[0]) for r in await self.fetch("SELECT guild_id FROM guild_state ORDER BY guild_id")]

    async def guild_state(self, guild_id: int) -> dict[str, Any] | None:
        text = await self.fetchval("SELECT snapshot FROM guild_state WHERE guild_id = $1", guild_id)
        return None if text is None else snapshot_from_text(text)
