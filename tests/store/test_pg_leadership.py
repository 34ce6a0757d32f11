"""Leadership on a PostgreSQL store: the collector that takes the lock bumps the epoch, and every
write transaction of a collecting store is fenced by it, so a deposed collector commits nothing."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from console.model.records import Attempt
from console.roles.api import ApiResult
from console.roles.reconciler import Reconciler, Schedule, new_change
from console.sim.testing import eventually
from console.store.errors import CollectorRunningError, DeposedError
from console.store.postgres.leadership import HEARTBEAT_S
from console.store.postgres.schema import APPLICATION, MIGRATIONS
from console.store.postgres.store import PgStore


async def _cut_lock_connection(url: str) -> None:
    """End the session holding the collector's advisory lock, as a vanished machine's would end."""
    admin = await asyncpg.connect(url)
    try:
        pid = await admin.fetchval(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND database ="
            " (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        assert pid is not None
        assert await admin.fetchval("SELECT pg_terminate_backend($1, 5000)", pid)
    finally:
        await admin.close()


async def test_the_next_collector_takes_over_and_the_deposed_one_commits_nothing(pg_url: str) -> None:
    deposed: list[str] = []
    first = await PgStore.open(pg_url, on_deposed=deposed.append)
    second = None
    try:
        assert first.leadership is not None
        epoch = first.leadership.epoch
        await first.set_hwm(1, 100)
        with pytest.raises(CollectorRunningError, match="in use by another collecting Audit Console .*pid"):
            await PgStore.open(pg_url)
        await _cut_lock_connection(pg_url)
        standing: list[str] = []
        second = await PgStore.open(pg_url, standby=standing.append)
        assert second.leadership is not None
        assert second.leadership.epoch == epoch + 1
        # The first one was not told; its writer connection is alive. Its next write is refused.
        with pytest.raises(DeposedError, match="^deposed: another collector took over .* writes nothing more$"):
            await first.set_hwm(1, 200)
        assert deposed
        assert deposed[0].startswith("deposed:")
        with pytest.raises(DeposedError):
            await first.upsert_names(1, "user", [(5, "late")])
        assert first.write_failure is not None
        assert first.write_failure.startswith("deposed:")
        assert await second.hwm(1) == 100
        assert await second.fetchval("SELECT count(*) FROM names WHERE id = 5") == 0
        await second.set_hwm(1, 300)  # the new leader writes
        assert await second.hwm(1) == 300
    finally:
        await first.close()
        if second is not None:
            await second.close()


async def test_an_idle_deposed_collector_learns_it_from_its_heartbeat(pg_url: str) -> None:
    deposed: list[str] = []
    first = await PgStore.open(pg_url, on_deposed=deposed.append)
    try:
        await _cut_lock_connection(pg_url)
        second = await PgStore.open(pg_url, standby=lambda line: None)
        try:
            for _ in range(int(HEARTBEAT_S * 20)):  # a few heartbeats at most
                if deposed:
                    break
                await asyncio.sleep(0.25)
            assert deposed
            assert "epoch 2" in deposed[0]
        finally:
            await second.close()
    finally:
        await first.close()


async def test_a_standby_waits_and_says_who_is_active(pg_url: str) -> None:
    first = await PgStore.open(pg_url)
    lines: list[str] = []
    waiting = asyncio.create_task(PgStore.open(pg_url, standby=lines.append))
    try:
        while not lines:
            await asyncio.sleep(0.05)
        assert lines[0].startswith("standing by: ")
        assert "(epoch 1) is active since" in lines[0]
        assert not waiting.done()
        await first.close()  # a clean stop frees the lock: the standby takes over
        second = await asyncio.wait_for(waiting, 15)
        assert second.leadership is not None
        assert second.leadership.epoch == 2
        await second.close()
    finally:
        waiting.cancel()
        await first.close()


async def test_a_schema_1_store_gets_the_leadership_table_and_the_attempts_epoch(pg_url: str) -> None:
    # A store as schema 1 made it (later migrations add more than the leadership table).
    conn = await asyncpg.connect(pg_url)
    await conn.execute(MIGRATIONS[0])
    await conn.execute("INSERT INTO meta (key, value) VALUES ('application', $1), ('schema_version', '1')", APPLICATION)
    await conn.close()
    store = await PgStore.open(pg_url)
    try:
        assert store.leadership is not None
        assert store.leadership.epoch == 1
        await store.set_hwm(1, 5)
        assert await store.fetchval(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 'role_change_attempts'"
            " AND column_name = 'epoch'"
        )
    finally:
        await store.close()


class CountingDiscord:
    """Discord's role API as far as the reconciler sees it: every call kept, each one applied."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, int]] = []
        self.roles: dict[int, set[int]] = {}

    async def add_role(self, guild_id: int, member_id: int, role_id: int, reason: str) -> ApiResult:
        self.calls.append(("PUT", member_id, role_id))
        self.roles.setdefault(member_id, set()).add(role_id)
        return ApiResult(204, 1)

    async def remove_role(self, guild_id: int, member_id: int, role_id: int, reason: str) -> ApiResult:
        self.calls.append(("DELETE", member_id, role_id))
        self.roles.setdefault(member_id, set()).discard(role_id)
        return ApiResult(204, 1)

    async def member_roles(self, guild_id: int, member_id: int) -> tuple[ApiResult, frozenset[int] | None]:
        self.calls.append(("GET", member_id, 0))
        return ApiResult(200, 1), frozenset(self.roles.get(member_id, ()))

    async def post_message(self, channel_id: int, content: str) -> tuple[ApiResult, str | None]:
        return ApiResult(200, 1), "1"


