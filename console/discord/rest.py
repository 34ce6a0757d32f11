"""Raw REST calls: the audit log is fetched as JSON, never through hikari's typed models
(hikari 2.7.0 silently skips entries whose action type it cannot model)."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

import hikari
import orjson
from hikari.internal import data_binding, routes

from console.discord.errors import EXPECTED, audit_log_refused, to_source_error
from console.discord.payloads import UnreadableJSON, loads
from console.ingest.source import UnreadablePage


class RawAuditLogSource:
    """``GET /guilds/{id}/audit-logs`` through hikari's rate-limited request path."""

    def __init__(self, rest: hikari.api.RESTClient, rest_url: str) -> None:
        self._rest = rest
        self._rest_url = rest_url

    async def fetch_audit_log(
        self, guild_id: int, *, after: int | None = None, before: int | None = None, limit: int = 100
    ) -> Mapping[str, Any]:
        query = data_binding.StringMapBuilder()
        query.put("limit", limit)
        if after is not None:
            query.put("after", str(after))
        if before is not None:
            query.put("before", str(before))
        route = routes.GET_GUILD_AUDIT_LOGS.compile(guild=guild_id)
        try:
            # A private method: hikari has no public raw-JSON call. Pinned to hikari==2.7.0.
            page = await self._rest._request(route, query=query)  # type: ignore[attr-defined]
        except UnreadableJSON as e:
            raise UnreadablePage(f"Discord sent an audit-log page that is not JSON: {e.error}", e.raw) from None
        except hikari.ForbiddenError as e:
            raise audit_log_refused(e, guild_id, rest_url=self._rest_url) from None
        except EXPECTED as e:
            raise to_source_error(e, rest_url=self._rest_url, guild_id=guild_id) from None
        if not isinstance(page, Mapping):
            raise UnreadablePage("Discord sent an audit-log page that is not an object", _raw_of(page))
        return page


def _raw_of(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):
        return repr(value).encode("utf-8", "backslashreplace")


class RestSession:
    """A REST-only hikari client (``backfill`` needs no gateway)."""

    def __init__(self, token_value: str, rest_url: str) -> None:
        self._token = token_value
        self._rest_url = rest_url
        self._app = hikari.RESTApp(url=rest_url, loads=loads)
        self._rest: Any = None

    async def __aenter__(self) -> RawAuditLogSource:
        await self._app.start()
        self._rest = self._app.acquire(self._token, hikari.TokenType.BOT)
        self._rest.start()
        return RawAuditLogSource(self._rest, self._rest_url)

    @property
    def rest(self) -> Any:
        """hikari's REST client (after ``async with``)."""
        return self._rest

    async def __aexit__(self, *exc: object) -> None:
        if self._rest is not None:
            await self._rest.close()
        await self._app.close()


async def fetch_guild_state(rest: Any, guild_id: int, member_ids: list[int], *, rest_url: str) -> dict[str, Any]:
    """The guild's roles and channels and the given members, as Discord's REST returns them:
    the snapshot the policy's Discord gate reads (``explain --state`` takes the same shape)."""
    try:
        guild = await rest._request(routes.GET_GUILD.compile(guild=guild_id))
        channels = await rest._request(routes.GET_GUILD_CHANNELS.compile(guild=guild_id))
        members = []
        for uid in member_ids:
            with contextlib.suppress(hikari.NotFoundError):  # not a member: the gate says so
                members.append(await rest._request(routes.GET_GUILD_MEMBER.compile(guild=guild_id, user=uid)))
    except EXPECTED as e:
        raise to_source_error(e, rest_url=rest_url, guild_id=guild_id) from None
    return {"guild": guild, "channels": channels, "members": members}
