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


class UnreadablePage(SourceError):
    """Discord answered with a page that cannot be used (not JSON, not an audit-log page).

    ``raw`` is what it sent: the backfill keeps it as a parse failure, nothing is dropped unseen.
    """

    def __init__(self, message: str, raw: bytes) -> None:
        super().__init__(message)
        self.raw = raw
