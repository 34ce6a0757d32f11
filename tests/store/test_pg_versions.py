"""The versions the README names: the store works the same on PostgreSQL 15 (the machine's
server) and 16 (pgserver's): created, written, searched, paged, verified, reopened read-only."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from store_helpers import NOW_MS, raw_entry, snowflake

from console.model.filters import Filter
from console.store.postgres.store import PgStore
from console.store.postgres.verify import verify_postgres

G = 1_000_000_000_000_001
ACTOR = 2_000_000_000_000_001


async def _major(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SHOW server_version_num")) // 10000
    finally:
        await conn.close()


@pytest.mark.parametrize("server", ["pg_url", "pg16_url"])
async def test_one_store_on_each_supported_version(server: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue(server)
    if server == "pg16_url":
        assert await _major(url) == 16
    else:
        assert await _major(url) >= 15
    store = await PgStore.open(url, clock=lambda: NOW_MS)
    try:
        ids = [snowflake(NOW_MS - 10_000 + i, i) for i in range(40)]
        raws = [raw_entry(i, 22, user_id=ACTOR, target_id=n + 5, reason=f"raid wave {n}") for n, i in enumerate(ids)]
        result = await store.add_entries(raws, source="backfill", guild_id=G)
        assert len(result.inserted) == 40
        refs = await store.timeline_page(Filter(text="raid"), anchor=None, offset=0, limit=10)
        assert [r.id for r in refs] == sorted(ids, reverse=True)[:10]
        assert await store.timeline_count(Filter(text="wave 7"), cap=100) == 1
    finally:
        await store.close()
    report = await asyncio.to_thread(verify_postgres, url)
    assert report.ok, report.problems
    assert report.links == 40
    reader = await PgStore.open(url, readonly=True)
    try:
        assert await reader.count(Filter()) == 40
    finally:
        await reader.close()
