"""Shared fixtures: a started SimServer (small heartbeat) and real hikari clients on it."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import hikari
import pytest

# Same convention as tests/store: helpers are a plain module next to this file, importable
# under --import-mode=importlib too.
sys.path.insert(0, str(Path(__file__).parent))

from sim_helpers import FIXED_NOW, INTENTS, BotHandle, Captured  # noqa: E402

from console.sim import SimConfig, SimServer  # noqa: E402


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    server = SimServer(SimConfig(seed=1, heartbeat_interval_ms=400, clock=lambda: FIXED_NOW))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def bot(sim: SimServer) -> AsyncIterator[BotHandle]:
    """A real GatewayBot connected (READY seen by the sim) that records raw and typed events."""
    gateway_bot = hikari.GatewayBot(sim.token, rest_url=sim.rest_url, banner=None, logs=None, intents=INTENTS)
    seen = Captured()

    async def on_payload(event: hikari.ShardPayloadEvent) -> None:
        seen.raw.append((event.name, dict(event.payload)))

    async def on_entry(event: hikari.AuditLogEntryCreateEvent) -> None:
        seen.typed_entries.append(event.entry)

    loop = asyncio.get_running_loop()
    previous_handler = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: seen.loop_errors.append(context))
    gateway_bot.subscribe(hikari.ShardPayloadEvent, on_payload)
    gateway_bot.subscribe(hikari.AuditLogEntryCreateEvent, on_entry)
    await gateway_bot.start(check_for_updates=False)
    await sim.gateway.wait_identified(1, timeout=10)
    try:
        yield BotHandle(gateway_bot, seen)
    finally:
        await gateway_bot.close()
        loop.set_exception_handler(previous_handler)


@pytest.fixture
async def rest(sim: SimServer) -> AsyncIterator[hikari.api.RESTClient]:
    """A REST-only hikari client (RESTApp) authorised with the sim's bot token."""
    app = hikari.RESTApp(url=sim.rest_url)
    await app.start()
    try:
        async with app.acquire(sim.token, hikari.TokenType.BOT) as client:
            yield client
    finally:
        await app.close()
