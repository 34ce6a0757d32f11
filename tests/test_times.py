"""The one time module: every format the console writes, checked against the slow, obvious way."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.model import times

T0 = 1_714_566_896_789  # 2024-05-01 12:34:56.789 UTC


def _strftime_iso(ms: int) -> str:
    t = dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


@pytest.mark.parametrize(
    "ms", [0, 1, 999, 86_399_999, 86_400_000, T0, 951_782_400_000, 4_102_444_800_000, -1, -86_400_001]
)
def test_iso_utc_matches_strftime(ms: int) -> None:
    assert times.iso_utc(ms) == _strftime_iso(ms)


@given(st.integers(0, 253_402_300_799_999))  # up to datetime's year 9999
def test_iso_utc_matches_strftime_anywhere(ms: int) -> None:
    assert times.iso_utc(ms) == _strftime_iso(ms)


def test_iso_utc_day_cache_stays_bounded() -> None:
    for d in range(5000):
        assert times.iso_utc(d * 86_400_000 + 5) == _strftime_iso(d * 86_400_000 + 5)
    assert len(times._DAYS) <= 4096


def test_readable_formats() -> None:
    assert times.utc_time(T0) == "2024-05-01 12:34:56.789 UTC"
    assert times.day(T0) == "2024-05-01"
    assert times.file_stamp(T0) == "20240501-123456"
    assert times.minute_utc(T0) == "2024-05-01 12:34"
    assert times.second_in(T0, dt.UTC) == "2024-05-01 12:34:56"
    assert times.second_in(T0, times.zone("Asia/Kolkata")) == "2024-05-01 18:04:56"
    assert times.minute_in(T0, times.zone("America/New_York")) == "2024-05-01 08:34"
    assert times.clock(T0, dt.UTC) == "05-01 12:34:56"
    assert times.discord_iso(T0) == "2024-05-01T12:34:56.789000+00:00"


def test_relative_and_durations() -> None:
    assert times.relative(T0 + 4_000, T0) == "in 4s"
    assert times.relative(T0 - 125_000, T0) == "2m5s ago"
    assert times.relative(T0, T0) == "now"
    assert times.relative(T0, None) == ""
    assert times.human_seconds(5400) == "1 h 30 min"
    assert times.human_seconds(50 * 86400 + 5) == "50 d"
    assert times.ago(T0 - 3 * 3600_000 - 5, T0) == "3h ago"
    assert times.ago(T0 + 10, T0) == "0s ago"
    assert [times.duration(ms) for ms in (-5, 4_000, 185_000, 3_720_000)] == ["0s", "4s", "3m05s", "1h02m"]


def test_local_times() -> None:
    cest = dt.timezone(dt.timedelta(hours=2), "CEST")
    assert times.local_time(T0, cest) == "2024-05-01 14:34:56 CEST"
    assert times.short_local(T0, cest) == "14:34:56 CEST"
    assert times.short_local(T0, dt.UTC) == ""
    late = dt.timezone(dt.timedelta(hours=-14), "X")
    assert times.short_local(T0, late) == "2024-04-30 22:34:56 X"


@pytest.mark.parametrize(
    ("value", "seconds", "expected"),
    [
        ("2024-05-01T12:34:56.789000+00:00", True, "2024-05-01 12:34:56 UTC"),
        ("2024-05-01T14:34:56+02:00", False, "2024-05-01 12:34 UTC"),
        ("2024-05-01T12:34:56Z", True, "2024-05-01 12:34:56 UTC"),
        # Naive means UTC, whatever the machine's zone.
        ("2024-05-01T12:34:56", True, "2024-05-01 12:34:56 UTC"),
        ("yesterday", True, None),
        (12, True, None),
        (None, True, None),
    ],
)
def test_readable_iso(value: object, seconds: bool, expected: str | None) -> None:
    assert times.readable_iso(value, seconds=seconds) == expected
