"""``audit-console export --db postgresql://…``, as the real command: the same bytes as from the
SQLite store the records were copied from (the JSON envelope's ``exported_at`` aside), ``--query``
with names, full text, to a file through ``.part``."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from ui.seed import seed_store

from console.model.actions import action_category
from console.model.location import PgLocation
from console.store import open_store, transfer


def run(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "console", "export", *args],
        capture_output=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        env=dict(os.environ),
    )


def exported(db: str, *args: str) -> bytes:
    """The export's bytes, but for the moment it was made (the JSON envelope's ``exported_at``)."""
    done = run("--db", db, "--out", "-", *args)
    assert done.returncode == 0, done.stderr
    return re.sub(rb'"exported_at":"[^"]*"', b'"exported_at":""', done.stdout, count=1)


@pytest.fixture
def stores(tmp_path: Path, pg_url: str) -> tuple[str, str]:
    """A seeded SQLite store and its copy in PostgreSQL."""
    db = tmp_path / "seed.db"
    asyncio.run(seed_store(db, history=150))

    async def create() -> None:
        store = await open_store(PgLocation(pg_url), names=False)
        await store.close()

    asyncio.run(create())
    source, target = transfer.open_side(db, write=False), transfer.open_side(pg_url, write=True)
    try:
        transfer.copy_store(source, target)
    finally:
        target.close()
        source.close()
    return str(db), pg_url


def test_every_format_gives_the_same_bytes(stores: tuple[str, str]) -> None:
    sqlite_db, pg = stores
    for fmt in ("csv", "json", "jsonl"):
        original = exported(sqlite_db, "--format", fmt)
        assert original.count(b"\n") > 150
        assert exported(pg, "--format", fmt) == original, fmt
    flags = ("--format", "jsonl", "--oldest-first", "--category", "role", "--since", "2026-11-18")
    narrowed = exported(sqlite_db, *flags)
    assert 0 < narrowed.count(b"\n") < 150
    assert exported(pg, *flags) == narrowed


def test_a_query_resolves_names_on_postgresql_as_on_sqlite(stores: tuple[str, str]) -> None:
    sqlite_db, pg = stores
    with sqlite3.connect(sqlite_db) as c:
        (name,) = c.execute(
            "SELECT n.name FROM audit_entries e JOIN names n ON n.kind = 'user' AND n.id = e.actor_id"
            " GROUP BY n.name ORDER BY count(*) DESC"
        ).fetchone()
    # The name's case changed (ASCII only, as SQLite's lower() folds it).
    query = f"actor:{name.upper()}"
    original = exported(sqlite_db, "--format", "csv", "--query", query)
    assert original.count(b"\n") > 2
    assert exported(pg, "--format", "csv", "--query", query) == original


def test_to_a_file(stores: tuple[str, str], tmp_path: Path) -> None:
    _, pg = stores
    target = tmp_path / "out" / "records.jsonl"
    target.parent.mkdir()
    done = run("--db", pg, "--format", "jsonl", "--out", str(target))
    assert done.returncode == 0, done.stderr
    rows = target.read_bytes().count(b"\n")
    assert done.stderr.decode().strip() == f"audit-console: exported {rows} records to {target}"
    assert [p.name for p in target.parent.iterdir()] == ["records.jsonl"]


def test_text_finds_the_same_records(stores: tuple[str, str]) -> None:
    sqlite_db, pg = stores
    for args in (("--text", "raid"), ("--query", '"promotion after" kind:role_change'), ("--query", "promo*")):
        original = exported(sqlite_db, "--format", "csv", *args)
        assert original.count(b"\n") > 2, args
        assert exported(pg, "--format", "csv", *args) == original, args


def test_a_query_with_exclusions_exports_the_same_records_on_both(stores: tuple[str, str]) -> None:
    """``-is:bot`` (the bot members of the stored guild state), ``-category:``, ``-word``: the
    records left are the same on both backends, and none of them is one the query excludes."""
    sqlite_db, pg = stores
    with sqlite3.connect(sqlite_db) as c:
        bots = {
            m["user"]["id"]
            for (snapshot,) in c.execute("SELECT snapshot FROM guild_state")
            for m in json.loads(snapshot)["members"]
            if m["user"].get("bot")
        }
    assert bots
    query = "kind:audit -is:bot -category:moderation -raid"
    original = exported(sqlite_db, "--format", "jsonl", "--query", query)
    assert exported(pg, "--format", "jsonl", "--query", query) == original
    records = [json.loads(line) for line in original.splitlines()]
    everything = exported(sqlite_db, "--format", "jsonl", "--query", "kind:audit").count(b"\n")
    assert 0 < len(records) < everything
    assert not [r for r in records if r["actor_id"] in bots]
    assert not [r for r in records if action_category(r["action_type"]) == "moderation"]
    assert not [r for r in records if "raid" in (r["reason"] or "").lower().split()]
    envelope = json.loads(exported(sqlite_db, "--format", "json", "--query", query))
    assert envelope["filter"]["exclude"]["categories"] == ["moderation"]
    assert sorted(envelope["filter"]["exclude"]["actor_ids"]) == sorted(bots)
    assert envelope["filter"]["exclude"]["text"] == "raid"
