"""Opening the store: create, migrate, reopen; every unusable file becomes one StoreError line
and a file that is not ours is never altered."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest
from store_helpers import T0_MS, OpenStore, raw_entry, snowflake

from console.store import Store, StoreError
from console.store.errors import CollectorRunningError
from console.store.schema import APPLICATION_ID, SCHEMA_VERSION


def _one_line(e: pytest.ExceptionInfo[StoreError]) -> str:
    text = str(e.value)
    assert text
    assert "\n" not in text
    assert "Traceback" not in text
    return text


async def test_create_sets_identity_wal_and_schema(db_path: Path) -> None:
    s = await Store.open(db_path)
    await s.close()
    db = sqlite3.connect(db_path)
    try:
        assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"audit_entries", "audit_revisions", "audit_fts", "names", "gaps", "sync_state"} <= tables
    finally:
        db.close()


async def test_clean_close_leaves_one_self_contained_file(db_path: Path) -> None:
    s = await Store.open(db_path)
    await s.add_entries([raw_entry(snowflake(T0_MS), 22)], source="backfill", guild_id=1)
    await s.close()
    assert not Path(str(db_path) + "-wal").exists()
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    assert db.execute("SELECT count(*) FROM audit_entries").fetchone()[0] == 1
    db.close()


@pytest.mark.backends("sqlite", "postgres")
async def test_reopen_keeps_entries_and_readonly_cannot_write(open_store: OpenStore) -> None:
    s = await open_store()
    await s.add_entries([raw_entry(snowflake(T0_MS, i), 22) for i in range(3)], source="backfill", guild_id=1)
    await s.close()
    s = await open_store()
    assert await s.count() == 3
    await s.close()
    ro = await open_store(readonly=True)
    assert ro.readonly
    assert await ro.count() == 3
    with pytest.raises(StoreError, match="read-only"):
        await ro.add_entries([raw_entry(snowflake(T0_MS, 9), 22)], source="backfill", guild_id=1)


async def test_migrates_an_empty_sqlite_file(db_path: Path) -> None:
    sqlite3.connect(db_path).close()  # zero-byte file: a brand new database
    s = await Store.open(db_path)
    await s.close()
    db = sqlite3.connect(db_path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.close()


async def test_not_sqlite(tmp_path: Path) -> None:
    p = tmp_path / "notes.db"
    p.write_bytes(b"these are my notes, not a database\n" * 10)
    before = p.read_bytes()
    with pytest.raises(StoreError) as e:
        await Store.open(p)
    assert "not an SQLite file" in _one_line(e)
    assert p.read_bytes() == before


async def test_directory(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as e:
        await Store.open(tmp_path)
    assert "folder" in _one_line(e)


async def test_missing_file_readonly(tmp_path: Path) -> None:
    p = tmp_path / "nope.db"
    with pytest.raises(StoreError) as e:
        await Store.open(p, readonly=True)
    assert "no database" in _one_line(e)
    assert not p.exists()


@pytest.mark.parametrize("readonly", [False, True])
async def test_foreign_sqlite_db_refused_and_unchanged(tmp_path: Path, readonly: bool) -> None:
    p = tmp_path / "other-app.db"
    db = sqlite3.connect(p)
    db.execute("CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT)")
    db.execute("INSERT INTO things (name) VALUES ('keep me')")
    db.commit()
    db.close()
    before = p.read_bytes()
    with pytest.raises(StoreError) as e:
        await Store.open(p, readonly=readonly)
    assert "not an Audit Console one" in _one_line(e)
    assert p.read_bytes() == before
    assert not Path(str(p) + "-wal").exists()


async def test_newer_schema_refused(db_path: Path) -> None:
    s = await Store.open(db_path)
    await s.close()
    db = sqlite3.connect(db_path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(StoreError) as e:
        await Store.open(db_path)
    assert "newer" in _one_line(e)


async def _filled(db_path: Path) -> bytes:
    s = await Store.open(db_path)
    await s.add_entries(
        [raw_entry(snowflake(T0_MS, i), 22, reason="x" * 200) for i in range(1500)],
        source="backfill",
        guild_id=1,
    )
    await s.close()
    return db_path.read_bytes()


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda d: d[: len(d) // 3], id="truncated"),
        pytest.param(lambda d: d[:100], id="header-only"),
        pytest.param(lambda d: d[:8192] + bytes(range(256)) * 16 + d[8192 + 4096 :], id="garbled-page"),
    ],
)
@pytest.mark.parametrize("readonly", [False, True])
async def test_damaged_db(db_path: Path, damage, readonly: bool) -> None:  # type: ignore[no-untyped-def]
    data = await _filled(db_path)
    db_path.write_bytes(damage(data))
    with pytest.raises(StoreError) as e:
        await Store.open(db_path, readonly=readonly, busy_timeout=0.2)
    assert "damaged" in _one_line(e)


@pytest.mark.backends("sqlite", "postgres")
async def test_second_writer_refused(open_store: OpenStore) -> None:
    first = await open_store()
    with pytest.raises(CollectorRunningError) as e:  # what `role` recognises, to hand its request over
        await open_store()
    assert "in use by another" in _one_line(e)
    assert "Audit Console" in _one_line(e)
    # A reader may still browse it while it collects; a writer beside it (`role`) may too.
    await (await open_store(readonly=True)).close()
    await (await open_store(collector_lock=False)).close()
    await first.close()
    await (await open_store()).close()  # the lock went with the first writer


async def test_locked_by_exclusive_transaction(db_path: Path) -> None:
    s = await Store.open(db_path)
    await s.close()
    other = sqlite3.connect(db_path, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        # WAL lets readers through, so opening works; the first write reports the lock.
        s = await Store.open(db_path, busy_timeout=0.1)
        try:
            with pytest.raises(StoreError) as e:
                await s.add_entries([raw_entry(snowflake(T0_MS), 22)], source="backfill", guild_id=1)
            assert "locked" in _one_line(e)
        finally:
            await s.close()
        other.execute("ROLLBACK")
        # Rollback-journal mode (another program switched it): opening itself is blocked.
        other.execute("PRAGMA journal_mode = DELETE")
        other.execute("BEGIN EXCLUSIVE")
        with pytest.raises(StoreError) as e:
            await Store.open(db_path, busy_timeout=0.1)
        assert "locked" in _one_line(e)
    finally:
        other.close()


async def test_a_writer_cancelled_while_beginning_leaves_no_open_transaction(tmp_path) -> None:
    """A task cancelled during BEGIN IMMEDIATE (aiosqlite runs it on in its thread) must not leave
    the transaction open for the next writer."""
    import asyncio

    from console.store import Store

    store = await Store.open(tmp_path / "c.db")
    try:
        for delay in range(12):

            async def write() -> None:
                async with store.transaction() as db:
                    await db.execute(
                        "INSERT INTO meta (key, value) VALUES ('k', 'v') ON CONFLICT (key) DO UPDATE SET value = 'w'"
                    )

            task = asyncio.ensure_future(write())
            for _ in range(delay):
                await asyncio.sleep(0)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await store.set_setting("after", str(delay))  # fails if a transaction was left open
            assert await store.setting("after") == str(delay)
    finally:
        await store.close()


async def test_a_cancelled_quick_check_stops_at_once(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """quick_check reads the whole file on its own connection (seconds at 1M entries). Quitting
    cancels it; without an interrupt the connection's close queued behind the running check."""
    import asyncio
    import time

    from console.store.sqlite import upkeep as store_module

    # A statement that runs for ~20 s unless interrupted, in place of reading a huge file.
    monkeypatch.setattr(
        store_module,
        "QUICK_CHECK_SQL",
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 150000000) SELECT count(*) FROM c",
    )
    s = await Store.open(db_path)
    try:
        check = asyncio.create_task(s.quick_check())
        await asyncio.sleep(0.3)
        assert not check.done()
        started = time.perf_counter()
        check.cancel()
        with pytest.raises(asyncio.CancelledError):
            await check
        assert time.perf_counter() - started < 5
    finally:
        await s.close()


async def test_scans_do_not_hold_up_reads_or_closing(db_path: Path) -> None:
    """Whole-filter scans (exact counts, the sparse index, the sparkline) run on a connection of
    their own: a page read does not queue behind one, and closing stops one at once."""
    import asyncio
    import time

    from console.store.connection import one

    slow = (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 150000000)"
        " SELECT count(*) FROM c"
    )  # ~20 s unless interrupted
    s = await Store.open(db_path)
    scanner = await s.scanner()
    assert scanner is not s.reader
    assert await s.scanner() is scanner
    scan = asyncio.create_task(one(scanner, slow))
    await asyncio.sleep(0.3)
    started = time.perf_counter()
    assert await one(s.reader, "SELECT count(*) FROM audit_entries") == (0,)
    assert time.perf_counter() - started < 2, "a read waited for the scan"
    started = time.perf_counter()
    await s.close()
    assert time.perf_counter() - started < 5, "closing waited for the scan"
    with pytest.raises(sqlite3.OperationalError, match="interrupted"):
        await scan
    with pytest.raises(ValueError, match="closed"):
        await s.scanner()
