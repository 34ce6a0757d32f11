"""What ``doctor`` and ``invite-url`` ask Discord, over REST alone (no gateway): the application,
the bot user, and per guild the guild, its channels, the bot's member and the guild's commands.
The answers are handed over as raw JSON (console.setup.checks judges them, without a network)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import hikari
from hikari.internal import data_binding, routes

from console.discord.errors import EXPECTED, to_source_error
from console.discord.rest import RestSession
from console.secret import Secret
from console.setup.checks import Facts, GuildFacts

#: Guilds asked about at once: hikari's buckets pace each route, this bounds what waits in them.
_CONCURRENT_GUILDS = 4


class TokenRejected(Exception):
    """Discord answered 401 to the token."""


def _answer(e: hikari.HTTPResponseError) -> str:
    return f"{int(e.status)} {e.message}".rstrip()


async def application_id(token: Secret, rest_url: str) -> int:
    """The application the token belongs to. Raises TokenRejected, or SourceError (one line)."""
    async with _Rest(token, rest_url) as rest:
        app = await _call(rest, routes.GET_MY_APPLICATION.compile(), rest_url)
    return int(app["id"])


async def gather(token: Secret, rest_url: str, guild_ids: Sequence[int]) -> Facts:
    """Everything the checks need; no guilds given: the guilds the bot is in. Raises SourceError
    when Discord cannot be reached; a rejected token is a fact (``token_ok`` False)."""
    async with _Rest(token, rest_url) as rest:
        try:
            app = await _call(rest, routes.GET_MY_APPLICATION.compile(), rest_url)
        except TokenRejected:
            return Facts(token_ok=False)
        me = await _call(rest, routes.GET_MY_USER.compile(), rest_url)
        if not guild_ids:
            guild_ids = await _my_guilds(rest, rest_url)
        bot_id, app_id = int(me["id"]), int(app["id"])
        limit = asyncio.Semaphore(_CONCURRENT_GUILDS)

        async def one(guild_id: int) -> GuildFacts:
            async with limit:
                return await _guild(rest, guild_id, app_id, bot_id, rest_url)

        guilds = await asyncio.gather(*(one(g) for g in guild_ids))
    return Facts(token_ok=True, application=app, bot_id=bot_id, guilds=list(guilds))


async def _my_guilds(rest: Any, rest_url: str) -> list[int]:
    """The guilds the bot is in, a page of 200 at a time (Discord's largest)."""
    found: list[int] = []
    while True:
        query = data_binding.StringMapBuilder()
        query.put("limit", 200)
        if found:
            query.put("after", str(found[-1]))
        page = await _call(rest, routes.GET_MY_GUILDS.compile(), rest_url, query=query)
        found += sorted(int(g["id"]) for g in page)
        if len(page) < 200:
            return found


async def _guild(rest: Any, guild_id: int, app_id: int, bot_id: int, rest_url: str) -> GuildFacts:
    try:
        guild = await rest._request(routes.GET_GUILD.compile(guild=guild_id))
    except (hikari.NotFoundError, hikari.ForbiddenError) as e:
        # Discord answers 404 Unknown Guild (403 Missing Access before 2023) for a guild the
        # bot is not in, and the same for one that does not exist.
        return GuildFacts(guild_id, None, missing=_answer(e))
    except EXPECTED as e:
        raise to_source_error(e, rest_url=rest_url, guild_id=guild_id) from None
    channels = await _call(rest, routes.GET_GUILD_CHANNELS.compile(guild=guild_id), rest_url, guild_id)
    members = []
    try:
        members.append(await rest._request(routes.GET_GUILD_MEMBER.compile(guild=guild_id, user=bot_id)))
    except hikari.NotFoundError:
        pass  # not a member: the checks say so
    except EXPECTED as e:
        raise to_source_error(e, rest_url=rest_url, guild_id=guild_id) from None
    commands_error = None
    try:
        # Reading the guild's commands needs what registering them needs: the bot added with
        # the applications.commands scope. A read changes nothing on the server.
        await rest._request(routes.GET_APPLICATION_GUILD_COMMANDS.compile(application=app_id, guild=guild_id))
    except (hikari.ForbiddenError, hikari.NotFoundError) as e:
        commands_error = _answer(e)
    except EXPECTED as e:
        raise to_source_error(e, rest_url=rest_url, guild_id=guild_id) from None
    state = {"guild": guild, "channels": channels, "members": members}
    return GuildFacts(guild_id, state, commands_error=commands_error)


async def _call(rest: Any, route: Any, rest_url: str, guild_id: int | None = None, query: Any = None) -> Any:
    try:
        # A private method (no public raw-JSON call): pinned to hikari==2.7.0, as rest.py.
        return await rest._request(route, query=query)
    except hikari.UnauthorizedError:
        raise TokenRejected from None
    except EXPECTED as e:
        raise to_source_error(e, rest_url=rest_url, guild_id=guild_id) from None


class _Rest:
    """hikari's REST client for the duration of a ``async with``."""

    def __init__(self, token: Secret, rest_url: str) -> None:
        self._session = RestSession(token.reveal(), rest_url)

    async def __aenter__(self) -> Any:
        await self._session.__aenter__()
        return self._session.rest

    async def __aexit__(self, *exc: object) -> None:
        await self._session.__aexit__(*exc)
