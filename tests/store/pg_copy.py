"""Copy every row of a SQLite store into a PostgreSQL store's (migrated, empty) database, column
for column: the same records on both backends, for tests that compare what the two make of them
(the timeline, retention). Not the ``migrate`` command: no resuming, no verify."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import asyncpg

#: Tables copied as they are; audit_fts's rowid is PostgreSQL's entry_id (its doc is generated).
TABLES = (
    "audit_entries",
    "audit_revisions",
    "parse_failures",
    "sync_state",
    "gaps",
    "names",
    "guild_state",
    "decisions",
    "role_changes",
    "role_change_attempts",
    "break_glass",
    "chain",
    "chain_heads",
    "alerts",
)


async def copy_store(path: Path, url: str) -> None:
    src = sqlite3.connect(path)
    dst = await asyncpg.connect(url)
    try:
        for table in TABLES:
            cursor = src.execute(f"SELECT * FROM {table}")
            columns = [d[0] for d in cursor.description]
            records = [tuple(r) for r in cursor]
            if records:
                await dst.copy_records_to_table(table, records=records, columns=columns)
        fts = [tuple(r) for r in src.execute("SELECT rowid, reason, names, changes FROM audit_fts")]
        if fts:
            await dst.copy_records_to_table(
                "audit_fts", records=fts, columns=["entry_id", "reason", "names", "changes"]
            )
        await dst.execute("ANALYZE")
    finally:
        src.close()
        await dst.close()
