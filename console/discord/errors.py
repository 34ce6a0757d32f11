"""hikari and aiohttp errors → one line a person can act on."""

from __future__ import annotations

import asyncio

import aiohttp
import hikari

from console.ingest.source import SourceError


def explain(exc: BaseException, *, rest_url: str, guild_id: int | None = None) -> str:
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, aiohttp.ClientConnectorError) or "Cannot connect to host" in str(exc):
        return f"cannot reach Discord at {rest_url}: connection refused or host unknown"
    where = f" in guild {guild_id}" if guild_id else ""
    if isinstance(exc, hikari.UnauthorizedError):
        return "Discord rejected the token (401 Unauthorized): check it or reset it in the Developer Portal"
    if isinstance(exc, hikari.ForbiddenError):
        return f"Discord refused{where} (403 {exc.message or 'Forbidden'}): the bot needs VIEW_AUDIT_LOG there"
    if isinstance(exc, hikari.NotFoundError):
        return f"Discord answered 404{where}: is the bot in that guild?"
    if isinstance(exc, hikari.RateLimitTooLongError):
        return "Discord rate-limited us for too long; try again later"
    if isinstance(exc, hikari.HTTPResponseError):
        return f"Discord answered {int(exc.status)} {exc.message or ''}".rstrip()
    if isinstance(exc, aiohttp.ClientConnectorError | ConnectionError | OSError):
        reason = getattr(exc, "strerror", None) or exc.__class__.__name__
        return f"cannot reach Discord at {rest_url}: {reason}"
    if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError):
        return f"cannot talk to Discord at {rest_url}: {exc.__class__.__name__}"
    if isinstance(exc, hikari.GatewayServerClosedConnectionError):
        return f"the gateway closed the connection ({exc.code}: {exc.reason})"
    if isinstance(exc, hikari.HikariError):
        return f"Discord client error: {exc}"
    return f"{exc.__class__.__name__}: {exc}"


def to_source_error(exc: BaseException, *, rest_url: str, guild_id: int | None = None) -> SourceError:
    return SourceError(explain(exc, rest_url=rest_url, guild_id=guild_id))


#: What hikari or the network may raise on a REST call or a connect.
EXPECTED = (hikari.HikariError, aiohttp.ClientError, OSError, asyncio.TimeoutError)
