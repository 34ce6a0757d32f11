"""``audit-console verify`` and ``audit-console prune``, run as the real command in a subprocess
against a store (a SQLite file or a PostgreSQL database: the tests taking ``location`` run on
both) that the test then edits behind the console's back."""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import pytest
from backends import BOTH, db_arg, query

from console.model.location import PgLocation, StoreLocation
from console.model.retention import DAY_MS
from console.model.snowflake import DISCORD_EPOCH_MS
from console.store import open_store

BACKENDS = BOTH

GUILD = 1_000_000_000_000_001
OTHER = 1_000_000_000_000_002


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "console", *args],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        env=dict(os.environ),
    )


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def snowflake(ms: int, low: int) -> int:
    return (ms - DISCORD_EPOCH_MS) << 22 | low


def build(db: StoreLocation, days: list[int], guild: int = GUILD) -> list[int]:
    """Entries ``days`` before now (real time: the command runs with the real clock), oldest first."""
    now = int(time.time() * 1000)
    ids = [snowflake(now - d * DAY_MS - 60_000, n) for n, d in enumerate(sorted(days, reverse=True))]
    raws = [
        {
            "id": str(i),
            "action_type": 22,
            "user_id": "2000000000000001",
            "target_id": "3000000000000001",
            "reason": f"spam wave {n}",
        }
        for n, i in enumerate(ids)
    ]

    async def go() -> None:
        store = await open_store(db)
        try:
            await store.add_entries(raws, source="backfill", guild_id=guild)
        finally:
            await store.close()

    asyncio.run(go())
    return ids


def sql(db: StoreLocation, statement: str, *args: object) -> None:
    """``statement`` (``?`` for each argument) run behind the console's back."""
    if isinstance(db, PgLocation):
        n = itertools.count(1)
        numbered = re.sub(r"\?", lambda _m: f"${next(n)}", statement)
        asyncio.run(_pg_execute(db.url, numbered, *args))
        return
    conn = sqlite3.connect(db)
    try:
        conn.execute(statement, args)
        conn.commit()
    finally:
        conn.close()


async def _pg_execute(url: str, statement: str, *args: object) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(statement, *args)
    finally:
        await conn.close()


@pytest.fixture
def store_db(location: StoreLocation) -> tuple[StoreLocation, list[int]]:
    return location, build(location, list(range(20, 0, -1)))


def test_a_healthy_store_verifies(store_db: tuple[StoreLocation, list[int]]) -> None:
    db, _ = store_db
    r = run("verify", "--db", db_arg(db))
    assert r.returncode == 0, r.stdout + r.stderr
    out = lines(r.stdout)
    assert len(out) == 1
    assert out[0].startswith("audit-console verify: ok")
    assert "20 records" in out[0]
    assert "reaches back to" in out[0]
    heads = run("verify", "--db", db_arg(db), "--heads")
    assert f"guild {GUILD}: head link 20 " in heads.stdout


def test_verify_finds_an_edited_reason(store_db: tuple[StoreLocation, list[int]]) -> None:
    db, ids = store_db
    sql(db, "UPDATE audit_entries SET reason = 'nothing happened' WHERE id = ?", ids[4])
    r = run("verify", "--db", db_arg(db))
    assert r.returncode == 1
    assert lines(r.stdout) == [f"guild {GUILD}: entry {ids[4]} edited after it was stored (reason changed)"]
    assert "1 problem found" in r.stderr
    assert "Traceback" not in r.stderr


def test_verify_finds_a_deleted_row(store_db: tuple[StoreLocation, list[int]]) -> None:
    db, ids = store_db
    sql(db, "DELETE FROM audit_entries WHERE id = ?", ids[7])
    r = run("verify", "--db", db_arg(db))
    assert r.returncode == 1
    assert lines(r.stdout) == [f"guild {GUILD}: entry {ids[7]} deleted"]


def test_verify_finds_a_truncated_table(store_db: tuple[StoreLocation, list[int]]) -> None:
    db, ids = store_db
    sql(db, "DELETE FROM audit_entries WHERE id >= ?", ids[12])
    r = run("verify", "--db", db_arg(db))
    assert r.returncode == 1
    assert lines(r.stdout) == [f"guild {GUILD}: 8 entries (ids {ids[12]} to {ids[19]}) deleted"]


def test_verify_finds_a_truncated_chain(store_db: tuple[StoreLocation, list[int]]) -> None:
    db, ids = store_db
    sql(db, "DELETE FROM chain WHERE seq > 15")
    r = run("verify", "--db", db_arg(db))
    assert r.returncode == 1
    assert lines(r.stdout) == [
        f"guild {GUILD}: chain truncated after link 15 (its head is link 20)",
        f"guild {GUILD}: 5 entries (ids {ids[15]} to {ids[19]}) are not in the chain (added behind the console's back)",
    ]


def test_a_corrupt_database_is_one_line(tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    build(db, [d for d in range(400, 0, -1) for _ in range(5)])
    size = db.stat().st_size
    with db.open("r+b") as f:
        f.seek(size // 3)
        f.write(b"\xde\xad\xbe\xef" * 2048)
    r = run("verify", "--db", db_arg(db))
    assert r.returncode == 1
    out = lines(r.stdout) + lines(r.stderr)
    assert len(out) == 1, out
    assert "is damaged" in out[0], out


@pytest.mark.parametrize(
    ("setup", "needle"),
    [
        (lambda p: None, "no database at"),
        (lambda p: p.write_text("not a database at all"), "not an SQLite file"),
        (lambda p: sqlite3.connect(p).execute("CREATE TABLE t (x)").connection.close(), "not an Audit Console one"),
    ],
)
def test_verify_bad_input_exits_2(tmp_path: Path, setup: object, needle: str) -> None:
    db = tmp_path / "x.db"
    setup(db)  # type: ignore[operator]
    r = run("verify", "--db", db_arg(db))
    assert r.returncode == 2, r.stderr
    assert len(lines(r.stderr)) == 1, r.stderr
    assert needle in r.stderr, r.stderr


def test_prune_follows_the_config_and_verify_still_passes(tmp_path: Path, location: StoreLocation) -> None:
    db = location
    ids = build(db, [400, 200, 100, 40, 10, 1])
    other = build(db, [400, 1], guild=OTHER)
    config = tmp_path / "config.toml"
    config.write_text(f'retention_days = 90\n[retention]\n"{OTHER}" = "forever"\n')

    dry = run("prune", "--db", db_arg(db), "--config", str(config), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"guild {GUILD}: keeps 90 days" in dry.stdout
    assert "would remove 3 entries" in dry.stdout
    assert len(lines(run("verify", "--db", db_arg(db)).stdout)) == 1  # nothing was removed

    done = run("prune", "--db", db_arg(db), "--config", str(config))
    assert done.returncode == 0, done.stderr
    assert "removed 3 entries" in done.stdout
    assert "reaches back to" in done.stdout
    kept = {r[0] for r in asyncio.run(query(db, "SELECT id FROM audit_entries"))}
    assert kept == set(ids[3:]) | set(other)

    r = run("verify", "--db", db_arg(db))
    assert r.returncode == 0, r.stdout
    assert "retention removed what was older than" in r.stdout

    forever = tmp_path / "forever.toml"
    forever.write_text("")
    r = run("prune", "--db", db_arg(db), "--config", str(forever))
    assert r.returncode == 0
    assert "nothing to prune" in r.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text("retention_days = 45\n")
    r = run("prune", "--db", db_arg(db), "--config", str(bad))
    assert r.returncode == 2
    assert "30, 90, 180 or 365" in r.stderr
