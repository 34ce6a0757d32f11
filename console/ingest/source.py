"""What ingestion needs from Discord, as protocols (hikari's implementation is in discord/)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class AuditLogSource(Protocol):
    async def fetch_audit_log(
        self, guild_id: int, *, after: int | None = None, before: int | None = None, limit: int = 100
    ) -> Mapping[str, Any]:
        """One raw page of ``GET /guilds/{id}/audit-logs`` (all its keys, as Discord sent it)."""
        ...


class SourceError(Exception):
    """Discord refused or could not be reached; the message is one line."""

    #: A mistake in how the bot is set up (its token, its intents, its permissions): only the
    #: operator can fix it, in the Developer Portal or the guild's settings, so ``collect`` and
    #: ``backfill`` end with exit code 2 (bad input) rather than 1 (try again later).
    setup = False


class SetupError(SourceError):
    """Discord refused because of how the bot is set up (see :attr:`SourceError.setup`)."""

    setup = True


class MissingAccess(SetupError):
    """A guild refused the bot for want of a permission (403 with Discord's code 50013 Missing
    Permissions or 50001 Missing Access). Only the guild's admins can change that, so the
    collector retries when Discord says a role or the bot's member changed, not on a timer:
    repeated 403s count towards Discord's invalid-request limit, which bans the address."""

    def __init__(self, message: str, *, guild_id: int, code: int) -> None:
        super().__init__(message)
        self.guild_id = guild_id
        self.code = code


class GatewayClosed(SourceError):
    """Discord closed the gateway with a code after which it must not be reconnected (4004,
    4010–4014 …). ``str()`` is the line for the terminal; ``short`` the header's words."""

    def __init__(self, message: str, *, code: int, short: str, setup: bool) -> None:
        super().__init__(message)
        self.code = code
        self.short = short
        self.setup = setup


class UnreadablePage(SourceError):
    """Discord answered with a page that cannot be used (not JSON, not an audit-log page).

    ``raw`` is what it sent: the backfill keeps it as a parse failure, nothing is dropped unseen.
    """

    def __init__(self, message: str, raw: bytes) -> None:
        super().__init__(message)
        self.raw = raw
