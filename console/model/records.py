"""Records the console makes itself: gaps (decisions and role changes join them later)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar

from console.model.snowflake import RETENTION_MS


@dataclass(frozen=True, slots=True)
class Gap:
    """A stretch during which the console may have missed entries, and what backfill recovered."""

    COLUMNS: ClassVar[str] = (
        "id, guild_id, reason, from_id, started_at, detected_at, ended_at, status, recovered,"
        " refreshed, beyond_retention_ms, error"
    )

    id: int
    guild_id: int
    reason: str
    from_id: int | None
    started_at: int | None
    detected_at: int
    ended_at: int | None = None
    status: str = "open"
    recovered: int = 0
    refreshed: int = 0
    beyond_retention_ms: int = 0
    error: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> Gap:
        return cls(*row)

    def with_(self, **changes: Any) -> Gap:
        return replace(self, **changes)

    def describe(self) -> str:
        """One line for the feed: what may be missing and what was recovered."""
        if self.reason == "first-sync":
            head = "first sync"
        else:
            head = f"not connected ({self.reason})"
        if self.status == "open":
            tail = "backfilling…"
        elif self.status == "failed":
            tail = f"backfill failed: {self.error or 'unknown error'}"
        else:
            tail = f"backfill recovered {self.recovered} entr{'y' if self.recovered == 1 else 'ies'}"
            if self.refreshed:
                tail += f", refreshed {self.refreshed}"
        if self.beyond_retention_ms > 0:
            days = self.beyond_retention_ms / 86_400_000
            tail += (
                f"; {days:.1f} days are older than Discord's {RETENTION_MS // 86_400_000}-day "
                "retention and cannot be recovered"
            )
        return f"{head}: {tail}"
