"""Notes in the export (format version 2), on both backends: every record carries ``notes`` (what
it shows: an edited note's new text, a removed note gone), in JSON, JSON Lines and CSV (the last
column, JSON text, formula-guarded); ``export --query 'note:…'`` picks the noted records; and
``migrate`` copies notes, so the PostgreSQL copy exports the same bytes and still verifies."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from store_helpers import NOW_MS, raw_entry, snowflake

from console.model.export_format import CSV_COLUMNS
from console.model.filters import Filter
from console.model.location import PgLocation
from console.model.notes import Note
from console.model.query import parse
from console.model.records import Decision
from console.model.snowflake import from_ms
from console.store import Store, open_store, transfer
from console.store.export import export
from console.store.opening import export_source
from console.store.postgres.verify import verify_postgres
from console.store.verify import verify

G = 900_000_000_000_000_001
MOD = 200_000_000_000_000_001
FORMATS = ("csv", "json", "jsonl")


def note(record_kind: str, record_id: int, text: str, low: int, **changes: Any) -> Note:
    at = NOW_MS - 10_000 + low
    return Note(from_ms(at) | low, G, record_kind, record_id, None, MOD, "mod", at, "add", None, text, None)._replace(
        **changes
    )


async def seed(path: Path) -> dict[str, Any]:
    store = await Store.open(path, clock=lambda: NOW_MS)
    try:
        raws = [raw_entry(snowflake(NOW_MS - 60_000, i), 22, user_id=MOD, target_id=3, reason="r") for i in range(3)]
        await store.add_entries(raws, source="gateway", guild_id=G)
        at = NOW_MS - 50_000
        d = Decision(
            from_ms(at) | 9, G, at, MOD, "mod", [], False, False, "roles.grant", "guild", G, "TUI", "DENY",
            "NO_GRANT", [], "v1",
        )  # fmt: skip
        await store.record_decision(d)
        ids = [int(r["id"]) for r in raws]
        first = note("audit", ids[0], '=HYPERLINK("x") raid alt', 1)
        kept = note("decision", d.id, "asked in #help", 2)
        gone = note("audit", ids[1], "wrong member", 3)
        for n in (first, kept, gone):
            await store.add_note(n)
        edit = note("audit", ids[0], "raid alt, banned on sight", 4, action="edit", supersedes=first.id)
        await store.add_note(edit)
        await store.add_note(note("audit", ids[1], gone.text, 5, action="remove", supersedes=gone.id))
        return {"ids": ids, "decision": d, "edit": edit, "kept": kept}
    finally:
        await store.close()


def exported(source: Any, fmt: str, flt: Filter = Filter()) -> bytes:
    out = io.BytesIO()
    export(source, flt, fmt, out, now_ms=NOW_MS)
    return out.getvalue()


def notes_by_id(fmt: str, data: bytes) -> dict[str, list[dict[str, Any]]]:
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(data.decode(), newline="")))
        assert rows[0][-1] == "notes"
        return {r[2]: json.loads(r[-1].removeprefix("'")) if r[-1] else [] for r in rows[1:]}
    if fmt == "json":
        doc = json.loads(data)
        assert doc["format_version"] == 2
        records = doc["records"]
    else:
        records = [json.loads(line) for line in data.decode().splitlines()]
    assert all(r["format_version"] == 2 for r in records)
    return {r["id"]: r["notes"] for r in records}


@pytest.mark.parametrize("fmt", FORMATS)
async def test_every_record_carries_the_notes_it_shows(tmp_path: Path, fmt: str) -> None:
    db = tmp_path / "audit.db"
    s = await seed(db)
    found = notes_by_id(fmt, exported(db, fmt))
    ids, edit, kept = s["ids"], s["edit"], s["kept"]
    assert found[str(ids[0])] == [
        {
            "id": str(edit.id),
            "text": "raid alt, banned on sight",
            "actor_id": str(MOD),
            "actor_name": "mod",
            "created_at": found[str(ids[0])][0]["created_at"],
            "supersedes": str(edit.supersedes),
            "member_id": None,
        }
    ]
    assert found[str(ids[1])] == []  # removed
    assert found[str(ids[2])] == []
    assert [n["text"] for n in found[str(s["decision"].id)]] == [kept.text]
    assert len(found) == 4


async def test_a_formula_in_a_note_opens_as_text(tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    s = await seed(db)
    store = await Store.open(db, clock=lambda: NOW_MS)
    try:
        await store.add_note(note("audit", s["ids"][2], "=1+1", 6))
    finally:
        await store.close()
    rows = list(csv.reader(io.StringIO(exported(db, "csv").decode(), newline="")))
    assert rows[0] == list(CSV_COLUMNS)
    assert CSV_COLUMNS[-1] == "notes"  # after every version-1 column, which keep their places
    cell = next(r[-1] for r in rows[1:] if r[2] == str(s["ids"][2]))
    assert cell.startswith('[{"id"')  # JSON text: never a formula, whatever the note says
    assert json.loads(cell)[0]["text"] == "=1+1"


async def test_the_query_picks_noted_records(tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    s = await seed(db)
    flt = parse("note:banned,help", now_ms=NOW_MS).filter
    found = notes_by_id("jsonl", exported(db, "jsonl", flt))
    assert set(found) == {str(s["ids"][0]), str(s["decision"].id)}
    assert json.loads(exported(db, "json", flt))["filter"]["note_words"] == ["banned", "help"]


async def test_the_query_leaves_out_noted_records(tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    s = await seed(db)
    everything = set(notes_by_id("jsonl", exported(db, "jsonl")))
    flt = parse("-note:banned,help", now_ms=NOW_MS).filter
    found = notes_by_id("jsonl", exported(db, "jsonl", flt))
    assert set(found) == everything - {str(s["ids"][0]), str(s["decision"].id)}
    header = json.loads(exported(db, "json", flt))["filter"]
    assert header["exclude"]["note_words"] == ["banned", "help"]
    assert header["note_words"] == []


async def test_migrate_copies_notes_and_postgres_exports_the_same_bytes(tmp_path: Path, pg_url: str) -> None:
    db = tmp_path / "audit.db"
    await seed(db)
    store = await open_store(PgLocation(pg_url), names=False)
    await store.close()
    source, target = transfer.open_side(str(db), write=False), transfer.open_side(pg_url, write=True)
    try:
        result = transfer.copy_store(source, target)
    finally:
        target.close()
        source.close()
    assert result.copied["notes"] == 5
    assert verify_postgres(pg_url).problems == []
    assert verify(db).problems == []
    pg = export_source(PgLocation(pg_url))
    for fmt in FORMATS:
        assert exported(pg, fmt) == exported(db, fmt), fmt
    # The copy's full text of notes is made from them: free text finds the same records.
    by_note = Filter(text="banned")
    assert len(notes_by_id("jsonl", exported(db, "jsonl", by_note))) == 1
    assert exported(pg, "jsonl", by_note) == exported(db, "jsonl", by_note)
