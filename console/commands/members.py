"""Members on demand for one-shot commands (`explain`, `role` beside a collector): the stored guild
state, with a member it lacks asked of Discord — the same `GuildStates` the collector keeps, so a
fetched member is read, trimmed and reported the one way."""

from __future__ import annotations

from typing import Any

from console.config import Settings
from console.secret import REDACTOR, Secret
from console.store import AuditStore


async def members_on_demand(settings: Settings, token: Secret, store: AuditStore, guild_id: int) -> tuple[Any, Any]:
    """An open REST session (the caller closes it) and the stored guild state of ``guild_id``,
    fetching the members it lacks on demand (``GuildStates.ensure_member``)."""
    from console.discord.members import RawMemberSource
    from console.discord.rest import RestSession
    from console.ingest.guild_state import GuildStates

    REDACTOR.add(token)
    session = RestSession(token.reveal(), settings.rest_url)
    await session.__aenter__()
    states = GuildStates(member_limit=settings.member_cache)
    stored = await store.guild_state(guild_id)
    if stored is not None:
        states.load(guild_id, stored)
    states.connect_members(RawMemberSource(session.rest, settings.rest_url))
    return session, states
