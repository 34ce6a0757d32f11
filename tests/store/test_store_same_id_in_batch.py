"""The same entry twice in one batch — Discord bumped its count between the gateway event and a
REST page read together — keeps every content: the earlier one as a revision, never dropped.
(Found by the fault suite's fuzzed payloads: the first copy vanished without a trace.)"""

from __future__ import annotations

from pathlib import Path

from store_helpers import NOW_MS, OpenStore, table_rows

from console.store.verify import verify

BACKENDS = ("sqlite", "postgres")


async def test_a_changed_copy_in_the_same_batch_becomes_a_revision(
    db_path: Path, open_store: OpenStore, backend: str
) -> None:
    store = await open_store()
    first = {
        "id": "1377384441856393230",
        "action_type": 72,
        "user_id": "5",
        "target_id": "6",
        "options": {"channel_id": "7", "count": "1"},
    }
    bumped = {**first, "options": {"channel_id": "7", "count": "2"}}
    result = await store.add_entries([first, first, bumped], source="gateway", guild_id=9, received_at=NOW_MS)
    ((raw, revision),) = await table_rows(store, "SELECT raw, revision FROM audit_entries")
    kept = [r for (r,) in await table_rows(store, "SELECT raw FROM audit_revisions ORDER BY revision")]
    links = await table_rows(store, "SELECT revision FROM chain ORDER BY seq")
    await store.close()

    assert result.inserted == [int(first["id"])]
    assert result.updated == [int(first["id"])]
    assert result.duplicates == 1
    assert '"count":"2"' in raw
    assert revision == 1
    assert len(kept) == 1
    assert '"count":"1"' in kept[0]
    assert links == [(0,), (1,)]  # both contents are in the chain
    if backend == "sqlite":  # verify reads SQLite files
        assert verify(db_path).problems == []
