"""The blocking face on PostgreSQL that the whole-store walks (verify, the copy between stores)
read through: placeholders, streaming in batches, two cursors at once, one snapshot."""

from __future__ import annotations

import asyncpg
import pytest

from console.store.errors import StoreError
from console.store.postgres import blocking
from console.store.postgres.blocking import BlockingConnection
from console.store.postgres.placeholders import numbered


def test_placeholders_are_numbered_outside_literals() -> None:
    assert numbered("SELECT a FROM t WHERE b = ? AND c IN (?, ?) AND d = '?'") == (
        "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3) AND d = '?'"
    )


async def test_rows_stream_in_batches_two_cursors_at_once_in_one_snapshot(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = await asyncpg.connect(pg_url)
    await conn.execute("CREATE TABLE t (id bigint PRIMARY KEY, b bytea)")
    await conn.executemany("INSERT INTO t VALUES ($1, $2)", [(i, bytes([i % 256])) for i in range(1, 51)])
    monkeypatch.setattr(blocking, "BATCH", 7)
    db = BlockingConnection.open(pg_url, "test")
    try:
        await conn.execute("INSERT INTO t VALUES (1000, NULL)")  # after the snapshot: not seen
        ids = db.execute("SELECT id, b FROM t WHERE id > ? ORDER BY id", (0,))
        other = db.execute("SELECT id FROM t ORDER BY id DESC")
        pairs = [(a, next(iter(other))) for a in ids]
        assert len(pairs) == 50
        assert pairs[0] == ((1, b"\x01"), (50,))
        assert pairs[-1][1] == (1,)
        assert db.execute("SELECT count(*) FROM t").fetchone() == (50,)
        assert db.execute("SELECT id FROM t WHERE id < 0").fetchone() is None
        assert db.tables() == {"t"}
        with pytest.raises(StoreError, match='relation "nope" does not exist'):
            db.execute("SELECT * FROM nope")
    finally:
        db.close()
        await conn.close()


def test_fetchmany_takes_rows_across_batches_in_order_and_close_stops(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(blocking, "BATCH", 7)
    db = BlockingConnection.open(pg_url, "test")
    try:
        rows = db.execute("SELECT n FROM generate_series(1, 30) AS n")
        got = [rows.fetchmany(size) for size in (3, 10, 1, 12, 10, 5)]
        assert [len(g) for g in got] == [3, 10, 1, 12, 4, 0]
        assert [n for g in got for (n,) in g] == list(range(1, 31))
        more = db.execute("SELECT n FROM generate_series(1, 30) AS n")
        assert more.fetchmany(2) == [(1,), (2,)]
        more.close()
        assert more.fetchmany(5) == []
        assert more.fetchone() is None
    finally:
        db.close()
