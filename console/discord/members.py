"""One member on demand: ``GET /guilds/{id}/members/{user}`` as raw JSON, the shape the guild
state keeps (console.ingest.guild_state), through hikari's rate-limited request path."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import hikari
from hikari.internal import routes

from console.discord.errors import EXPECTED, to_source_error
from console.discord.payloads import UnreadableJSON
from console.ingest.source import SourceError

#: Discord's JSON error codes that mean "not in this guild" (Unknown Member, Unknown User).
NOT_A_MEMBER = frozenset({10007, 10013})


class RawMemberSource:
    """Implements console.ingest.guild_state.MemberFetcher."""

    def __init__(self, rest: Any, rest_url: str) -> None:
        self._rest = rest
        self._rest_url = rest_url

    async def fetch_member(self, guild_id: int, user_id: int) -> Mapping[str, Any] | None:
        route = routes.GET_GUILD_MEMBER.compile(guild=guild_id, user=user_id)
        try:
            # A private method, as for the audit log: the raw JSON is what the state keeps.
            member = await self._rest._request(route)
        except hikari.NotFoundError as e:
            if e.code in NOT_A_MEMBER:
                return None
            raise to_source_error(e, rest_url=self._rest_url, guild_id=guild_id) from None
        except UnreadableJSON as e:
            raise SourceError(f"Discord sent member {user_id} as something that is not JSON: {e.error}") from None
        except EXPECTED as e:
            raise to_source_error(e, rest_url=self._rest_url, guild_id=guild_id) from None
        if not isinstance(member, Mapping):
            raise SourceError(f"Discord sent member {user_id} as something that is not an object")
        return member
