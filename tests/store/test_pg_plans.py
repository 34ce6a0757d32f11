"""How the PostgreSQL store's reads are planned: each with its own arguments. A generic plan
(which PostgreSQL may keep for a prepared statement after five runs) cannot tell a rare
full-text word from a common one; the one it kept walked every entry by id (docs/performance.md,
the PostgreSQL rows). Writes keep PostgreSQL's default: ``executemany`` would plan every row."""

from __future__ import annotations

import pytest

from console.store.postgres.store import PgStore


@pytest.mark.parametrize("readonly", [False, True])
async def test_reads_are_planned_with_their_arguments(pg_url: str, readonly: bool) -> None:
    await (await PgStore.open(pg_url)).close()
    store = await PgStore.open(pg_url, readonly=readonly)
    try:
        for _ in range(6):  # every pooled connection alike, past the fifth run of a statement
            assert await store.fetchval("SELECT current_setting('plan_cache_mode')") == "force_custom_plan"
        if not readonly:
            async with store.transaction() as db:
                assert await db.fetchval("SELECT current_setting('plan_cache_mode')") == "auto"
    finally:
        await store.close()
