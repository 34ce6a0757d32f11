"""A collector's share of a sharded bot: shards ``first``–``last`` of ``total`` (``collect --shards
0-1 --shard-count 4``, or the config's ``shards`` and ``shard_count``).

Discord's rules (docs/team.md): a guild lives on shard ``(guild_id >> 22) % count``; events without
a guild come on shard 0; shards start in buckets ``shard_id % max_concurrency``, one IDENTIFY per
bucket every 5 s. Pure logic: the config, the collector, the store's leadership and the simulator
all ask the same questions of it."""

from __future__ import annotations

import re
from typing import NamedTuple

#: Discord allows up to this many shards without a special arrangement; a typo beyond is refused.
MAX_SHARDS = 65_536

_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")
_KEY = re.compile(r"^shards (\d+)-(\d+)/([1-9]\d*)$")


class ShardError(ValueError):
    """A shard range that cannot be: the message is one line for the user."""


def shard_of(guild_id: int, count: int) -> int:
    """The shard a guild's events come on (Discord's formula)."""
    return (guild_id >> 22) % count


class ShardGroup(NamedTuple):
    first: int
    last: int
    total: int
    """The bot's shard count (hikari's ``shard_count``)."""

    @classmethod
    def parse(cls, shards: str | int, count: int | str, where: str = "--shards") -> ShardGroup:
        """``"0-3"`` (or ``"2"``, or an int) of ``count`` shards; ShardError with one line."""
        try:
            total = int(count) if not isinstance(count, bool) else -1
        except (TypeError, ValueError):
            total = -1
        if not 1 <= total <= MAX_SHARDS:
            raise ShardError(f"{where}: the shard count must be a whole number from 1 to {MAX_SHARDS}, got {count!r}")
        m = _RANGE.match(str(shards)) if not isinstance(shards, bool) else None
        if m is None:
            raise ShardError(f"{where}: expected a shard or a range like 0-3, got {shards!r}")
        first = int(m.group(1))
        last = int(m.group(2)) if m.group(2) is not None else first
        if first > last:
            raise ShardError(f"{where}: the range {first}-{last} runs backwards")
        if last >= total:
            raise ShardError(f"{where}: shard {last} does not exist with {total} shards (they are 0-{total - 1})")
        return cls(first, last, total)

    @property
    def ids(self) -> list[int]:
        return list(range(self.first, self.last + 1))

    @property
    def key(self) -> str:
        """Names the group in the store's leadership (one active collector per group)."""
        return f"shards {self.first}-{self.last}/{self.total}"

    @classmethod
    def from_key(cls, key: str) -> ShardGroup | None:
        """The group a leadership scope names (:attr:`key`); None for the unsharded collector's
        scope ('') or anything else."""
        m = _KEY.match(key)
        return None if m is None else cls(int(m.group(1)), int(m.group(2)), int(m.group(3)))

    def owns(self, guild_id: int) -> bool:
        return self.first <= shard_of(guild_id, self.total) <= self.last

    def buckets(self, max_concurrency: int) -> list[int]:
        """The IDENTIFY buckets this group's shards start in."""
        return sorted({sid % max(1, max_concurrency) for sid in self.ids})
