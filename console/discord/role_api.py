"""The reconciler's Discord calls through hikari's REST client (rate limits handled by hikari:
a 429 is waited out and retried there, so the reconciler sees the call's final answer)."""

from __future__ import annotations

import time
from typing import Any

import hikari

from console.discord.errors import EXPECTED
from console.roles.api import ApiResult


def _failure(e: BaseException, started: float) -> ApiResult:
    latency = int((time.perf_counter() - started) * 1000)
    if isinstance(e, hikari.RateLimitTooLongError):
        return ApiResult(429, latency, "rate limited for too long", retry_after_s=min(60.0, e.retry_after))
    if isinstance(e, hikari.HTTPResponseError):
        code = e.code if isinstance(getattr(e, "code", None), int) and e.code else None
        return ApiResult(int(e.status), latency, e.message or str(e.status), code=code)
    return ApiResult(None, latency, f"{e.__class__.__name__}: {e}".rstrip(": "))


class HikariRoleApi:
    def __init__(self, rest: hikari.api.RESTClient) -> None:
        self._rest = rest

    async def add_role(self, guild_id: int, member_id: int, role_id: int, reason: str) -> ApiResult:
        return await self._call(self._rest.add_role_to_member(guild_id, member_id, role_id, reason=reason))

    async def remove_role(self, guild_id: int, member_id: int, role_id: int, reason: str) -> ApiResult:
        return await self._call(self._rest.remove_role_from_member(guild_id, member_id, role_id, reason=reason))

    async def member_roles(self, guild_id: int, member_id: int) -> tuple[ApiResult, frozenset[int] | None]:
        started = time.perf_counter()
        try:
            member = await self._rest.fetch_member(guild_id, member_id)
        except EXPECTED as e:
            return _failure(e, started), None
        return ApiResult(200, int((time.perf_counter() - started) * 1000)), frozenset(int(r) for r in member.role_ids)

    async def post_message(self, channel_id: int, content: str) -> tuple[ApiResult, str | None]:
        started = time.perf_counter()
        try:
            # No pings: an audit message names people, it must not summon them.
            message = await self._rest.create_message(
                channel_id, content, user_mentions=False, role_mentions=False, mentions_everyone=False
            )
        except EXPECTED as e:
            return _failure(e, started), None
        return ApiResult(200, int((time.perf_counter() - started) * 1000)), str(message.id)

    @staticmethod
    async def _call(request: Any) -> ApiResult:
        started = time.perf_counter()
        try:
            await request
        except EXPECTED as e:
            return _failure(e, started)
        return ApiResult(204, int((time.perf_counter() - started) * 1000))
