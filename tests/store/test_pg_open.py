"""Opening a PostgreSQL store: created and migrated on an empty database, refused (one line,
nothing changed) on someone else's tables, a newer schema, a missing database or server."""

from __future__ import annotations

import asyncpg
import pytest
from pgtest import free_port, with_database

from console.store.errors import CollectorRunningError, StoreError
from console.store.postgres.schema import SCHEMA_VERSION
from console.store.postgres.store import PgStore, display_url


async def _tables(url: str) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        found = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    finally:
        await conn.close()
    return {r["tablename"] for r in found}


async def test_an_empty_database_gets_the_schema_once(pg_url: str) -> None:
    store = await PgStore.open(pg_url)
    await store.close()
    store = await PgStore.open(pg_url)  # again: nothing to do
    await store.close()
    assert {"audit_entries", "chain", "meta", "role_changes"} <= await _tables(pg_url)
    conn = await asyncpg.connect(pg_url)
    try:
        assert await conn.fetchval("SELECT value FROM meta WHERE key = 'schema_version'") == str(SCHEMA_VERSION)
    finally:
        await conn.close()


async def test_someone_elses_tables_are_refused_and_left_alone(pg_url: str) -> None:
    conn = await asyncpg.connect(pg_url)
    await conn.execute("CREATE TABLE invoices (id int)")
    await conn.close()
    with pytest.raises(StoreError, match="not an Audit Console store; refusing to touch them"):
        await PgStore.open(pg_url)
    assert await _tables(pg_url) == {"invoices"}


async def test_a_newer_schema_is_refused(pg_url: str) -> None:
    store = await PgStore.open(pg_url)
    await store.close()
    conn = await asyncpg.connect(pg_url)
    await conn.execute("UPDATE meta SET value = $1 WHERE key = 'schema_version'", str(SCHEMA_VERSION + 1))
    await conn.close()
    with pytest.raises(StoreError, match=f"newer Audit Console \\(schema {SCHEMA_VERSION + 1}"):
        await PgStore.open(pg_url)


async def test_reading_an_empty_database_creates_nothing(pg_url: str) -> None:
    with pytest.raises(StoreError, match="holds no Audit Console store yet"):
        await PgStore.open(pg_url, readonly=True)
    assert await _tables(pg_url) == set()


async def test_a_missing_database_and_a_missing_server_are_one_line_each(pg_url: str) -> None:
    missing = with_database(pg_url, "ac_no_such_database")
    with pytest.raises(StoreError, match='database "ac_no_such_database" does not exist') as e:
        await PgStore.open(missing)
    assert "\n" not in str(e.value)
    with pytest.raises(StoreError, match="cannot reach PostgreSQL at postgresql://postgres@127.0.0.1:") as e:
        await PgStore.open(f"postgresql://postgres@127.0.0.1:{free_port()}/x")
    assert "\n" not in str(e.value)


async def test_one_collector_per_database(pg_url: str) -> None:
    first = await PgStore.open(pg_url)
    try:
        # Its own type, as SQLite's lock file gives: `role grant` then hands the request in.
        with pytest.raises(CollectorRunningError, match="in use by another collecting Audit Console"):
            await PgStore.open(pg_url)
        beside = await PgStore.open(pg_url, collector_lock=False)
        await beside.close()
    finally:
        await first.close()
    again = await PgStore.open(pg_url)  # the lock went with the first one's connection
    await again.close()


def test_a_password_never_shows() -> None:
    assert display_url("postgresql://mod:s3cret@db.example:5432/audit?sslmode=require") == (
        "postgresql://mod@db.example:5432/audit"
    )
