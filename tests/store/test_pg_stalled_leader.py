"""The leader's network goes silent in the middle of a write transaction (bytes dropped, no reset):
its server sessions wait for a client that says nothing, one of them holding the leadership row
FOR SHARE, which the next leader's epoch bump waits for. The leader's heartbeat gives up and frees
the lock, the writer's session ends after its idle timeout, and the standby takes over."""

from __future__ import annotations

import asyncio
import contextlib

from faults.tcp_proxy import TcpProxy

from console.store.postgres.store import PgStore


async def test_a_standby_takes_over_from_a_leader_stalled_mid_transaction(pg_url: str) -> None:
    host_port = pg_url.partition("@")[2].partition("/")[0]
    host, _, port = host_port.partition(":")
    proxy = TcpProxy(host, int(port or 5432))
    await proxy.start()
    first = await PgStore.open(pg_url.replace(host_port, f"127.0.0.1:{proxy.port}"))
    assert first.leadership is not None
    epoch = first.leadership.epoch
    stalled = asyncio.Event()

    async def write_into_the_silence() -> None:
        async with first.transaction() as db:  # fenced: the leadership row is held FOR SHARE
            proxy.stalled = True
            stalled.set()
            await db.execute("SELECT 1")  # never answered

    writing = asyncio.create_task(write_into_the_silence())
    second = None
    try:
        await stalled.wait()
        standing: list[str] = []
        second = await asyncio.wait_for(PgStore.open(pg_url, standby=standing.append), 60)
        assert second.leadership is not None
        assert second.leadership.epoch == epoch + 1
        assert standing[0].startswith("standing by: ")
        assert standing[-1] == f"taking over: epoch {epoch + 1}"
        await second.set_hwm(1, 100)  # its fenced writes commit
        assert await second.hwm(1) == 100
    finally:
        proxy.stalled = False
        proxy.cut()
        writing.cancel()
        with contextlib.suppress(BaseException):
            await writing
        await first.close()
        if second is not None:
            await second.close()
        await proxy.stop()
