"""The ``timezone`` setting: an IANA name, checked when the config is read (a bad one is one line;
from the command, exit 2: tests/cli/test_config_keys.py), and the times shown in it; exports stay
UTC."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from console.config import Settings, load
from console.errors import ConfigError
from console.model import times

#: 2026-11-21 12:00:00.250 UTC (Paris is on CET then, UTC+1; Tokyo is always UTC+9).
MS = 1_795_262_400_250
#: 2026-07-01 23:30:00 UTC (Paris on CEST, UTC+2: the next day there).
SUMMER_MS = 1_782_948_600_000


def test_a_zone_from_the_config(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('timezone = "Europe/Paris"\n', encoding="utf-8")
    settings = load(config)
    assert settings.timezone == "Europe/Paris"
    assert times.zone_label(settings.zone(), MS) == "Europe/Paris"
    assert Settings().zone() is None  # no setting: the system's zone


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ('"Mars/Olympus_Mons"', "timezone 'Mars/Olympus_Mons' is not an IANA time zone name"),
        ('"../../etc/passwd"', "timezone '../../etc/passwd' is not an IANA time zone name"),
        ('""', "timezone '' is not an IANA time zone name"),
        ("2", "timezone must be an IANA zone name such as Europe/Paris (a string)"),
    ],
)
def test_a_bad_zone_is_one_line(tmp_path: Path, value: str, says: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f"timezone = {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load(config)
    assert str(e.value).startswith(f"config {config}: {says}")
    assert "\n" not in str(e.value)


def test_times_shown_in_a_fixed_zone() -> None:
    paris, tokyo = times.zone("Europe/Paris"), times.zone("Asia/Tokyo")
    assert times.clock(MS, paris) == "11-21 13:00:00"
    assert times.clock(MS, tokyo) == "11-21 21:00:00"
    assert times.clock(MS, dt.UTC) == "11-21 12:00:00"
    assert times.clock(SUMMER_MS, paris) == "07-02 01:30:00"  # summer time, and the next day
    assert times.local_time(MS, paris) == "2026-11-21 13:00:00 CET"
    assert times.short_local(SUMMER_MS, paris) == "2026-07-02 01:30:00 CEST"
    assert times.short_local(MS, dt.UTC) == ""
    assert times.zone_label(tokyo, MS) == "Asia/Tokyo"
    assert times.zone_label(times.zone("Etc/UTC"), MS) == "UTC"
    assert times.zone_label(dt.UTC, MS) == "UTC"
    assert times.zone_label(None, MS) == "UTC"  # the tests pin the system's zone to UTC


def test_exports_stay_utc_whatever_the_zone() -> None:
    """The export's and reports' formats take no zone: the same instant is the same text."""
    assert times.iso_utc(MS) == "2026-11-21T12:00:00.250Z"
    assert times.utc_time(MS) == "2026-11-21 12:00:00.250 UTC"
