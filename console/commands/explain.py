"""``audit-console explain``: why a member may or may not do something, from the stored guild
state or a snapshot file. A question is not an action: no decision is recorded.

The stored state holds the members the collector needed, not a big guild's every member: one it
lacks is asked of Discord (one ``GET /guilds/{id}/members/{user}``) when the bot token is at hand,
and someone Discord does not know is answered with ``MEMBER_UNKNOWN``."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

from console.config import Settings
from console.errors import ConfigError
from console.secret import Secret
from console.store import open_store


def explain(
    settings: Settings,
    guild_id: int,
    member_id: int,
    *,
    capability: str | None,
    permission: str | None,
    channel_id: int | None,
    state: Path | None,
    token: Secret | None = None,
) -> Any:
    """The answer (an ``Explanation``). Bad input raises ConfigError (exit 2); Discord unreachable
    while asking about a member, SourceError (exit 1)."""
    from console.policy import explain as ex
    from console.policy.document import PolicyError
    from console.policy.gatekeeper import GateError
    from console.policy.policy_file import PolicyFile

    try:
        policy = PolicyFile(settings.policy_path()) if capability else None
        if state is not None:
            guild = ex.load_state(state)
            if guild.id != guild_id:
                raise ConfigError(f"--state holds guild {guild.id}, not --guild {guild_id}")
        else:
            guild, gone = asyncio.run(_stored_guild(settings, guild_id, member_id, token))
            if gone is not None:
                return ex.member_unknown(member_id, gone)
        now = int(time.time() * 1000)
        if capability:
            assert policy is not None
            return ex.explain_capability(policy.policy, guild, member_id, capability, channel_id=channel_id, now_ms=now)
        assert permission is not None
        return ex.explain_permission(guild, member_id, permission, channel_id=channel_id, now_ms=now)
    except (ex.ExplainError, PolicyError, GateError) as e:
        raise ConfigError(str(e)) from None


async def _stored_guild(
    settings: Settings, guild_id: int, member_id: int, token: Secret | None
) -> tuple[Any, str | None]:
    """The stored guild state holding the member (asked of Discord if need be), or why the member
    is not in the guild."""
    from console.commands.members import members_on_demand
    from console.ingest.source import SourceError
    from console.policy.gatekeeper import Gatekeeper
    from console.policy.guild import SnapshotError
    from console.policy.policy_file import PolicyFile

    store = await open_store(settings.db, readonly=True, password_file=settings.password_file)
    try:
        guild = await Gatekeeper(store, PolicyFile(None)).guild(guild_id)
        if member_id in guild.members:
            return guild, None
        if token is None:
            raise ConfigError(
                f"member {member_id} is not in the stored state of guild {guild_id} (it keeps the members the "
                "console needed): give the bot token (--token-file or $DISCORD_TOKEN) to ask Discord"
            )
        session, states = await members_on_demand(settings, token, store, guild_id)
    finally:
        await store.close()
    try:
        gone = await states.ensure_member(guild_id, member_id)
    except SnapshotError as e:
        raise SourceError(str(e)) from None
    finally:
        await session.__aexit__(None, None, None)
    return (guild, gone) if gone is not None else (states.snapshot(guild_id), None)


def show(answer: Any, what: str, *, as_json: bool) -> None:
    """The answer on standard output: the verdict and its path, or ``--json``'s object."""
    if as_json:
        import orjson

        from console.model.export_format import escape_json

        # Names from Discord may hold C1 controls and bidi/zero-width characters: escaped, as in exports.
        sys.stdout.write(escape_json(orjson.dumps(answer.as_json(), option=orjson.OPT_INDENT_2)).decode() + "\n")
    else:
        from console.model.sanitize import safe_text

        verdict = "ALLOWED" if answer.allowed else "DENIED"
        code = f" ({answer.reason_code})" if answer.reason_code else ""
        lines = [f"{what}: {verdict}{code}", *answer.lines()]
        sys.stdout.write("\n".join(safe_text(line, 2000) for line in lines) + "\n")
