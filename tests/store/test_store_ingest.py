"""Writing: idempotent ingest, in-place updates with revisions, parse failures, sync state,
gaps and names — against a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

import copy
import sqlite3
from pathlib import Path

import orjson
import pytest
from store_helpers import NOW_MS, T0_MS, OpenStore, raw_entry, snowflake, table_rows

from console.model import entry as entries
from console.store import IngestResult, Store, queries

BACKENDS = ("sqlite", "postgres")

G = 1_000_000_000_000_001


def _delete_entry(count: str) -> dict[str, object]:
    return raw_entry(snowflake(T0_MS, 1), 72, user_id=5, target_id=6, options={"channel_id": "7", "count": count})


async def test_same_payload_twice_is_one_row(store: Store) -> None:
    raw = raw_entry(snowflake(T0_MS), 22, user_id=5, target_id=6, reason="raid")
    first = await store.add_entries([raw], source="gateway", guild_id=G)
    second = await store.add_entries([copy.deepcopy(raw)], source="backfill", guild_id=G)
    assert first.inserted == [int(raw["id"])]
    assert second.inserted == []
    assert second.updated == []
    assert second.duplicates == 1
    assert await store.count() == 1
    (stored,) = await store.page()
    assert stored.source == "gateway"
    assert stored.revision == 0
    assert stored.received_at == NOW_MS
    assert stored.raw == raw
    assert await store.revisions(stored.id) == []


async def test_duplicates_inside_one_batch(store: Store) -> None:
    raw = raw_entry(snowflake(T0_MS), 22, user_id=5, target_id=6)
    result = await store.add_entries([raw, raw, raw], source="backfill", guild_id=G)
    assert len(result.inserted) == 1
    assert await store.count() == 1


async def test_gateway_and_rest_payloads_hash_equal(store: Store) -> None:
    rest = raw_entry(snowflake(T0_MS), 20, user_id=5, target_id=6, reason="bye")
    gateway = {"guild_id": str(G), **{k: rest[k] for k in reversed(list(rest))}}  # other key order
    assert entries.content_hash(rest) == entries.content_hash(gateway)
    await store.add_entries([gateway], source="gateway")  # guild id from the payload
    result = await store.add_entries([rest], source="backfill", guild_id=G)
    assert result.duplicates == 1
    assert result.updated == []
    (stored,) = await store.page()
    assert stored.guild_id == G
    assert stored.revision == 0


async def test_in_place_update_keeps_revision(store: Store) -> None:
    old, new = _delete_entry("3"), _delete_entry("5")
    await store.add_entries([old], source="gateway", guild_id=G)
    seen: list[IngestResult] = []
    store.add_listener(seen.append)
    result = await store.add_entries([new], source="backfill", guild_id=G, received_at=NOW_MS + 9)
    entry_id = int(new["id"])
    assert result.updated == [entry_id]
    assert result.inserted == []
    assert seen
    assert seen[0].updated == [entry_id]
    stored = await store.get_entry(entry_id)
    assert stored is not None
    assert stored.revision == 1
    assert stored.raw["options"]["count"] == "5"
    ((rev, raw_json, replaced_at),) = await store.revisions(entry_id)
    assert rev == 0
    assert orjson.loads(raw_json) == old
    assert replaced_at == NOW_MS + 9
    # The full-text row follows the update (old content not found twice, new content found).
    assert await store.count() == 1
    # The same update again changes nothing.
    again = await store.add_entries([new], source="backfill", guild_id=G)
    assert again.duplicates == 1
    assert len(await store.revisions(entry_id)) == 1


async def test_reason_update_refreshes_full_text(store: Store) -> None:
    from console.model.filters import Filter

    eid = snowflake(T0_MS)
    await store.add_entries([raw_entry(eid, 22, reason="phishing link")], source="gateway", guild_id=G)
    await store.add_entries([raw_entry(eid, 22, reason="raid account")], source="backfill", guild_id=G)
    assert await store.count(Filter(text="phishing")) == 0
    assert [e.id for e in await store.page(Filter(text="raid"))] == [eid]


async def test_parse_failures_are_kept(store: Store, db_path: Path) -> None:
    bad = [
        {"action_type": 22},  # no id
        {"id": "not-a-number", "action_type": 22},
        {"id": str(snowflake(T0_MS)), "action_type": "ban"},
        ["not", "an", "object"],
        {"id": str(snowflake(T0_MS, 2)), "action_type": 22},  # fine but no guild anywhere
    ]
    good = raw_entry(snowflake(T0_MS, 3), 22)
    result = await store.add_entries([*bad, good], source="backfill", guild_id=None)
    assert result.failures == 6
    assert result.inserted == []
    result = await store.add_entries([good], source="backfill", guild_id=G)
    assert result.inserted == [int(good["id"])]
    failures = await store.parse_failures()
    assert len(failures) == 6
    assert all(error and raw for _, error, raw in failures)
    assert orjson.loads(failures[0][2]) == bad[0]
    assert failures[3][2]  # a non-object payload is stored too


async def test_hwm_only_moves_up(store: Store) -> None:
    assert await store.hwm(G) is None
    await store.set_hwm(G, 100)
    await store.set_hwm(G, 50)
    assert await store.hwm(G) == 100
    await store.set_hwm(G, 150)
    assert await store.hwm(G) == 150
    assert await store.hwm(G + 1) is None


async def test_max_entry_id_per_guild(store: Store) -> None:
    await store.add_entries([raw_entry(snowflake(T0_MS, 1), 22)], source="backfill", guild_id=G)
    await store.add_entries([raw_entry(snowflake(T0_MS, 2), 22)], source="backfill", guild_id=G + 1)
    assert await store.max_entry_id(G) == snowflake(T0_MS, 1)
    assert await store.max_entry_id(G + 2) is None


async def test_gaps_open_and_close(store: Store, db_path: Path) -> None:
    gap = await store.open_gap(G, "reconnect", from_id=123, started_at=NOW_MS - 1000)
    assert gap.status == "open"
    assert (await store.stats())["open_gaps"] == 1
    closed = await store.close_gap(gap, status="partial", recovered=7, refreshed=2, beyond_retention_ms=86_400_000)
    (stored,) = await store.gaps(G)
    assert stored == closed
    assert (stored.status, stored.recovered, stored.refreshed, stored.ended_at) == ("partial", 7, 2, NOW_MS)
    assert "cannot be recovered" in stored.describe()
    assert await store.gaps(G + 1) == []


async def test_names_upsert_and_reload(store: Store, db_path: Path, open_store: OpenStore) -> None:
    assert await store.upsert_names(G, "user", [(5, "alice"), (6, "bob")]) == 2
    assert await store.upsert_names(G, "user", [(5, "alice"), (6, "robert")]) == 1
    assert store.name_of("user", 6) == "robert"
    assert store.name_of("role", 6) is None
    assert sorted(await table_rows(store, "SELECT id, name FROM names")) == [(5, "alice"), (6, "robert")]
    await store.close()
    reopened = await open_store()
    try:
        cached = {k: dict(reopened.names(k)) for k in ("user", "role", "channel", "guild") if reopened.names(k)}
        assert cached == {"user": {5: "alice", 6: "robert"}}
    finally:
        await reopened.close()


async def test_ids_sqlite_cannot_hold_are_kept_as_parse_failures(store: Store) -> None:
    """A 20-digit "id" (or one in non-ASCII digits) used to raise OverflowError mid-batch, which
    lost the whole batch and stopped the live writer; now it is a parse failure like any other."""
    good = {"id": "123456789012345678", "action_type": 22, "user_id": "5", "target_id": "6"}
    huge = {"id": "99999999999999999999", "action_type": 22, "user_id": "5", "target_id": "6"}
    odd = {"id": "１２３", "action_type": 22, "user_id": "5", "target_id": "²"}
    result = await store.add_entries([good, huge, odd], source="gateway", guild_id=9)
    assert result.inserted == [123456789012345678]
    assert result.failures == 2
    assert len(await store.parse_failures()) == 2


async def test_names_by_key_then_all(store: Store, db_path: Path, open_store: OpenStore) -> None:
    """The console's start reads only the names its first screen shows, then all of them; a
    write before the full read still writes only what changed."""
    assert await store.upsert_names(G, "user", [(5, "alice"), (6, "bob"), (7, "carol")]) == 3
    assert await store.upsert_names(None, "guild", [(G, "HQ")]) == 1
    await store.close()
    partial = await open_store(names=False)
    try:
        assert not partial.names_complete
        assert partial.name_of("user", 5) is None
        await partial.load_names_for([("user", 5), ("role", 5), ("user", None), ("user", 99)])
        assert partial.name_of("user", 5) == "alice"
        assert partial.name_of("guild", G) == "HQ"
        assert partial.name_of("user", 6) is None
        assert not partial.names_complete
        # Unchanged names are not written again, though the cache held only some of them.
        assert await partial.upsert_names(G, "user", [(6, "bob"), (7, "caroline")]) == 1
        assert partial.names_complete
        assert partial.name_of("user", 6) == "bob"
    finally:
        await partial.close()


@pytest.mark.backends("sqlite")  # SQLite's query plans
async def test_first_screen_names_are_read_by_key(store: Store, db_path: Path, open_store: OpenStore) -> None:
    """Hundreds of names across kinds come in a few statements, each searching the primary key
    (a large guild's members are never all read before the first frame)."""
    await store.upsert_names(G, "user", [(i, f"user {i}") for i in range(1, 1001)])
    await store.upsert_names(G, "role", [(i, f"role {i}") for i in range(1, 11)])
    await store.upsert_names(None, "guild", [(G, "HQ")])
    await store.close()
    wanted = [("user", i) for i in range(1, 1201)] + [("role", 3), ("role", 30), ("channel", 7)]
    statements = queries.names_by_key(wanted)
    assert len(statements) == 2  # 1,200 users and 3 more: over the arguments one statement takes
    assert len(queries.names_by_key(wanted[600:])) == 1
    plain = sqlite3.connect(db_path)
    try:
        for sql, args in statements:
            plan = " ".join(str(row[-1]) for row in plain.execute("EXPLAIN QUERY PLAN " + sql, args))
            assert "SCAN names" not in plan, plan
            assert "SEARCH names" in plan, plan
    finally:
        plain.close()
    partial = await open_store(names=False)
    try:
        await partial.load_names_for([*wanted, ("user", None)])
        assert partial.name_of("user", 1) == "user 1"
        assert partial.name_of("user", 1000) == "user 1000"
        assert partial.name_of("user", 1001) is None  # wanted, never stored
        assert partial.name_of("role", 3) == "role 3"
        assert partial.name_of("guild", G) == "HQ"
    finally:
        await partial.close()


async def test_nul_in_text_is_stored_alike_on_every_backend(store: Store) -> None:
    """PostgreSQL's text cannot hold NUL: one in a reason, a name or a frame failed the whole
    batch there. Every backend stores it as U+FFFD in columns (``\\x00`` in a kept frame); the
    raw JSON keeps the exact text."""
    from console.model.filters import Filter

    assert await store.upsert_names(G, "user", [(7, "n\x00m")]) == 1
    assert await store.upsert_names(G, "user", [(7, "n\x00m")]) == 0  # unchanged, as stored
    raw = raw_entry(snowflake(T0_MS), 22, user_id=7, reason="raid\x00alt")
    assert (await store.add_entries([raw], source="gateway", guild_id=G)).inserted == [int(raw["id"])]
    await store.add_parse_failure(G, "gateway", "bad\x00", b"x\x00\xff")
    (stored,) = await store.page(Filter(text="alt"))
    assert stored.reason == "raid\ufffdalt"
    assert stored.raw == raw
    assert store.name_of("user", 7) == "n\ufffdm"
    assert await store.parse_failures() == [(1, "bad\ufffd", "x\\x00\\xff")]
