"""What the collector reports to whoever shows it (the header, the headless progress line).
Its own module so the screen can show it without importing the collector."""

from typing import NamedTuple


class CollectorState(NamedTuple):
    """What the collector is doing, for the header and the status command."""

    gateway: str = "offline"  # offline | connecting | connected | resuming | disconnected | closed
    backfilling: frozenset[int] = frozenset()
    degraded: str | None = None
    entries_per_s: float = 0.0
    stored: int = 0
    last_error: str | None = None
    guild_ids: frozenset[int] = frozenset()
    sessions: int = 0
