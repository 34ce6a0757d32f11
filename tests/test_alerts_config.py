"""The ``[alerts]`` table: defaults, overrides, and one clear line for every bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.alerts.settings import DEFAULT_RULES, Rule
from console.config import ConfigError, load


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "config.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_defaults_when_absent(tmp_path: Path) -> None:
    s = load(write(tmp_path, 'theme = "console-dark"\n')).alerts
    assert s.rules == DEFAULT_RULES
    assert s.rule("ban_wave") == Rule(count=5, minutes=2)
    assert s.bell is False
    assert s.channel_for(1) is None
    assert "ADMINISTRATOR" in s.dangerous


def test_everything_set(tmp_path: Path) -> None:
    s = load(
        write(
            tmp_path,
            """
[alerts]
bell = true
channel = "222222222222222222"
cooldown_minutes = 5
learning_days = 30
dangerous_permissions = ["administrator", "MANAGE_ROLES"]
bot_added = false
ban_wave = { count = 10, minutes = 1.5 }
[alerts.deny_burst]
enabled = false
""",
        )
    ).alerts
    assert s.bell
    assert s.channel_for(5) == 222222222222222222
    assert s.cooldown_minutes == 5
    assert s.learning_days == 30
    assert s.dangerous == {"ADMINISTRATOR", "MANAGE_ROLES"}
    assert not s.rule("bot_added").enabled
    assert s.rule("ban_wave") == Rule(count=10, minutes=1.5)
    assert not s.rule("deny_burst").enabled
    assert s.rule("deny_burst").count == 5


def test_a_channel_per_guild(tmp_path: Path) -> None:
    s = load(write(tmp_path, '[alerts.channel]\n"111111111111111111" = "333333333333333333"\n')).alerts
    assert s.channel_for(111111111111111111) == 333333333333333333
    assert s.channel_for(5) is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("alerts = 3", "alerts must be a table"),
        ("[alerts]\nbel = true", "unknown alerts setting 'bel'"),
        ("[alerts]\nbell = 1", "alerts.bell must be true or false"),
        ('[alerts]\nchannel = "#mod-log"', "alerts.channel: expected a Discord id"),
        ("[alerts]\nban_wave = { count = 0 }", "alerts.ban_wave.count must be a whole number from 1"),
        ("[alerts]\nban_wave = { count = 2.5 }", "alerts.ban_wave.count must be a whole number"),
        ('[alerts]\nban_wave = { minutes = "2" }', "alerts.ban_wave.minutes must be a number"),
        ("[alerts]\nban_wave = { window = 2 }", "unknown setting 'window'"),
        ("[alerts]\nbot_added = { count = 2 }", "unknown setting 'count' (known: enabled)"),
        ("[alerts]\nfirst_use = 3", "alerts.first_use must be true, false or a table"),
        ('[alerts]\ndangerous_permissions = ["ROOT"]', "unknown permission 'ROOT'"),
        ("[alerts]\ncooldown_minutes = -1", "alerts.cooldown_minutes must be a number from 0"),
    ],
)
def test_bad_values_are_one_line(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError) as e:
        load(write(tmp_path, body + "\n"))
    text = str(e.value)
    assert message in text
    assert "\n" not in text
    assert "config.toml" in text
