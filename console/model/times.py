"""Time as the console writes it: one module for every format a person or a file sees.

All instants are Unix milliseconds (UTC). Stored and exported times are always UTC; only what is
shown on screen is in the console's zone (``local_time``, ``short_local``, ``clock``): the
``timezone`` setting (:func:`zone`), else the system's own (a ``tz`` of None).
"""

from __future__ import annotations

import datetime as dt
import time
from datetime import date as _date
from typing import Any

_UNIX_ORDINAL = _date(1970, 1, 1).toordinal()

# Export writes two ISO times per row: the date part is cached per day and the time of day comes
# from tables, instead of strftime (a third of the export's time). Built on first use, so that a
# start that never exports does not pay for them.
_DAYS: dict[int, str] = {}
_HMS: tuple[str, ...] = ()
_MILLIS: tuple[str, ...] = ()


def _tables() -> None:
    global _HMS, _MILLIS
    _HMS = tuple(f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86_400))
    _MILLIS = tuple(f".{m:03d}Z" for m in range(1000))


def iso_utc(ms: int) -> str:
    """ISO-8601 UTC with milliseconds and a ``Z`` (``2024-05-01T12:00:00.123Z``): the export's
    and the reports' time format."""
    if ms < 0:
        t = dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)
        return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
    if not _HMS:
        _tables()
    day_n, rem = divmod(ms, 86_400_000)
    date = _DAYS.get(day_n)
    if date is None:
        if len(_DAYS) >= 4096:
            _DAYS.clear()
        date = _DAYS[day_n] = _date.fromordinal(day_n + _UNIX_ORDINAL).isoformat() + "T"
    secs, milli = divmod(rem, 1000)
    return date + _HMS[secs] + _MILLIS[milli]


def day(ms: int) -> str:
    """``2024-05-01``: the UTC day."""
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime("%Y-%m-%d")


def file_stamp(ms: int) -> str:
    """``20240501-123456``: UTC to the second, for file names."""
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime("%Y%m%d-%H%M%S")


def minute_utc(ms: int) -> str:
    """``2024-05-01 12:34``: UTC to the minute (report headings)."""
    return iso_utc(ms)[:16].replace("T", " ")


def minute_in(ms: int, tz: dt.tzinfo | None) -> str:
    """``2024-05-01 14:34``: to the minute in the given zone (None: the system's)."""
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).astimezone(tz).strftime("%Y-%m-%d %H:%M")


def second_in(ms: int, tz: dt.tzinfo | None) -> str:
    """``2024-05-01 14:34:56``: to the second in the given zone (None: the system's)."""
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


def utc_time(ms: int) -> str:
    """``2024-05-01 12:34:56.789 UTC``: exact, with milliseconds."""
    t = dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)
    return t.strftime("%Y-%m-%d %H:%M:%S.") + f"{ms % 1000:03d} UTC"


def zone(name: str) -> dt.tzinfo:
    """The IANA time zone ``name`` (``Europe/Paris``, ``UTC``); ValueError with one line when it
    is not one this system knows."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone name (such as Europe/Paris or UTC)") from None


def zone_label(tz: dt.tzinfo | None, at_ms: int) -> str:
    """What to call the zone: its IANA name when it has one, else its abbreviation at ``at_ms``
    (the system's zone: ``CET``); ``UTC`` for UTC however it was named."""
    key = getattr(tz, "key", None)
    if tz is dt.UTC or key in _UTC_NAMES:
        return "UTC"
    if key:
        return str(key)
    t = dt.datetime.fromtimestamp(at_ms / 1000, tz=dt.UTC).astimezone(tz)
    name = t.tzname() or t.strftime("%z")
    return "UTC" if name in _UTC_NAMES else name


_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/Universal", "Universal", "Zulu", "Etc/Zulu"})


def local_time(ms: int, tz: dt.tzinfo | None = None) -> str:
    """``2024-05-01 14:34:56 CEST``: the same instant in the local (or given) time zone."""
    t = dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).astimezone(tz)
    return t.strftime("%Y-%m-%d %H:%M:%S ") + (t.tzname() or t.strftime("%z"))


def short_local(ms: int, tz: dt.tzinfo | None) -> str:
    """``14:34:56 CEST`` (with the date when it differs from UTC's); empty when local is UTC."""
    t = dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)
    local = t.astimezone(tz)
    if local.utcoffset() == dt.timedelta(0):
        return ""
    zone = local.tzname() or local.strftime("%z")
    fmt = "%H:%M:%S" if local.date() == t.date() else "%Y-%m-%d %H:%M:%S"
    return f"{local.strftime(fmt)} {zone}"


def clock(ms: int, tz: dt.tzinfo | None) -> str:
    """``05-01 14:34:56``: a feed row's time in the given zone."""
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).astimezone(tz).strftime("%m-%d %H:%M:%S")


def ago(ms: int, now_ms: int) -> str:
    """``3h ago``: the largest whole unit since ``ms``."""
    age = max(0, now_ms - ms) // 1000
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if age >= size:
            return f"{age // size}{unit} ago"
    return f"{age}s ago"


def relative(ms: int, now_ms: int | None) -> str:
    """``in 4s`` / ``3m ago`` relative to ``now_ms``; empty when there is no clock."""
    if now_ms is None:
        return ""
    delta = (ms - now_ms) // 1000
    if delta == 0:
        return "now"
    text = human_seconds(abs(delta), short=True)
    return f"in {text}" if delta > 0 else f"{text} ago"


def human_seconds(seconds: int, *, short: bool = False) -> str:
    """``1 h 30 min`` (``1h30m`` when short): the largest unit and the one after it, if not zero."""
    if seconds == 0:
        return "0s" if short else "0 s"
    units = (("d", 86400, " d"), ("h", 3600, " h"), ("m", 60, " min"), ("s", 1, " s"))
    first = next(i for i, unit in enumerate(units) if seconds >= unit[1])
    parts: list[str] = []
    rest = seconds
    # Two units are enough for a glance ("2d3h", not "2d3h4m5s"; "50d", not "50d5s").
    for short_unit, size, long_unit in units[first : first + 2]:
        n, rest = divmod(rest, size)
        if n:
            parts.append(f"{n}{short_unit}" if short else f"{n}{long_unit}")
    return ("" if short else " ").join(parts)


def duration(ms: int) -> str:
    """``1h02m`` / ``3m05s`` / ``4s``: a short, fixed-width-ish age (pending role changes)."""
    s = max(0, ms) // 1000
    if s >= 3600:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


def discord_iso(ms: int) -> str:
    """Discord's timestamp format: ``2024-05-01T12:00:00.123000+00:00``."""
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).isoformat(timespec="microseconds")


def parse_iso(value: Any) -> dt.datetime | None:
    """An ISO-8601 timestamp as Discord sends it (``Z`` or an offset; naive means UTC), or None
    when ``value`` is not one."""
    if not isinstance(value, str):
        return None
    try:
        t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)


def readable_iso(value: Any, *, seconds: bool = True) -> str | None:
    """A Discord timestamp as readable UTC (``2024-05-01 12:34:56 UTC``; to the minute unless
    ``seconds``); None when ``value`` is not one."""
    t = parse_iso(value)
    if t is None:
        return None
    return t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC")


def wall_clock_ms() -> int:
    """Now, in Unix milliseconds: the stores' default clock (tests give theirs a fixed one)."""
    return int(time.time() * 1000)
