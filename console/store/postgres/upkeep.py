"""Settings kept in the store, health checks (a write probe; a cheap check that the database is
still our store), whether another connection committed, and overall counts (PostgreSQL)."""

from __future__ import annotations

import re
from typing import Any

from console.store.postgres.core import PgCore
from console.store.postgres.schema import APPLICATION, MIGRATIONS

#: The store's tables, from its schema: what :meth:`UpkeepPart.quick_check` looks for.
TABLES = tuple(dict.fromkeys(re.findall(r"CREATE TABLE (\w+)", "\n".join(MIGRATIONS))))


class UpkeepPart(PgCore):
    """Settings, health and counts."""

    async def setting(self, key: str) -> str | None:
        found = await self.fetchval("SELECT value FROM meta WHERE key = $1", key)
        return None if found is None else str(found)

    async def set_setting(self, key: str, value: str | None) -> None:
        async with self.transaction() as db:
            self._note("state")
            if value is None:
                await db.execute("DELETE FROM meta WHERE key = $1", key)
            else:
                await db.execute(
                    "INSERT INTO meta (key, value) VALUES ($1, $2)"
                    " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    key,
                    value,
                )

    async def probe_write(self) -> None:
        """A write that leaves nothing behind: whether a commit goes through now (StoreFullError
        if not). Used while degraded, when nothing else may be writing."""
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO meta (key, value) VALUES ('write_probe', '1')"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value"
            )
            await db.execute("DELETE FROM meta WHERE key = 'write_probe'")

    async def quick_check(self) -> str | None:
        """None when healthy, else the first problem (one line).

        PostgreSQL checks its own pages (checksums, WAL); what is ours to check cheaply is that the
        server answers and the database is still this store: the marker, and every table of the
        schema. (A whole-database scan, as SQLite's quick_check is, would be amcheck, an extension
        not every server has.)"""
        found = await self.fetchrow(
            "SELECT (SELECT value FROM meta WHERE key = 'application'),"
            " array(SELECT t FROM unnest($1::text[]) AS t WHERE to_regclass(t) IS NULL)",
            list(TABLES),
        )
        if found is None or found[0] != APPLICATION:
            return f"{self.where} no longer holds an Audit Console store (its marker is gone)"
        if found[1]:
            return f"{self.where} is missing tables of the store: {', '.join(found[1])}"
        return None

    async def data_version(self) -> int:
        """Changes whenever another connection (another process's collector) commits.

        PostgreSQL has no ``PRAGMA data_version``. The server's current snapshot (the transactions
        in progress and the next id to be given out) changes whenever a transaction that wrote
        anything begins or ends, on any connection, and is read without touching a table or
        writing: the number is its hash. It may also change for commits elsewhere in the same
        server (other databases): a reader then re-reads once for nothing, never misses one."""
        return int(await self.fetchval("SELECT hashtextextended(pg_current_snapshot()::text, 0)"))

    async def stats(self) -> dict[str, Any]:
        row = await self.fetchrow(
            "SELECT (SELECT count(*) FROM audit_entries), (SELECT min(id) FROM audit_entries),"
            " (SELECT max(id) FROM audit_entries), (SELECT count(*) FROM gaps WHERE status IN ('open', 'failed'))"
        )
        assert row is not None  # an aggregate always answers one row
        return {"entries": row[0], "oldest_id": row[1], "newest_id": row[2], "open_gaps": row[3]}
