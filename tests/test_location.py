"""What ``--db`` and the config's ``db`` hold: a path (a SQLite store, as always) or a libpq-style
PostgreSQL URL, never with a password in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.config import load
from console.errors import ConfigError
from console.model.location import LocationError, PgLocation, display_url, parse_location


@pytest.mark.parametrize(
    "text",
    [
        "postgresql://mod@db.example:5432/audit",
        "postgres://mod@db.example/audit?sslmode=verify-full&application_name=console",
        "postgresql://mod@/audit?host=/run/postgresql",  # a socket folder, as libpq takes it
        "postgresql://mod@primary:5432,standby:5433/audit?target_session_attrs=read-write",
        "postgresql://[::1]:5432/audit",
        "postgresql:///audit",
        "postgresql://?service=audit",
        "PostgreSQL://mod@db/audit",
    ],
)
def test_postgresql_urls_are_taken_as_given(text: str) -> None:
    assert parse_location(text) == PgLocation(text)


@pytest.mark.parametrize("text", ["audit.db", "~/stores/audit.db", "/var/lib/audit console/a.db", "a=b.db"])
def test_anything_else_is_a_path(text: str) -> None:
    assert parse_location(text) == Path(text).expanduser()


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("postgresql://mod:s3cret@db/audit", "a password does not belong in the URL"),
        ("postgresql://mod:@db/audit", "a password does not belong in the URL"),
        ("postgresql://mod@db/audit?password=s3cret", "a password does not belong in the URL"),
        ("postgresql://mod@db:5432x/audit", "the port '5432x' is not a number"),
        ("postgresql://mod@a:1,b:0/audit", "the port '0' is not a number"),
        ("postgresql://mod@db/audit?port=abc", "the port 'abc' is not a number"),
        ("postgresql://mod@db/audit?sslmode=on", "sslmode 'on' is not one of disable, allow, prefer"),
        ("postgresql://mod@db/audit?sslmode", "key=value pairs"),
        ("host=db dbname=audit user=mod", "libpq key=value strings are not taken"),
        ("sqlite:///audit.db", "sqlite:// is not a store"),
        ("  ", "empty"),
    ],
)
def test_unusable_locations_are_one_line(text: str, needle: str) -> None:
    with pytest.raises(LocationError) as e:
        parse_location(text)
    assert needle in str(e.value)
    assert "\n" not in str(e.value)
    assert "s3cret" not in str(e.value)


def test_a_refused_password_says_where_a_password_goes() -> None:
    with pytest.raises(LocationError) as e:
        parse_location("postgresql://mod:s3cret@db/audit")
    for source in ("PGPASSWORD", "~/.pgpass", "PGPASSFILE", "service file", "password_file"):
        assert source in str(e.value)


def test_how_a_location_is_shown() -> None:
    assert str(PgLocation("postgresql://mod@db:5432/audit?sslmode=require")) == "postgresql://mod@db:5432/audit"
    assert PgLocation("postgresql://mod@db/audit%20log").name == "audit log"
    assert PgLocation("postgresql://?service=audit").name == "postgresql://"
    assert display_url("postgresql://mod:s3cret@db/audit?x=1") == "postgresql://mod@db/audit"


def test_the_config_takes_a_url_and_a_password_file(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        'db = "postgresql://mod@db.example/audit?sslmode=require"\npassword_file = "~/db-password"\n', encoding="utf-8"
    )
    s = load(config)
    assert s.db == PgLocation("postgresql://mod@db.example/audit?sslmode=require")
    assert s.password_file == Path("~/db-password").expanduser()


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ('db = "postgresql://mod:s3cret@db/audit"', "db: postgresql://mod@db/audit: a password does not belong"),
        ("db = 5", "db must be a path or a postgresql:// URL"),
        ("password_file = 5", "password_file must be a path string"),
    ],
)
def test_the_config_refuses_with_one_line(tmp_path: Path, body: str, needle: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(body + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load(config)
    assert str(e.value).startswith(f"config {config}: ")
    assert needle in str(e.value)
    assert "s3cret" not in str(e.value)
