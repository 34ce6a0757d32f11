"""Snowflake ids: Discord's (and our own records') time-ordered 64-bit ids."""

from __future__ import annotations

import itertools
import threading

DISCORD_EPOCH_MS = 1_420_070_400_000
#: Discord keeps audit-log entries this long.
RETENTION_MS = 45 * 24 * 3600 * 1000


#: SQLite keys rows on a signed 64-bit INTEGER: a larger "id" cannot be one we store.
MAX_ID = 2**63 - 1


def parse(value: object) -> int | None:
    """A Discord id as sent (a decimal string, or an int) → int, or None when it is not one.

    The one place ids from payloads are read: ASCII digits only (``"²".isdigit()`` is true, and
    ``int("²")`` fails), and 0 < id ≤ MAX_ID, so no stored id can overflow SQLite's INTEGER.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        n = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        n = int(value)
    else:
        return None
    return n if 0 < n <= MAX_ID else None


def to_ms(snowflake: int) -> int:
    """Unix time in milliseconds at which the snowflake was made."""
    return (int(snowflake) >> 22) + DISCORD_EPOCH_MS


def from_ms(ms: int, low_bits: int = 0) -> int:
    """The smallest snowflake made at ``ms`` (plus ``low_bits``): a bound for id ranges."""
    return max(0, (int(ms) - DISCORD_EPOCH_MS)) << 22 | (low_bits & 0x3FFFFF)


class SnowflakeFactory:
    """Makes unique, increasing snowflakes for the console's own records (decisions, gaps, …).

    ``worker`` keeps them apart from Discord's; ids stay in time order with Discord's, which lets
    one timeline interleave every kind of record by id.
    """

    def __init__(self, worker: int = 31, *, first: int = 0) -> None:
        """``first``: where the 12-bit increment starts (processes sharing a worker number start
        apart, so that two of them making an id in the same millisecond rarely make the same one)."""
        self._worker = worker & 0x1F
        self._last = 0
        self._lock = threading.Lock()
        self._counter = itertools.count(first)

    def make(self, ms: int) -> int:
        with self._lock:
            candidate = from_ms(ms) | (self._worker << 17) | (next(self._counter) & 0xFFF)
            if candidate <= self._last:
                candidate = self._last + 1
            self._last = candidate
            return candidate