async def test_a_deposed_collector_calls_discord_no_more_before_it_writes_anything(pg_url: str) -> None:
    """The old leader has written nothing since the takeover (so no fence has failed yet, nor its
    heartbeat): its reconciler still asks the store before any call, and stops."""
    first = await PgStore.open(pg_url)
    second = None
    discord = CountingDiscord()
    reconciler = Reconciler(first, discord, schedule=Schedule(first_s=0.2))  # type: ignore[arg-type]
    try:
        change = new_change(
            first, 1, 42, 7, "grant", reason="v", requested_by=1, source="CLI", decision_id=None, deadline_s=60
        )
        await first.record_role_change(change)
        await _cut_lock_connection(pg_url)
        second = await PgStore.open(pg_url, standby=lambda line: None)
        assert first.leadership is not None
        assert first.leadership.deposed is None  # not told yet
        await reconciler.start()
        await eventually(lambda: reconciler.deposed is not None, 10, "the reconciler stopped")
        assert reconciler.deposed is not None
        assert reconciler.deposed.startswith("deposed:")
        assert discord.calls == []
        assert reconciler.pending() == []
        stored = await second.role_change(change.id)
        assert stored is not None
        assert stored.state == "pending"  # the new leader's to carry out
        assert await second.attempts(change.id) == []
    finally:
        await reconciler.stop()
        await first.close()
        if second is not None:
            await second.close()


async def test_each_attempt_records_the_epoch_that_made_it(pg_url: str) -> None:
    first = await PgStore.open(pg_url)
    second = None
    try:
        change = new_change(
            first, 1, 42, 7, "grant", reason="v", requested_by=1, source="CLI", decision_id=None, deadline_s=60
        )
        await first.record_role_change(change)
        await first.record_attempt(Attempt(0, change.id, 1, 204, 3, "PUT accepted", None))
        await _cut_lock_connection(pg_url)
        second = await PgStore.open(pg_url, standby=lambda line: None)
        await second.record_attempt(Attempt(0, change.id, 2, 204, 3, "PUT accepted", None))
        with pytest.raises(DeposedError):
            await first.record_attempt(Attempt(0, change.id, 3, 204, 3, "PUT accepted", None))
        rows = await second.fetch(
            "SELECT at, epoch FROM role_change_attempts WHERE change_id = $1 ORDER BY id", change.id
        )
        assert [tuple(r) for r in rows] == [(1, 1), (2, 2)]
        # Not part of the record itself: the contract's Attempt reads back as before.
        assert [a.observed for a in await second.attempts(change.id)] == ["PUT accepted"] * 2
    finally:
        await first.close()
        if second is not None:
            await second.close()
