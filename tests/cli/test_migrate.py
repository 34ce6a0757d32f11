"""``audit-console migrate``: a whole store copied SQLite → PostgreSQL → SQLite, as the real
command, gives back a store whose exports are byte-identical and which verifies; an interrupted
copy resumes; a target holding other records is refused."""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest
from ui.seed import seed_store

from console.store import transfer


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "console", *args],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        env=dict(os.environ),
    )


def export(db: Path, fmt: str) -> bytes:
    """The export's bytes, but for the moment it was made (the JSON envelope's ``exported_at``)."""
    done = subprocess.run(
        [sys.executable, "-m", "console", "export", "--db", str(db), "--format", fmt, "--out", "-"],
        capture_output=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    return re.sub(rb'"exported_at":"[^"]*"', b'"exported_at":""', done.stdout, count=1)


@pytest.fixture
def seeded(tmp_path: Path) -> Path:
    db = tmp_path / "source.db"
    asyncio.run(seed_store(db, history=150))
    return db


def test_sqlite_to_postgresql_and_back_gives_the_same_store(seeded: Path, pg_url: str, tmp_path: Path) -> None:
    there = run("migrate", "--from", str(seeded), "--to", pg_url)
    assert there.returncode == 0, there.stderr
    assert "verify source: " in there.stderr
    assert "verify copy: " in there.stderr
    assert "password" not in there.stderr
    assert asyncio.run(_same_search(seeded, pg_url)) > 3
    # Attempts made by a collector on PostgreSQL carry its leadership epoch: kept on the way back.
    epochs = asyncio.run(_mark_epochs(pg_url))
    assert epochs > 0
    back = tmp_path / "back.db"
    home = run("migrate", "--from", pg_url, "--to", str(back))
    assert home.returncode == 0, home.stderr
    with sqlite3.connect(back) as db:
        assert db.execute("SELECT count(*) FROM role_change_attempts WHERE epoch = 5").fetchone()[0] == epochs
    for fmt in ("csv", "jsonl", "json"):
        original = export(seeded, fmt)
        assert original.count(b"\n") > 150
        assert export(back, fmt) == original, fmt
    verified = run("verify", "--db", str(back), "--heads")
    original = run("verify", "--db", str(seeded), "--heads")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout == original.stdout  # the same chain heads, link for link

    again = run("migrate", "--from", str(seeded), "--to", pg_url)
    assert again.returncode == 2
    assert again.stderr.strip().splitlines()[-1].endswith("already holds records; copy into an empty store")


async def _mark_epochs(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int((await conn.execute("UPDATE role_change_attempts SET epoch = 5")).split()[-1])
    finally:
        await conn.close()


def test_an_interrupted_copy_resumes_where_it_stopped(
    seeded: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transfer, "BATCH", 40)
    asyncio.run(_create(pg_url))

    class Cut(Exception):
        pass

    def cut(table: str, rows: int) -> None:
        if table == "audit_entries" and rows >= 80:
            raise Cut

    source = transfer.open_side(str(seeded), write=False)
    target = transfer.open_side(pg_url, write=True)
    try:
        with pytest.raises(Cut):
            transfer.copy_store(source, target, progress=cut)
        partial = transfer.counts(target, ["audit_entries", "chain"])
        assert partial == {"audit_entries": 80, "chain": 0}
        result = transfer.copy_store(source, target)
        assert result.resumed
        assert transfer.counts(target) == transfer.counts(source)
    finally:
        target.close()
        source.close()
    assert asyncio.run(_progress_rows(pg_url)) == 0


async def _same_search(db: Path, url: str) -> int:
    """The copy's full text finds what the source's does (PostgreSQL's index is written, not
    copied); returns how many words were searched that found something."""
    from console.model.filters import Filter
    from console.store import Store
    from console.store.postgres.store import PgStore

    lite, pg = await Store.open(db, readonly=True), await PgStore.open(url, readonly=True)
    try:
        words = sorted({w for e in await lite.page(limit=60) for w in (e.reason or "").split()[:2]})
        found = 0
        for word in [*words[:20], "nosuchword"]:
            flt = Filter(text=word)
            want = [e.id for e in await lite.page(flt)]
            assert [e.id for e in await pg.page(flt)] == want, word
            found += bool(want)
        return found
    finally:
        await lite.close()
        await pg.close()


async def _progress_rows(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM meta WHERE key = $1", transfer.PROGRESS_KEY))
    finally:
        await conn.close()


async def _create(url: str) -> None:
    from console.store.postgres.store import PgStore

    store = await PgStore.open(url)
    await store.close()


def test_bad_input_is_one_line(seeded: Path, tmp_path: Path) -> None:
    same = run("migrate", "--from", str(seeded), "--to", str(seeded))
    assert (same.returncode, same.stderr.strip()) == (2, "audit-console: --from and --to are the same store")
    missing = run("migrate", "--from", str(tmp_path / "nope.db"), "--to", str(tmp_path / "x.db"))
    assert missing.returncode == 2
    assert missing.stderr.strip() == f"audit-console: no database at {tmp_path / 'nope.db'}"
    assert not (tmp_path / "x.db").exists()
