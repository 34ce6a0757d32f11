"""``/audit`` on Discord: registered per guild, answered ephemerally.

The command tree is Discord's own JSON (``console.slash.COMMAND``), sent as it is. Interactions
are taken from the raw INTERACTION_CREATE (after the collector has put the member it carries
into the guild state), handled by the pure :class:`console.slash.SlashHandler`, and answered
within Discord's 3 seconds: a slow answer is deferred first and filled in by an edit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

import hikari
from hikari.internal import routes

from console.discord.errors import EXPECTED
from console.slash import COMMAND, SlashHandler, parse

log = logging.getLogger("console.discord")

ACK_WITHIN_S = 2.0  # Discord allows 3 s for the first answer; keep a margin for the network


class SlashResponder:
    def __init__(
        self, bot: hikari.GatewayBot, handler: SlashHandler, *, on_refused: Callable[[str], None] | None = None
    ) -> None:
        self._bot = bot
        self._handler = handler
        self._on_refused = on_refused
        self._refused: dict[int, str] = {}  # guild → the line said, so a reconnect does not repeat it
        self._tasks: set[asyncio.Task[Any]] = set()
        self._registered: set[int] = set()
        self.application_id: int | None = None

    async def register(self, guild_id: int) -> None:
        """PUT the guild's commands (idempotent: Discord keeps ids when nothing changed)."""
        if guild_id in self._registered:
            return
        try:
            if self.application_id is None:
                self.application_id = int((await self._bot.rest.fetch_application()).id)
            route = routes.PUT_APPLICATION_GUILD_COMMANDS.compile(application=self.application_id, guild=guild_id)
            # A private method (no public raw-JSON call): pinned to hikari==2.7.0, as rest.py.
            await self._bot.rest._request(route, json=[COMMAND])  # type: ignore[attr-defined]
        except EXPECTED as e:
            log.info("registering /audit in guild %s failed: %s", guild_id, e)  # said by on_refused
            line = refused_line(e, guild_id)
            if self._on_refused is not None and self._refused.get(guild_id) != line:
                self._on_refused(line)
            self._refused[guild_id] = line
            return
        self._registered.add(guild_id)
        self._refused.pop(guild_id, None)

    def on_dispatch(self, name: str, payload: Mapping[str, Any]) -> None:
        if name == "GUILD_CREATE":
            gid = payload.get("id")
            if gid is not None:
                self._spawn(self.register(int(gid)))
        elif name == "INTERACTION_CREATE":
            self._spawn(self._answer(payload))

    async def _answer(self, payload: Mapping[str, Any]) -> None:
        invocation = parse(payload)
        if invocation is None:
            return
        interaction_id, token = int(payload["id"]), str(payload["token"])
        work = asyncio.ensure_future(self._handler.handle(invocation))
        rest = self._bot.rest
        flags = hikari.MessageFlag.EPHEMERAL
        try:
            done, _ = await asyncio.wait({work}, timeout=ACK_WITHIN_S)
            if done:
                await rest.create_interaction_response(
                    interaction_id,
                    token,
                    hikari.ResponseType.MESSAGE_CREATE,
                    work.result(),
                    flags=flags,
                    user_mentions=False,
                    role_mentions=False,
                    mentions_everyone=False,
                )
                return
            await rest.create_interaction_response(
                interaction_id, token, hikari.ResponseType.DEFERRED_MESSAGE_CREATE, flags=flags
            )
            answer = await work
            application = self.application_id or int((await rest.fetch_application()).id)
            await rest.edit_interaction_response(
                application, token, answer, user_mentions=False, role_mentions=False, mentions_everyone=False
            )
        except EXPECTED as e:
            log.error("answering /audit %s failed: %s", " ".join(invocation.path), e)
        except Exception:
            log.exception("handling /audit %s failed", " ".join(invocation.path))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()


#: Discord's codes for an application at its commands' limits.
COMMAND_LIMITS = {
    30032: "the application has the most commands Discord allows (100 per guild)",
    30034: "the application has created as many commands today as Discord allows (200 per day)",
}


def refused_line(exc: BaseException, guild_id: int) -> str:
    """Why /audit is not registered in a guild, and that collecting is not affected."""
    tail = "; collecting goes on"
    code = getattr(exc, "code", 0)
    if code in COMMAND_LIMITS:
        why = f"{COMMAND_LIMITS[code]} ({code}): remove commands this application no longer uses"
    elif isinstance(exc, hikari.ForbiddenError):
        why = "403 Missing Access: invite the bot with the applications.commands scope (`audit-console invite-url`)"
    elif isinstance(exc, hikari.HTTPResponseError):
        why = f"{int(exc.status)} {exc.message or ''}".rstrip()
    else:
        why = f"Discord could not be reached ({exc.__class__.__name__})"
    return f"/audit is not registered in guild {guild_id}: {why}{tail}"
