"""The config file takes the keys the README lists and refuses every other one with one line
naming the file and the key (a typo must not be silently ignored)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from console.config import load
from console.errors import ConfigError


@pytest.mark.parametrize("body", ["guilds = [123456789012345678]", "guild = 1", "colour = 'red'"])
def test_unknown_keys_are_refused(tmp_path: Path, body: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(body + "\n", encoding="utf-8")
    key = body.split(" ", 1)[0]
    with pytest.raises(ConfigError) as e:
        load(config)
    assert str(e.value) == f"config {config}: unknown setting {key!r}"


def test_the_known_keys_are_taken(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        "guild_ids = [123456789012345678]\nretention_days = 30\n"
        '[reports]\nevery = "weekly"\nchannel = "223456789012345678"\n',
        encoding="utf-8",
    )
    s = load(config)
    assert s.guild_ids == (123456789012345678,)
    assert s.reports is not None
    assert s.reports.channel == 223456789012345678


def _open_with(tmp_path: Path, body: str) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """``audit-console open`` with a config file holding ``body``: the file and what it did."""
    config = tmp_path / "config.toml"
    config.write_text(body, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "console", "open", "--config", str(config), "--db", str(tmp_path / "a.db")],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    return config, result


def test_an_unknown_key_is_one_line_from_the_command(tmp_path: Path) -> None:
    config, result = _open_with(tmp_path, "guilds = [123456789012345678]\n")
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [f"audit-console: config {config}: unknown setting 'guilds'"]


def test_a_bad_timezone_is_one_line_from_the_command(tmp_path: Path) -> None:
    config, result = _open_with(tmp_path, 'timezone = "Europe/Atlantis"\n')
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"audit-console: config {config}: timezone 'Europe/Atlantis' is not an IANA time zone name"
        " (such as Europe/Paris or UTC)"
    ]
    assert not (tmp_path / "a.db").exists()
