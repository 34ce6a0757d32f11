"""An alert the rules raised (``console/alerts``): stored, listed in the console, posted to a channel."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert: raised at ``created_at`` by ``rule`` for ``guild_id`` from ``record_ids``."""

    created_at: int
    rule: str
    guild_id: int
    severity: str  # "warning" | "error"
    summary: str  # plain text, already sanitised
    record_ids: tuple[int, ...]
    id: int | None = None
    #: The channel message: None (no channel), "posted", or the last error.
    posted: str | None = None
