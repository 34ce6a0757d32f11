"""The tests' PostgreSQL is real and each test's database is its own."""

from __future__ import annotations

import asyncpg


async def test_each_test_gets_an_empty_database_of_its_own(pg_url: str) -> None:
    conn = await asyncpg.connect(pg_url)
    try:
        tables = await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        name = await conn.fetchval("SELECT current_database()")
        version = await conn.fetchval("SHOW server_version_num")
    finally:
        await conn.close()
    assert tables == 0
    assert name.startswith("ac_test_")
    assert int(version) >= 150000


async def test_a_cluster_of_the_tests_own_restarts(pg_cluster) -> None:  # type: ignore[no-untyped-def]
    conn = await asyncpg.connect(pg_cluster.url)
    await conn.close()
    pg_cluster.restart()
    conn = await asyncpg.connect(pg_cluster.url)
    try:
        assert await conn.fetchval("SELECT 1") == 1
    finally:
        await conn.close()
