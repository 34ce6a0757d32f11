"""Helpers shared by the simulator tests (imported as a top-level module, like store_helpers)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import hikari

#: A fixed "now" (2026-05-28) makes ids and retention reproducible; tests that need a moving
#: clock build their own config.
FIXED_NOW = 1_780_000_000.0
INTENTS = hikari.Intents.GUILDS | hikari.Intents.GUILD_MEMBERS | hikari.Intents.GUILD_MODERATION


@dataclass
class Captured:
    """What a connected GatewayBot saw."""

    raw: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    typed_entries: list[hikari.AuditLogEntry] = field(default_factory=list)
    loop_errors: list[dict[str, Any]] = field(default_factory=list)
    """hikari reports payloads its consumers failed on to the loop's exception handler."""

    def raw_named(self, name: str) -> list[dict[str, Any]]:
        return [p for n, p in self.raw if n == name]


@dataclass
class BotHandle:
    bot: hikari.GatewayBot
    seen: Captured


async def eventually(predicate: Callable[[], bool], within: float = 10.0, what: str = "condition") -> None:
    """Poll ``predicate`` until true (events arrive on other tasks)."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)
