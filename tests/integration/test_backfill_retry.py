"""A backfill that fails (Discord refuses, the store is locked) is tried again on its own: what it
was to recover must not stay missing until the next new session. (Found by the fault suite: with
another program holding the store's write lock at start, the first backfill failed and the
entries it was to recover never arrived.)"""

from __future__ import annotations

from backends import BOTH

from console.discord.bot import HikariGateway
from console.ingest.collector import Collector
from console.model.location import StoreLocation
from console.secret import Secret
from console.sim import SimServer
from console.store import open_store

from .conftest import eventually
from .test_ingest import assert_matches_ground_truth

BACKENDS = BOTH


async def test_a_failed_backfill_is_retried_until_it_recovers(sim: SimServer, location: StoreLocation) -> None:
    store = await open_store(location)
    collector = Collector(store, guild_ids=[sim.guild_id])
    collector.retry_first_s = 0.3
    gateway = HikariGateway(Secret(sim.token), rest_url=sim.rest_url, events=collector)
    try:
        await collector.start(gateway)
        await eventually(lambda: collector.backfills, what="first sync")
        sim.knobs.rest_fail_status = 403  # the audit log refused (not retried by hikari itself)
        await sim.gateway.send_invalid_session(resumable=False)  # a new session: only REST recovers
        sim.emit_random(40)  # while no session is there to hear them
        await eventually(
            lambda: any(b.gap.status == "failed" for b in collector.backfills),
            15,
            what="the new session's backfill failing",
        )
        sim.knobs.rest_fail_status = None
        failed_at = next(i for i, b in enumerate(collector.backfills) if b.gap.status == "failed")
        await eventually(
            lambda: any(b.gap.status == "recovered" for b in collector.backfills[failed_at:]),
            15,
            what="the retry recovering",
        )
        await collector.wait_idle()
        await assert_matches_ground_truth(store, sim)
    finally:
        await collector.stop()
        await store.close()
