"""The real hikari client against the simulator over loopback, into a real store: a SQLite file,
or a PostgreSQL database of the test's own where the test (or its module's ``BACKENDS``) asks for
both backends (the ``backend`` parameter and ``location``, tests/backends.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from console.discord.bot import HikariGateway
from console.ingest.collector import Collector
from console.model.location import StoreLocation
from console.secret import Secret
from console.sim import SimConfig, SimServer
from console.sim.testing import eventually
from console.store import AuditStore, open_store

from .team_logins import fresh_logins


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    server = SimServer(SimConfig(seed=7, heartbeat_interval_ms=500))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


class Console:
    """A collector run the way ``collect`` runs it; ``restart`` makes a fresh process-like run."""

    def __init__(self, sim: SimServer, db: StoreLocation) -> None:
        self.sim = sim
        self.db = db
        self.store: AuditStore | None = None
        self.collector: Collector | None = None

    async def start(self) -> Collector:
        self.store = await open_store(self.db)
        self.collector = Collector(self.store, guild_ids=[self.sim.guild_id])
        gateway = HikariGateway(Secret(self.sim.token), rest_url=self.sim.rest_url, events=self.collector)
        await self.collector.start(gateway)
        await eventually(lambda: self.collector.backfills, what="first backfill")
        await self.collector.wait_idle()
        return self.collector

    async def stop(self) -> None:
        if self.collector is not None:
            await self.collector.stop()
        if self.store is not None:
            await self.store.close()
        self.collector = self.store = None


@pytest.fixture
async def console(sim: SimServer, location: StoreLocation) -> AsyncIterator[Console]:
    c = Console(sim, location)
    try:
        yield c
    finally:
        await c.stop()


@pytest.fixture
async def logins(pg_url: str) -> AsyncIterator[list[str]]:
    """Fresh LOGIN roles (moderator, viewer, unmapped, collector), dropped after the test."""
    async for names in fresh_logins(pg_url):
        yield names
