"""A console on a PostgreSQL store follows another process's collector live, without polling:
the collector's notification brings the rows, a cut network shows in the header as "store lost ·
reconnecting", and once the store is back the console catches up with what it missed."""

from __future__ import annotations

import asyncio
from typing import Any

from faults.tcp_proxy import TcpProxy

from console.model.snowflake import from_ms
from console.store import watching
from console.store.postgres.store import PgStore
from console.ui.app import ConsoleApp
from console.ui.widgets.feed import FeedView
from console.ui.widgets.status import StatusBar

from .seed import FROZEN_MS, frozen_clock

GUILD = 1_000_000_000_000_001
LOST = "store lost · reconnecting"


def entries(first: int, n: int) -> list[dict[str, Any]]:
    return [
        {
            "id": str(from_ms(FROZEN_MS - 60_000 + first + i)),
            "action_type": 22,
            "user_id": "1",
            "target_id": "2",
            "reason": "from the collector",
        }
        for i in range(n)
    ]


async def until(pilot: Any, check: Any) -> None:
    """Lets the app run, in short steps, until ``check()`` holds (bounded; fails if never)."""
    for _ in range(2400):  # 2 minutes and more: only a hung console runs out
        if check():
            return
        await pilot.pause(0.05)
    assert check()


async def test_a_console_follows_a_collector_on_postgres_and_says_when_the_store_is_lost(
    pg_url: str, monkeypatch: Any
) -> None:
    # Polling would also bring the rows on SQLite: make it never come, to be sure it is not what does.
    monkeypatch.setattr(watching, "POLL_S", 3600.0)
    host_port = pg_url.partition("@")[2].partition("/")[0]
    host, _, port = host_port.partition(":")
    proxy = TcpProxy(host, int(port or 5432))
    await proxy.start()
    collector = await PgStore.open(pg_url, clock=frozen_clock)  # another process's, as far as the app knows
    await collector.add_entries(entries(0, 3), source="gateway", guild_id=GUILD, received_at=FROZEN_MS)
    proxied = pg_url.replace(host_port, f"127.0.0.1:{proxy.port}")
    app = ConsoleApp(
        open_store=lambda: PgStore.open(proxied, readonly=True, clock=frozen_clock),
        label="browse",
        clock=frozen_clock,
        remember=False,
    )
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            feed = app.query_one(FeedView)
            header = app.query_one(StatusBar)
            await until(pilot, lambda: feed.snapshot.total == 3)
            follower = app.store._follower  # type: ignore[attr-defined]
            assert follower is not None
            assert follower.received == 0

            await collector.add_entries(entries(10, 2), source="gateway", guild_id=GUILD, received_at=FROZEN_MS)
            await until(pilot, lambda: feed.snapshot.total == 5)
            assert follower.received == 1  # the notification brought them
            assert feed.current is not None
            assert feed.current.id == from_ms(FROZEN_MS - 60_000 + 11)

            proxy.down = True
            proxy.cut()
            await until(pilot, lambda: LOST in header.render().plain)
            await collector.add_entries(entries(20, 4), source="gateway", guild_id=GUILD, received_at=FROZEN_MS)
            await pilot.pause(0.3)
            assert feed.snapshot.total == 5  # nobody told it: it is cut off
            proxy.down = False
            await until(pilot, lambda: LOST not in header.render().plain)
            await until(pilot, lambda: feed.snapshot.total == 9)  # caught up, nothing twice
            assert feed.current is not None
            assert feed.current.id == from_ms(FROZEN_MS - 60_000 + 23)
            await asyncio.sleep(0)
    finally:
        await collector.close()
        await proxy.stop()
