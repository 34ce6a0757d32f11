"""The hikari GatewayBot, started from the app's loop (never ``run()``), with every raw
dispatch handed to the collector before hikari parses it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import hikari
from hikari.impl import config as hikari_config

from console.discord.errors import EXPECTED, gateway_closed, to_source_error
from console.discord.payloads import frame_reader, loads
from console.discord.rest import RawAuditLogSource
from console.ingest.source import AuditLogSource, SourceError
from console.model.shards import ShardGroup
from console.secret import Secret

log = logging.getLogger("console.discord")

INTENTS = hikari.Intents.GUILDS | hikari.Intents.GUILD_MEMBERS | hikari.Intents.GUILD_MODERATION


class Events(Protocol):
    def on_dispatch(self, name: str, payload: Any) -> None: ...

    def on_connection(self, connected: bool) -> None: ...

    def on_unreadable(self, raw: bytes, error: str) -> None: ...

    def on_closed(self, error: SourceError) -> None: ...


class HikariGateway:
    """Implements the collector's ``Gateway``: start/close and a raw audit-log ``source``."""

    def __init__(
        self,
        token: Secret,
        *,
        rest_url: str,
        events: Events,
        shards: ShardGroup | None = None,
        startup_window: Callable[[], AbstractAsyncContextManager[None]] | None = None,
    ) -> None:
        """``shards``: run only those (hikari's ``shard_ids`` with their ``shard_count``).
        ``startup_window``: entered around the start, so collectors of the same bot that run
        other shards in other processes never IDENTIFY in the same 5 s window (hikari spaces the
        buckets of its own shards, and knows nothing of other processes)."""
        self._rest_url = rest_url
        self._events = events
        self._shards = shards
        self._startup_window = startup_window
        self.bot = hikari.GatewayBot(
            token.reveal(),
            rest_url=rest_url,
            banner=None,
            logs=None,
            intents=INTENTS,
            # The console keeps its own names and state; hikari's cache would double the memory.
            cache_settings=hikari_config.CacheSettings(components=hikari.api.CacheComponents.NONE),
            auto_chunk_members=False,
            suppress_optimization_warning=True,
            loads=loads,  # REST: lenient where orjson is strict (console.discord.payloads)
        )
        # The shards' reader (hikari 2.7.0 passes ``_loads`` to each shard it starts, after the
        # REST client took its own): an unreadable frame is kept and skipped, never fatal.
        self.bot._loads = frame_reader(events.on_unreadable)
        self.source: AuditLogSource = RawAuditLogSource(self.bot.rest, rest_url)
        self.bot.subscribe(hikari.ShardPayloadEvent, self._payload)
        self.bot.subscribe(hikari.ShardConnectedEvent, self._connected)
        self.bot.subscribe(hikari.ShardDisconnectedEvent, self._disconnected)
        self._watch: asyncio.Task[None] | None = None

    async def start(self) -> None:
        try:
            async with self._startup_window() if self._startup_window else contextlib.nullcontext():
                if self._shards is None:
                    await self.bot.start(check_for_updates=False)
                else:
                    await self.bot.start(
                        check_for_updates=False, shard_ids=self._shards.ids, shard_count=self._shards.total
                    )
            self._watch = asyncio.get_running_loop().create_task(self._watch_shards(), name="gateway-watch")
        except EXPECTED as e:
            await self._close_quietly()
            raise to_source_error(e, rest_url=self._rest_url) from None
        except Exception as e:  # hikari raises plain errors on some bad answers
            await self._close_quietly()
            raise SourceError(f"cannot connect to Discord at {self._rest_url}: {e}") from None

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        await self._close_quietly()

    async def _watch_shards(self) -> None:
        """hikari ends a shard in a background task when Discord closes with a code it may not
        reconnect after (4004, 4010–4014), and tells nobody: without this watch the console
        would sit "disconnected" for ever, a silent stop."""
        try:
            await self.bot.join()
        except hikari.GatewayServerClosedConnectionError as e:
            error: SourceError = gateway_closed(e)
        except hikari.HikariError as e:  # any other end of a shard hikari does not recover from
            error = SourceError(f"the gateway stopped: {e}")
        else:
            return  # closed by us
        log.info("%s", error)  # said by the collector's listener: once, not twice on stderr
        # The dead shard would raise its close again when the bot is closed, as an "exception
        # during shut down" on the loop; it is gone already (private: pinned to hikari 2.7.0).
        shards = self.bot._shards
        for shard_id, shard in list(shards.items()):
            task = getattr(shard, "_keep_alive_task", None)
            if task is not None and task.done():
                shards.pop(shard_id, None)
        self._events.on_closed(error)

    async def _close_quietly(self) -> None:
        if self.bot.is_alive:
            try:
                await self.bot.close()
            except Exception:  # closing must never fail a shutdown
                log.exception("closing the gateway failed")

    async def _payload(self, event: hikari.ShardPayloadEvent) -> None:
        # hikari hands a read-only mappingproxy; the store wants a plain dict.
        payload = event.payload
        self._events.on_dispatch(event.name, payload if isinstance(payload, dict) else dict(payload))

    async def _connected(self, event: hikari.ShardConnectedEvent) -> None:
        self._events.on_connection(True)

    async def _disconnected(self, event: hikari.ShardDisconnectedEvent) -> None:
        self._events.on_connection(False)


async def attach_services(
    gateway: HikariGateway, collector: Any, services: Any, *, on_refused: Callable[[str], None] | None = None
) -> Any:
    """After ``collector.start(gateway)``: act on Discord (role changes, audit messages, /audit).

    Returns the SlashResponder (close it on shutdown). Pending role changes resume here.
    ``on_refused``: told in one line when Discord refuses to register /audit in a guild.
    """
    from console.discord.interactions import SlashResponder
    from console.discord.members import RawMemberSource
    from console.discord.role_api import HikariRoleApi

    # Members on demand: one GET the first time a decision needs someone the state lacks.
    members = RawMemberSource(gateway.bot.rest, gateway._rest_url)
    collector.guilds.connect_members(members, limit=services.settings.member_cache)
    services.gatekeeper.members = collector.guilds
    me = gateway.bot.get_me()
    resumed = await services.connect(
        HikariRoleApi(gateway.bot.rest), bot_id=int(me.id) if me else None, caught_up=collector.caught_up
    )
    if resumed:
        log.info("resuming %d pending role changes", resumed)
    responder = SlashResponder(gateway.bot, services.slash, on_refused=on_refused)
    collector.dispatch_listeners += [services.on_dispatch, responder.on_dispatch]
    for guild_id in collector.state.guild_ids:
        await responder.register(guild_id)
    return responder
