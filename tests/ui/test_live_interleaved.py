"""A collector writes a batch as one transaction per guild, so live commits interleave ids: the
second commit's oldest record falls among the rows the feed already shows. The feed shifts its
positions from a row below it (no reload, no count over the store) and every position still holds
the record the store has there; a record older than the first page (a backfill) reloads."""

from __future__ import annotations

from typing import Any

from console.model.snowflake import from_ms
from console.store.postgres.store import PgStore
from console.ui.app import ConsoleApp
from console.ui.widgets.feed import FeedView

from .seed import FROZEN_MS, frozen_clock
from .test_live_pg import until

GUILDS = (1_000_000_000_000_001, 1_000_000_000_000_002)
SEEDED = 11_000


def entry(k: int, low: int = 0) -> dict[str, Any]:
    return {"id": str(from_ms(FROZEN_MS - 600_000 + k) + low), "action_type": 22, "user_id": "1", "target_id": "2"}


async def test_interleaved_commits_shift_the_feed_without_a_reload(pg_url: str) -> None:
    collector = await PgStore.open(pg_url, clock=frozen_clock)
    for first in range(0, SEEDED, 1000):  # past the count's cap (10,000): the feed indexes, anchors deep down
        await collector.add_entries(
            [entry(k) for k in range(first, first + 1000)], source="backfill", guild_id=GUILDS[0]
        )
    app = ConsoleApp(
        open_store=lambda: PgStore.open(pg_url, readonly=True, clock=frozen_clock),
        label="browse",
        clock=frozen_clock,
        remember=False,
    )

    async def store_order() -> list[int]:
        return [e.id for e in await collector.page(limit=SEEDED + 10)]

    async def positions_hold(feed: FeedView, pilot: Any, expected: list[int]) -> None:
        assert feed.snapshot.total == len(expected)
        for position in (0, 1, 5, 99, 100, 150, 1000, 1100, 10_500, len(expected) - 1):
            await until(pilot, lambda p=position: feed.record_at(p) is not None)
            assert feed.record_at(position).id == expected[position], position

    try:
        async with app.run_test(size=(120, 40)) as pilot:
            feed = app.query_one(FeedView)
            await until(pilot, lambda: len(feed.snapshot.anchors) > 1)  # the index is built
            # One batch, two guilds, two transactions: 20,000, 20,002, 20,004 then 20,001, 20,003, 20,005.
            await collector.add_entries(
                [entry(k) for k in (20_000, 20_002, 20_004)], source="gateway", guild_id=GUILDS[0]
            )
            await until(pilot, lambda: feed.snapshot.total == SEEDED + 3)
            generation = feed._generation
            await collector.add_entries(
                [entry(k) for k in (20_001, 20_003, 20_005)], source="gateway", guild_id=GUILDS[1]
            )
            await until(pilot, lambda: feed.snapshot.total == SEEDED + 6)
            assert feed._generation == generation  # shifted, not reloaded
            await positions_hold(feed, pilot, await store_order())

            # Older than every row of the first page: positions below it moved, read again.
            await collector.add_entries([entry(5_000, low=1)], source="backfill", guild_id=GUILDS[1])
            await until(pilot, lambda: feed.snapshot.total == SEEDED + 7)
            assert feed._generation > generation
            await until(pilot, lambda: len(feed.snapshot.anchors) > 1)
            await positions_hold(feed, pilot, await store_order())
    finally:
        await collector.close()
