"""The ``[web]`` table: each bad value is one line naming the key (exit 2 from any command)."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.config import load
from console.errors import ConfigError
from console.web.auth import hash_password, verify_password


@pytest.mark.parametrize(
    ("table", "said"),
    [
        ('password_hash = "hunter2"', "password_hash must be what `audit-console serve --hash-password` prints"),
        ('password_hash = "scrypt$16384$8$1$!!$!!"', "password_hash is damaged"),
        ("max_sessions = 0", "web.max_sessions must be a whole number from 1 to 100"),
        ("max_sessions = true", "web.max_sessions must be a whole number"),
        ("session_hours = -1", "web.session_hours must be a number of hours"),
        ('tls_cert = "/etc/cert.pem"', "web.tls_cert and web.tls_key go together"),
        ('proxy = ""', "web.proxy must be a non-empty string"),
        ("port = 8080", "unknown setting web.port"),
    ],
)
def test_a_bad_web_setting_is_one_line(table: str, said: str, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f"[web]\n{table}\n")
    with pytest.raises(ConfigError) as caught:
        load(config)
    assert said in str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_hash_serve_prints_is_taken_and_checks_the_password(tmp_path: Path) -> None:
    stored = hash_password("a long web password")
    config = tmp_path / "config.toml"
    config.write_text(f'[web]\npassword_hash = "{stored}"\nmax_sessions = 3\n')
    web = load(config).web
    assert web.password_hash == stored
    assert web.max_sessions == 3
    assert verify_password("a long web password", stored)
    assert not verify_password("a long web passwore", stored)
    assert "a long web password" not in stored
