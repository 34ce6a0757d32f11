"""The real hikari client against the simulator over loopback, into a real store: a SQLite file,
or a PostgreSQL database of the test's own where the test (or its module's ``BACKENDS``) asks for
both backends (the ``backend`` parameter, tests/conftest.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from console.discord.bot import HikariGateway
from console.ingest.collector import Collector
from console.model.location import PgLocation, StoreLocation
from console.secret import Secret
from console.sim import SimConfig, SimServer
from console.sim.testing import eventually
from console.store import AuditStore, open_store

#: Both store backends: a module's ``BACKENDS`` (or a test's ``backends`` marker) once it proves
#: ingest on each.
BOTH = ("sqlite", "postgres")


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
def location(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> StoreLocation:
    """The test's store: a SQLite file in ``tmp_path``, or its own PostgreSQL database."""
    if backend == "postgres":
        return PgLocation(request.getfixturevalue("pg_url"))
    return tmp_path / "audit.db"


@pytest.fixture
async def console(sim: SimServer, location: StoreLocation) -> AsyncIterator[Console]:
    c = Console(sim, location)
    try:
        yield c
    finally:
        await c.stop()


def db_arg(location: StoreLocation) -> str:
    """``location`` as ``--db`` takes it."""
    return location.url if isinstance(location, PgLocation) else str(location)


async def query(location: StoreLocation, sql: str) -> list[tuple[Any, ...]]:
    """``sql`` (plain SQL both backends take, no parameters) on its own connection to the store at
    ``location``, as another program would look: what a command in its own process committed.
    [] when there is no store yet."""
    if isinstance(location, PgLocation):
        import asyncpg

        try:
            conn = await asyncpg.connect(location.url, timeout=10)
        except asyncpg.InvalidCatalogNameError:
            return []
        try:
            return [tuple(r) for r in await conn.fetch(sql)]
        except asyncpg.UndefinedTableError:
            return []
        finally:
            await conn.close()
    try:
        conn = sqlite3.connect(f"file:{location}?mode=ro", uri=True)
    except sqlite3.Error:
        return []
    try:
        return [tuple(r) for r in conn.execute(sql).fetchall()]
    except sqlite3.Error:
        return []
    finally:
        conn.close()
