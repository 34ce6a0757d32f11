"""``AuditStore.watch``: a store follows commits made by another store object (another process,
another machine) as well as its own — each of its own batches once, never again as another's —
and after its link to the server was cut it says so, then has its watchers catch up from their
cursor: nothing missed, nothing twice. On PostgreSQL through LISTEN/NOTIFY (one notification per
committed batch, a dedicated listening connection), on SQLite by polling data_version."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from faults.tcp_proxy import TcpProxy
from store_helpers import GUILDS, NOW_MS, OpenStore, raw_entry, snowflake

from console.model.filters import Filter
from console.store import AuditStore, IngestResult
from console.store.postgres import notify
from console.store.postgres.store import PgStore

BACKENDS = ("sqlite", "postgres")
GUILD = GUILDS[0]
#: How many short waits a test gives something that should happen (bounded, not timed).
PATIENCE = 200


def batch(first: int, n: int) -> list[dict[str, Any]]:
    return [raw_entry(snowflake(NOW_MS + first + i), 22, user_id=1, target_id=2) for i in range(n)]


async def write(store: AuditStore, first: int, n: int) -> list[int]:
    result = await store.add_entries(batch(first, n), source="gateway", guild_id=GUILD, received_at=NOW_MS)
    return list(result.inserted)  # a copy: the tests extend it


async def until(check: Any) -> None:
    """Waits, in short steps, until ``check()`` holds (fails the test if it never does)."""
    for _ in range(PATIENCE):
        if check():
            return
        await asyncio.sleep(0.05)
    assert check()


class Console:
    """What a console does with its store's watch: on every notification, a keyset read of what
    is newer than its cursor."""

    def __init__(self, store: AuditStore) -> None:
        self.store = store
        self.told: list[IngestResult] = []
        self.links: list[str | None] = []
        self.seen: list[int] = []
        self.cursor = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.unsubscribe = await self.store.watch(self._told, self.links.append)
        self._task = asyncio.get_running_loop().create_task(self._follow())

    def _told(self, result: IngestResult) -> None:
        self.told.append(result)
        self._wake.set()

    async def _follow(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while page := await self.store.page(Filter(newest_first=False), after=self.cursor, limit=100):
                self.seen += [e.id for e in page]
                self.cursor = page[-1].id

    async def stop(self) -> None:
        self.unsubscribe()
        if self._task is not None:
            self._task.cancel()


async def test_another_stores_batches_reach_a_watcher(open_store: OpenStore) -> None:
    """A console opened read-only follows a collector's batches; the collector's own watch gets
    each of its batches once."""
    collector = await open_store()
    browsing = await open_store(readonly=True)
    console = Console(browsing)
    await console.start()
    own: list[IngestResult] = []
    await collector.watch(own.append)
    written = await write(collector, 0, 3)
    await until(lambda: console.seen == written)
    written += await write(collector, 10, 2)
    await until(lambda: console.seen == written)
    assert all(r.elsewhere for r in console.told)
    assert [r.inserted for r in own] == [written[:3], written[3:]]
    assert not any(r.elsewhere for r in own)
    await console.stop()


@pytest.mark.backends("postgres")
async def test_one_notification_per_batch_and_none_of_ones_own(pg_url: str) -> None:
    collector = await PgStore.open(pg_url)
    browsing = await PgStore.open(pg_url, readonly=True)
    marker = await PgStore.open(pg_url, collector_lock=False)
    try:
        told: list[IngestResult] = []
        own: list[IngestResult] = []
        await browsing.watch(told.append)
        await collector.watch(own.append)
        first = await write(collector, 0, 3)
        second = await write(collector, 10, 5)
        await until(lambda: len(told) == 2)
        assert [(r.elsewhere, r.kinds, r.inserted, r.guild_ids) for r in told] == [
            (True, frozenset({"entries"}), [first[0], first[-1]], {GUILD}),
            (True, frozenset({"entries"}), [second[0], second[-1]], {GUILD}),
        ]
        # Notifications arrive in commit order: once the collector's watch has heard the
        # marker's, it has heard its own two as well — and skipped them.
        await write(marker, 20, 1)
        await until(lambda: len(own) == 3)
        assert [r.elsewhere for r in own] == [False, False, True]
        assert [r.inserted for r in own[:2]] == [first, second]
        await until(lambda: len(told) == 3)  # the browsing store listens on a connection of its own
        # A transaction that wrote nothing the store describes still says that something changed.
        await collector.set_setting("x", "1")
        await until(lambda: len(told) == 4)
        assert told[-1].kinds == frozenset({"state"})
        assert collector._follower is not None
        assert collector._follower.received == 1
    finally:
        for store in (collector, browsing, marker):
            await store.close()


def test_a_payload_stays_small_and_a_foreign_one_means_catch_up() -> None:
    owner = object()
    big = notify.Batch(owner)
    result = IngestResult(guild_ids=set(range(1, 1000)), changed=[("role_change", 10**18 + i) for i in range(5000)])
    result.inserted = list(range(10**18, 10**18 + 100_000))
    big.results.append(result)
    text = notify.payload("t" * 12, big)
    assert len(text.encode()) < 200  # far below the server's 8,000 bytes
    heard = notify.heard(text, "other")
    assert heard is not None
    assert heard.elsewhere
    assert heard.kinds == frozenset()
    assert notify.heard(text, "t" * 12) is None  # one's own
    for foreign in ["", "null", "[1]", '{"k": ["entries"], "g": "x", "c": [[1, 2], ["gap", "3"]]}']:
        heard = notify.heard(foreign, "mine")
        assert heard is not None
        assert heard.elsewhere
        assert heard.changed == []
        assert heard.guild_ids == set()


@pytest.mark.backends("postgres")
async def test_after_a_cut_the_watcher_says_so_and_catches_up(pg_url: str) -> None:
    host_port = pg_url.partition("@")[2].partition("/")[0]
    host, _, port = host_port.partition(":")
    proxy = TcpProxy(host, int(port or 5432))
    await proxy.start()
    collector = await PgStore.open(pg_url)
    browsing = await PgStore.open(pg_url.replace(host_port, f"127.0.0.1:{proxy.port}"), readonly=True)
    console = Console(browsing)
    try:
        await console.start()
        written = await write(collector, 0, 3)
        await until(lambda: console.seen == written)
        proxy.down = True
        proxy.cut()
        await until(lambda: console.links and console.links[-1] is not None)
        assert "PostgreSQL" in str(console.links[-1])
        written += await write(collector, 10, 4)  # told to nobody: the listener is cut off
        written += await write(collector, 20, 2)
        proxy.down = False
        await until(lambda: console.links[-1] is None)
        await until(lambda: console.seen == written)
        assert len(set(console.seen)) == len(console.seen) == 9  # nothing missed, nothing twice
        assert browsing._follower is not None
        assert browsing._follower.reconnects >= 1
        written += await write(collector, 30, 1)  # and it follows again
        await until(lambda: console.seen == written)
    finally:
        await console.stop()
        await browsing.close()
        await collector.close()
        await proxy.stop()
