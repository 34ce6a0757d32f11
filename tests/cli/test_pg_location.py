"""Choosing a PostgreSQL store with ``--db`` or the config's ``db``, as a person does: the real
command in a subprocess against a real server. Every way it can go wrong is one line on stderr
and exit 2, and nothing is created or changed; the password comes from PGPASSWORD, a pgpass
file, a service file or the config's password_file, and never from the URL."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest
from pgtest import Cluster, free_port, with_database

from console.model.location import PgLocation
from console.store import open_store

FAKE_TOKEN = "OTAwMDAwMDAwMDAwMDAwMDQy.sim.token-that-is-long-enough-xx"
PASSWORD = "correct-horse-battery"
#: libpq's variables that would otherwise leak in from the machine running the tests.
_PG_VARS = ("PGPASSWORD", "PGPASSFILE", "PGSERVICE", "PGSERVICEFILE", "PGUSER", "PGHOST", "PGPORT", "PGDATABASE")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in _PG_VARS}
    return subprocess.run(
        [sys.executable, "-m", "console", *args],
        capture_output=True,
        text=True,
        env={**clean, **(env or {})},
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def assert_one_line(result: subprocess.CompletedProcess[str], code: int, *needles: str) -> str:
    assert result.returncode == code, (result.returncode, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


async def _fetch(url: str, sql: str, **options: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url, **options)
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


def tables(url: str) -> set[str]:
    rows = asyncio.run(_fetch(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
    return {r["tablename"] for r in rows}


def databases(url: str) -> set[str]:
    return {r["datname"] for r in asyncio.run(_fetch(url, "SELECT datname FROM pg_database"))}


def write_config(folder: Path, text: str) -> Path:
    config = folder / "config.toml"
    config.write_text(text, encoding="utf-8")
    return config


# -- the URL itself -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["postgresql://mod:s3cret@127.0.0.1:5432/audit", "postgres://mod@127.0.0.1/audit?sslmode=disable&password=s3cret"],
)
def test_a_password_in_the_url_is_refused_on_the_command_line(url: str, pg_url: str) -> None:
    line = assert_one_line(
        run("open", "--db", url), 2, "--db:", "a password does not belong in the URL", "PGPASSWORD", "password_file"
    )
    assert "s3cret" not in line


def test_a_password_in_the_configs_url_is_refused(tmp_path: Path) -> None:
    config = write_config(tmp_path, 'db = "postgresql://mod:s3cret@127.0.0.1/audit"\n')
    line = assert_one_line(
        run("open", "--config", str(config)), 2, f"config {config}: db:", "a password does not belong in the URL"
    )
    assert "s3cret" not in line


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("postgresql://mod@127.0.0.1:99999/audit", "the port '99999' is not a number from 1 to 65535"),
        ("postgresql://mod@127.0.0.1/audit?sslmode=maybe", "sslmode 'maybe' is not one of"),
        ("host=127.0.0.1 dbname=audit", "libpq key=value strings are not taken"),
        ("mysql://mod@127.0.0.1/audit", "mysql:// is not a store"),
    ],
)
def test_a_url_that_cannot_be_used_is_one_line(url: str, needle: str) -> None:
    assert_one_line(run("open", "--db", url), 2, needle)


# -- the server and the database ------------------------------------------------------------------


def test_an_unreachable_server(tmp_path: Path) -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/audit"
    assert_one_line(run("open", "--db", url), 2, f"cannot reach PostgreSQL at {url}")
    assert_one_line(
        run("backfill", "--guild", "1", "--db", url, env={"DISCORD_TOKEN": FAKE_TOKEN}), 2, "cannot reach PostgreSQL"
    )


def test_a_missing_database_is_not_created(pg_url: str) -> None:
    missing = with_database(pg_url, "ac_no_such_database")
    assert_one_line(
        run("backfill", "--guild", "1", "--db", missing, env={"DISCORD_TOKEN": FAKE_TOKEN}),
        2,
        'database "ac_no_such_database" does not exist',
        "createdb",
    )
    assert "ac_no_such_database" not in databases(pg_url)


def test_someone_elses_tables_are_refused_and_left_alone(pg_url: str) -> None:
    asyncio.run(_fetch(pg_url, "CREATE TABLE invoices (id int)"))
    for args in (("open",), ("prune",), ("backfill", "--guild", "1")):
        assert_one_line(
            run(*args, "--db", pg_url, env={"DISCORD_TOKEN": FAKE_TOKEN}),
            2,
            "holds tables that are not an Audit Console store; refusing to touch them",
        )
    assert tables(pg_url) == {"invoices"}


def test_opening_an_empty_database_to_browse_says_so_and_creates_nothing(pg_url: str) -> None:
    shown = str(PgLocation(pg_url))
    assert_one_line(run("open", "--db", pg_url), 2, f"PostgreSQL at {shown} holds no Audit Console store yet")
    assert_one_line(run("prune", "--db", pg_url), 2, "holds no Audit Console store yet")  # prune creates none
    assert_one_line(run("verify", "--db", pg_url), 2, "holds no Audit Console store")
    assert tables(pg_url) == set()


def test_verify_checks_a_postgresql_store(pg_url: str) -> None:
    async def create() -> None:
        store = await open_store(PgLocation(pg_url), names=False)
        await store.close()

    asyncio.run(create())
    _verified(run("verify", "--db", pg_url))


def _verified(result: subprocess.CompletedProcess[str]) -> None:
    """verify read the store's chain: all well, or (until the PostgreSQL store starts the chain
    as it opens, as the SQLite store does) the chain not started yet; never exit 2."""
    if result.returncode == 0:
        assert "audit-console verify:" in result.stdout
    else:
        assert result.returncode == 1, result.stderr
        assert result.stdout.startswith("the integrity chain has not been started on this store yet"), result.stdout


def test_export_from_an_empty_database_is_one_line_and_creates_nothing(pg_url: str, tmp_path: Path) -> None:
    config = write_config(tmp_path, f'db = "{pg_url}"\n')
    assert_one_line(run("export", "--format", "csv", "--config", str(config)), 2, "holds no Audit Console store")
    assert tables(pg_url) == set()


# -- where the password comes from (a cluster of the test's own, asking for passwords) ------------


def _ask_passwords(cluster: Cluster) -> str:
    """The cluster asks role ``mod`` for a password (SCRAM) over TCP; returns mod's URL to a
    database ``audit`` that mod owns and that is empty."""

    async def setup() -> None:
        conn = await asyncpg.connect(cluster.url)
        try:
            await conn.execute(f"CREATE ROLE mod LOGIN PASSWORD '{PASSWORD}'")
            await conn.execute("CREATE DATABASE audit OWNER mod")
        finally:
            await conn.close()

    asyncio.run(setup())
    hba = cluster.data / "pg_hba.conf"
    hba.write_text("host all mod 127.0.0.1/32 scram-sha-256\n" + hba.read_text(encoding="utf-8"), encoding="utf-8")
    subprocess.run(cluster._cmd("pg_ctl", "-D", str(cluster.data), "reload"), check=True, capture_output=True)
    return f"postgresql://mod@127.0.0.1:{cluster.port}/audit"


#: What `open` says of an empty database: the login worked.
EMPTY = "holds no Audit Console store yet"


def test_the_password_comes_from_pgpassword_a_pgpass_file_or_a_service_file(
    pg_cluster: Cluster, tmp_path: Path
) -> None:
    url = _ask_passwords(pg_cluster)
    empty = EMPTY

    # No password anywhere, then a wrong one: refused, one line, the password never shown.
    assert_one_line(run("open", "--db", url), 2, f"PostgreSQL at {url} refused the password", "PGPASSWORD")
    line = assert_one_line(run("open", "--db", url, env={"PGPASSWORD": "wrong-pony"}), 2, "refused the password")
    assert "wrong-pony" not in line

    # PGPASSWORD, a pgpass file, a service file: the driver's own ways.
    assert_one_line(run("open", "--db", url, env={"PGPASSWORD": PASSWORD}), 2, empty)
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"127.0.0.1:{pg_cluster.port}:audit:mod:{PASSWORD}\n", encoding="utf-8")
    pgpass.chmod(0o600)
    assert_one_line(run("open", "--db", url, env={"PGPASSFILE": str(pgpass)}), 2, empty)
    services = tmp_path / "services.conf"
    services.write_text(
        f"[audit]\nhost=127.0.0.1\nport={pg_cluster.port}\ndbname=audit\nuser=mod\npassword={PASSWORD}\n",
        encoding="utf-8",
    )
    env = {"PGSERVICEFILE": str(services)}
    assert_one_line(run("open", "--db", "postgresql://?service=audit", env=env), 2, empty)
    assert_one_line(run("open", "--db", "postgresql://", env={**env, "PGSERVICE": "audit"}), 2, empty)
    assert_one_line(
        run("open", "--db", "postgresql://?service=other", env=env), 2, f"service 'other' is not defined in {services}"
    )
    assert tables(with_database(pg_cluster.url, "audit")) == set()  # nothing created by any of it


def test_the_configs_password_file_is_read_with_the_token_files_rules(pg_cluster: Cluster, tmp_path: Path) -> None:
    url = _ask_passwords(pg_cluster)
    empty = EMPTY
    secret = tmp_path / "db-password"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    secret.chmod(0o644)
    config = write_config(tmp_path, f'db = "{url}"\npassword_file = "{secret}"\n')
    line = assert_one_line(
        run("open", "--config", str(config)), 2, f"password file {secret} is readable by others", "chmod 600"
    )
    assert PASSWORD not in line
    secret.chmod(0o600)
    assert_one_line(run("open", "--config", str(config)), 2, empty)
    result = run("prune", "--dry-run", "--config", str(config))  # what a readonly command says, nothing else
    assert PASSWORD not in result.stdout + result.stderr
    assert tables(with_database(pg_cluster.url, "audit")) == set()  # nothing created by any of it

    # The API the commands use: the password file opens (and creates) the store.
    async def create() -> None:
        store = await open_store(PgLocation(url), password_file=secret, names=False)
        await store.close()

    asyncio.run(create())
    assert "meta" in tables(with_database(pg_cluster.url, "audit"))
    _verified(run("verify", "--config", str(config)))
