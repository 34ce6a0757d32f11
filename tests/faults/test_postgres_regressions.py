"""What the PostgreSQL fault case (case_postgres.py) found, pinned by focused tests against a real
server of the test's own, reached through the TCP proxy the fault suite controls:

- a role call Discord answered while the store was gone (the attempt could not be recorded) was
  made again: the reconciler now remembers the call before recording it, and looks first;
- the writer reconnects on its own once the server is back (and the collector's lock with it).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from pgtest import Cluster  # noqa: E402
from tcp_proxy import TcpProxy  # noqa: E402

from console.roles.api import ApiResult  # noqa: E402
from console.roles.reconciler import Reconciler, Schedule, new_change  # noqa: E402
from console.sim.testing import eventually  # noqa: E402
from console.store.errors import CollectorRunningError, StoreFullError  # noqa: E402
from console.store.postgres.store import PgStore  # noqa: E402

GUILD = 1068071824103702529


class SlowDiscord:
    """Applies a role call at once and answers it only after the wire to the store is cut."""

    def __init__(self, proxy: TcpProxy) -> None:
        self.proxy = proxy
        self.calls: list[tuple[str, int, int]] = []
        self.roles: dict[int, set[int]] = {}

    async def add_role(self, guild_id: int, member_id: int, role_id: int, reason: str) -> ApiResult:
        self.calls.append(("PUT", member_id, role_id))
        self.roles.setdefault(member_id, set()).add(role_id)
        if len(self.calls) == 1:
            self.proxy.down = True
            self.proxy.cut()
        return ApiResult(204, 1)

    async def remove_role(self, guild_id: int, member_id: int, role_id: int, reason: str) -> ApiResult:
        raise AssertionError("not used")

    async def member_roles(self, guild_id: int, member_id: int) -> tuple[ApiResult, frozenset[int] | None]:
        return ApiResult(200, 1), frozenset(self.roles.get(member_id, ()))

    async def post_message(self, channel_id: int, content: str) -> tuple[ApiResult, str | None]:
        return ApiResult(200, 1), "1"


async def test_a_call_answered_while_the_store_is_gone_is_not_made_again(pg_cluster: Cluster) -> None:
    proxy = TcpProxy("127.0.0.1", pg_cluster.port)
    await proxy.start()
    store = await PgStore.open(f"postgresql://postgres@127.0.0.1:{proxy.port}/postgres")
    discord = SlowDiscord(proxy)
    reconciler = Reconciler(store, discord, schedule=Schedule(first_s=0.2))  # type: ignore[arg-type]
    try:
        change = new_change(
            store, GUILD, 42, 7, "grant", reason="v", requested_by=1, source="CLI", decision_id=None, deadline_s=60
        )
        await store.record_role_change(change)
        await reconciler.start()
        await eventually(lambda: store.write_failure is not None, 10, "the attempt failed to record")
        proxy.down = False
        await eventually(lambda: reconciler.pending() == [], 15, "confirmed once the store is back")
        assert (await store.role_change(change.id)).state == "confirmed"  # type: ignore[union-attr]
        assert discord.calls == [("PUT", 42, 7)], "called Discord again for a change it had made"
    finally:
        await reconciler.stop()
        await store.close()
        await proxy.stop()


async def test_the_writer_reconnects_after_a_restart_and_the_collector_lock_is_taken_back(pg_cluster: Cluster) -> None:
    store = await PgStore.open(pg_cluster.url)
    try:
        pg_cluster.stop("fast")
        with pytest.raises(StoreFullError):
            await store.probe_write()
        assert store.write_failure is not None
        pg_cluster.start()

        async def written() -> bool:
            try:
                await store.probe_write()
            except StoreFullError:
                return False
            return True

        await eventually(written, 15, "a write commits again")
        assert store.write_failure is None
        # A second collector is still refused: the heartbeat took the lock back on a new lock
        # connection, and the epoch is still this store's (nobody took over).
        assert store.leadership is not None
        leadership = store.leadership
        await eventually(lambda: leadership.locked, 15, "the collector lock taken back")
        assert leadership.epoch == 1
        assert leadership.deposed is None
        with pytest.raises(CollectorRunningError):
            await PgStore.open(pg_cluster.url)
        assert await store.fetchval("SELECT 1") == 1  # the reading pool is usable again
    finally:
        await store.close()


async def test_a_silent_cut_fails_the_write_as_a_lost_connection(
    pg_cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Packets that vanish without a reset (a dead link, a firewall dropping the flow): the
    write gives up after the command timeout and the store is degraded, instead of waiting on
    TCP's own timeouts; once the wire works again, the next write commits."""
    from console.store.postgres import store as pg_store

    monkeypatch.setattr(pg_store, "COMMAND_TIMEOUT", 1.0)
    proxy = TcpProxy("127.0.0.1", pg_cluster.port)
    await proxy.start()
    store = await PgStore.open(f"postgresql://postgres@127.0.0.1:{proxy.port}/postgres")
    try:
        await store.set_setting("before", "1")
        proxy.stalled = True
        with pytest.raises(StoreFullError, match="lost the connection to PostgreSQL"):
            await store.set_setting("during", "1")
        assert store.write_failure is not None
        proxy.stalled = False
        proxy.cut()  # the stalled connection is useless now; the link itself is back

        async def commits() -> bool:
            try:
                await store.set_setting("after", "1")
            except StoreFullError:
                return False
            return True

        await eventually(commits, timeout=15)
        assert store.write_failure is None
        assert await store.setting("during") is None
        assert await store.setting("after") == "1"
    finally:
        await store.close()
        await proxy.stop()
