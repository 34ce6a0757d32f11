"""What the reconciler needs from Discord, as a protocol: ``console/discord`` implements it with
hikari; tests use the real one against the simulator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ApiResult:
    """One HTTP call's outcome. ``status`` None: no answer (network error, timeout)."""

    status: int | None
    latency_ms: int
    error: str | None = None
    #: Discord's JSON error code (10007 Unknown Member, 10011 Unknown Role, 50013 Missing Permissions).
    code: int | None = None
    retry_after_s: float | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def permanent(self) -> bool:
        """Retrying cannot help: no permission, or the member or role is gone."""
        return self.status in (400, 403, 404)


class RoleApi(Protocol):
    async def add_role(self, guild_id: int, member_id: int, role_id: int, reason: str) -> ApiResult: ...

    async def remove_role(self, guild_id: int, member_id: int, role_id: int, reason: str) -> ApiResult: ...

    async def member_roles(self, guild_id: int, member_id: int) -> tuple[ApiResult, frozenset[int] | None]:
        """The member's role ids as Discord has them now (None when the fetch failed)."""
        ...

    async def post_message(self, channel_id: int, content: str) -> tuple[ApiResult, str | None]:
        """Post without pinging anyone; the new message's id."""
        ...
