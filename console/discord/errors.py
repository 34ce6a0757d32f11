"""hikari and aiohttp errors → one line a person can act on."""

from __future__ import annotations

import asyncio

import aiohttp
import hikari

from console.ingest.source import GatewayClosed, MissingAccess, SetupError, SourceError

#: Close codes after which Discord takes no reconnect: what it means, the fix (the line a
#: terminal shows) and the fix in the header's few words. All of them are setup mistakes.
CLOSES: dict[int, tuple[str, str, str]] = {
    4004: (
        "authentication failed",
        "the token was rejected: reset it in the Developer Portal (Bot → Reset Token) and put the new one"
        " in the token file",
        "token rejected: reset it in the Developer Portal",
    ),
    4010: (
        "invalid shard",
        "Discord refused the shard asked for: start the console again (it asks Discord for the shard"
        " count at each start)",
        "invalid shard: start again",
    ),
    4011: (
        "sharding required",
        "the bot is in more guilds than one connection may serve: give the console a bot application"
        " of its own, in your guilds only",
        "sharding required: use a bot of its own",
    ),
    4012: (
        "invalid API version",
        "this audit-console speaks a gateway version Discord no longer accepts: upgrade it",
        "upgrade audit-console",
    ),
    4013: (
        "invalid intents",
        "Discord does not accept the intents this audit-console asks for: upgrade it",
        "invalid intents: upgrade audit-console",
    ),
    4014: (
        "disallowed intents",
        "enable Server Members Intent under Bot → Privileged Gateway Intents in the Developer Portal",
        "enable Server Members Intent (Developer Portal → Bot)",
    ),
}

#: Discord's JSON codes of a 403 that a guild's admins fix (a permission, the bot's access).
MISSING_ACCESS = {50001: "Missing Access", 50013: "Missing Permissions"}


def gateway_closed(exc: hikari.GatewayServerClosedConnectionError) -> GatewayClosed:
    """The one line (and the header's words) for a close hikari will not reconnect after."""
    code = int(exc.code or 0)
    known = CLOSES.get(code)
    if known is None:
        reason = exc.reason or "no reason given"
        return GatewayClosed(
            f"Discord closed the gateway with {code} ({reason}): start the console again",
            code=code,
            short=f"{code}: start again",
            setup=False,
        )
    meaning, fix, short = known
    line = f"Discord closed the gateway with {code} ({meaning}): {fix}"
    return GatewayClosed(line, code=code, short=f"{code}: {short}", setup=True)


def audit_log_refused(exc: hikari.ForbiddenError, guild_id: int, *, rest_url: str) -> SourceError:
    """A 403 on the audit log: the permission the bot lacks and where to give it."""
    if exc.code == 50013:
        return MissingAccess(
            f"the bot may not read the audit log of guild {guild_id} (403 Missing Permissions): give its role"
            " View Audit Log under Server Settings → Roles",
            guild_id=guild_id,
            code=exc.code,
        )
    if exc.code == 50001:
        return MissingAccess(
            f"the bot has no access to guild {guild_id} (403 Missing Access): invite it again"
            " (`audit-console invite-url`) or give its role View Audit Log",
            guild_id=guild_id,
            code=exc.code,
        )
    return to_source_error(exc, rest_url=rest_url, guild_id=guild_id)


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
    if isinstance(exc, hikari.GatewayServerClosedConnectionError) and not exc.can_reconnect:
        return gateway_closed(exc)
    if isinstance(exc, hikari.UnauthorizedError):
        return SetupError(explain(exc, rest_url=rest_url, guild_id=guild_id))
    return SourceError(explain(exc, rest_url=rest_url, guild_id=guild_id))


#: What hikari or the network may raise on a REST call or a connect.
EXPECTED = (hikari.HikariError, aiohttp.ClientError, OSError, asyncio.TimeoutError)
