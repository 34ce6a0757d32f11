"""Retention: how long each guild's records are kept (30, 90, 180 or 365 days, or forever).

Config (TOML)::

    retention_days = 90            # every guild (default: forever)

    [retention]                    # per guild, stronger than retention_days
    "123456789012345678" = 30
    "234567890123456789" = "forever"

Pure: parsing and the cut-off arithmetic; ``console.store.integrity`` does the pruning.
"""

from collections.abc import Mapping
from typing import Any, Final, NamedTuple, Self

from console.model.snowflake import from_ms
from console.model.snowflake import parse as parse_id

DAY_MS: Final = 86_400_000
#: The windows a guild may keep; None is "forever".
CHOICES: Final = (30, 90, 180, 365)


class RetentionError(ValueError):
    """A retention setting that is not one of the choices (one line)."""


def parse_days(value: Any, where: str) -> int | None:
    """30, 90, 180, 365 (or their strings), or "forever"/0 → None."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("forever", "never", "0", ""):
            return None
        if text.isascii() and text.isdigit():
            value = int(text)
    if value == 0 and not isinstance(value, bool):
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value not in CHOICES:
        raise RetentionError(f'{where}: retention must be 30, 90, 180 or 365 days, or "forever" (got {value!r})')
    return value


class Retention(NamedTuple):
    """The retention in force: a default for every guild and per-guild choices."""

    default_days: int | None = None
    per_guild: tuple[tuple[int, int | None], ...] = ()

    def days(self, guild_id: int) -> int | None:
        for gid, days in self.per_guild:
            if gid == guild_id:
                return days
        return self.default_days

    @property
    def forever(self) -> bool:
        """Nothing is ever pruned."""
        return self.default_days is None and all(d is None for _, d in self.per_guild)

    def cutoff_ms(self, guild_id: int, now_ms: int) -> int | None:
        """Records made before this time are outside the window (None: keep everything)."""
        days = self.days(guild_id)
        return None if days is None else now_ms - days * DAY_MS

    def cutoff_id(self, guild_id: int, now_ms: int) -> int | None:
        """Records whose (snowflake) id is below this one are outside the window."""
        ms = self.cutoff_ms(guild_id, now_ms)
        return None if ms is None else from_ms(ms)

    def describe(self, guild_id: int) -> str:
        days = self.days(guild_id)
        return "forever" if days is None else f"{days} days"

    @classmethod
    def parse(cls, default: Any, table: Any, where: str) -> Self:
        """From ``retention_days`` (``default``, may be None) and the ``[retention]`` table."""
        default_days = None if default is None else parse_days(default, f"{where}: retention_days")
        per: list[tuple[int, int | None]] = []
        if table is not None:
            if not isinstance(table, Mapping):
                raise RetentionError(f'{where}: [retention] must be a table of "<guild id>" = days')
            for key, value in table.items():
                if key == "default":
                    default_days = parse_days(value, f"{where}: retention.default")
                    continue
                gid = parse_id(key.strip() if isinstance(key, str) else key)
                if gid is None:
                    raise RetentionError(f"{where}: retention: {key!r} is not a guild id")
                per.append((gid, parse_days(value, f"{where}: retention.{key}")))
        return cls(default_days, tuple(per))
