"""Notes in the store, on both backends: kept append-only, found by ``note:`` in the timeline (the
current text only: an edit's old text and a removed note are not found), and each record's notes
read back in order."""

from __future__ import annotations

from typing import Any

from backends import BOTH
from store_helpers import NOW_MS, note_row, raw_entry, snowflake

from console.model.filters import Exclusions, Filter
from console.model.notes import Note
from console.model.query import format_filter, parse
from console.model.records import Decision
from console.model.snowflake import from_ms
from console.store import AuditStore, Ref

BACKENDS = BOTH
GUILD = 1_000_000_000_000_001
MOD = 2_000_000_000_000_001


def note(record_kind: str, record_id: int, text: str, low: int, **changes: Any) -> Note:
    return note_row(GUILD, record_kind, record_id, text, at_ms=NOW_MS - 1000 + low, low=low, actor_id=MOD, **changes)


def a_decision(low: int) -> Decision:
    at = NOW_MS - 5000
    return Decision(
        from_ms(at) | low, GUILD, at, MOD, "mod", [], False, False, "roles.grant", "guild", GUILD,
        "TUI", "DENY", "NO_GRANT", [], "v1",
    )  # fmt: skip


async def seeded(store: AuditStore) -> tuple[list[int], Decision, dict[str, Note]]:
    raws = [raw_entry(snowflake(NOW_MS - 10_000, i), 22, user_id=MOD, target_id=3, reason=f"ban {i}") for i in range(3)]
    await store.add_entries(raws, source="gateway", guild_id=GUILD)
    ids = [int(r["id"]) for r in raws]
    d = a_decision(9)
    await store.record_decision(d)
    notes = {
        "raid": note("audit", ids[0], "Part of the Raid of the 7th; see ticket 12", 1),
        "appeal": note("audit", ids[1], "Appeal_denied 100% — repeat offender", 2),
        "old": note("audit", ids[2], "spam bot, obviously", 3),
        "decision": note("decision", d.id, "asked for the role in #help: RAID cleanup", 4),
    }
    for n in notes.values():
        await store.add_note(n)
    edit = note(
        "audit",
        ids[2],
        "compromised account, not a spam bot; the ban stands",
        5,
        action="edit",
        supersedes=notes["old"].id,
    )
    await store.add_note(edit)
    gone = note("audit", ids[1], notes["appeal"].text, 6, action="remove", supersedes=notes["appeal"].id)
    await store.add_note(gone)
    notes["edit"], notes["gone"] = edit, gone
    return ids, d, notes


async def refs(store: AuditStore, query: str) -> list[Ref]:
    flt = parse(query, now_ms=NOW_MS).filter
    found = await store.timeline_page(flt, limit=50)
    assert await store.timeline_count(flt) == len(found)
    return found


async def test_note_in_the_query_finds_current_notes_only(store: AuditStore) -> None:
    ids, d, _ = await seeded(store)
    # Case ignored; across kinds; every word of a field ORs.
    assert await refs(store, "note:raid") == [Ref("decision", d.id), Ref("audit", ids[0])]
    assert await refs(store, "note:raid kind:audit") == [Ref("audit", ids[0])]
    assert await refs(store, "note:ticket,compromised") == [Ref("audit", ids[2]), Ref("audit", ids[0])]
    assert await refs(store, 'note:"see ticket"') == [Ref("audit", ids[0])]
    # The edited note's old text and the removed note are history, not what the record shows.
    assert await refs(store, "note:spam") == [Ref("audit", ids[2])]  # the edit says "not a spam bot"
    assert await refs(store, "note:obviously") == []
    assert await refs(store, "note:appeal_denied") == []
    # LIKE's own characters are matched as themselves.
    assert await refs(store, "note:100%") == []
    assert await refs(store, "note:e_d") == []
    entries = await store.page(parse("note:ticket", now_ms=NOW_MS).filter)
    assert [e.id for e in entries] == [ids[0]]
    assert await store.count(parse("note:ticket", now_ms=NOW_MS).filter) == 1


async def test_minus_note_leaves_out_what_current_notes_say(store: AuditStore) -> None:
    """``-note:handled``: what a note marks is left out, across kinds; an edit's old text and a
    removed note leave nothing out (they are not what the record shows now); gaps have no notes
    and stay."""
    ids, d, _ = await seeded(store)
    everything = await refs(store, "")
    assert await refs(store, "-note:raid") == [
        r for r in everything if r not in (Ref("decision", d.id), Ref("audit", ids[0]))
    ]
    assert await refs(store, "-note:ticket,compromised kind:audit") == [Ref("audit", ids[1])]
    assert await refs(store, "-note:obviously kind:audit") == [Ref("audit", i) for i in reversed(ids)]
    assert await refs(store, "-note:appeal_denied kind:audit") == [Ref("audit", i) for i in reversed(ids)]
    # Kept and left out at once: a note with "raid" but not "ticket".
    assert await refs(store, "note:raid -note:ticket") == [Ref("decision", d.id)]
    entries = await store.page(parse("-note:ticket", now_ms=NOW_MS).filter)
    assert [e.id for e in entries] == [ids[2], ids[1]]
    assert await store.count(parse("-note:ticket", now_ms=NOW_MS).filter) == 2


async def test_every_note_action_reads_back_in_order(store: AuditStore) -> None:
    ids, d, notes = await seeded(store)
    found = await store.notes([ids[1], ids[2], d.id, 12345])
    assert found == {
        ids[1]: [notes["appeal"], notes["gone"]],
        ids[2]: [notes["old"], notes["edit"]],
        d.id: [notes["decision"]],
    }


async def test_free_text_finds_records_by_their_current_notes(store: AuditStore) -> None:
    ids, d, _ = await seeded(store)

    async def entries(query: str) -> list[int]:
        flt = parse(query, now_ms=NOW_MS).filter
        found = [e.id for e in await store.page(flt)]
        assert await store.count(flt) == len(found)
        return found

    # Words only a note holds (full text: tokens, prefixes, phrases) find its record.
    assert await refs(store, "ticket") == [Ref("audit", ids[0])]
    assert await entries("ticket") == [ids[0]]
    assert await refs(store, "compro*") == [Ref("audit", ids[2])]
    assert await refs(store, '"spam bot"') == [Ref("audit", ids[2])]
    # An entry its own words and its note both find is listed once.
    assert await refs(store, "ban") == [Ref("audit", i) for i in reversed(ids)]
    assert await entries("ban") == list(reversed(ids))
    # With other fields, and across kinds (a decision's note is matched as its columns are).
    assert await refs(store, f"ticket actor:{MOD}") == [Ref("audit", ids[0])]
    assert await refs(store, "ticket kind:decision") == []
    assert await refs(store, "cleanup") == [Ref("decision", d.id)]
    # An edited note's old words and a removed note's are not what the records say now.
    for gone in ("obviously", "appeal"):
        assert await refs(store, gone) == []
        assert await entries(gone) == []


def test_note_terms_round_trip_through_the_query_text() -> None:
    flt = parse('note:"raid,two words" actor:5 -note:handled -note:"false alarm"', now_ms=NOW_MS).filter
    assert flt.note_words == {"raid", "two words"}
    assert flt.exclude.note_words == {"handled", "false alarm"}
    assert not flt.includes_kind("gap")
    text = format_filter(flt)
    assert parse(text, now_ms=NOW_MS).filter == flt
    assert Filter(note_words=frozenset({"x"})).is_empty is False
    assert Filter(exclude=Exclusions(note_words=frozenset({"x"}))).is_empty is False


async def test_member_notes_are_the_current_notes_on_records_involving_them(store: AuditStore) -> None:
    ids, _, notes = await seeded(store)
    # MOD did all three entries and asked for the decision; 3 is the entries' target only.
    assert await store.member_notes(GUILD, MOD) == [notes["raid"], notes["decision"], notes["edit"]]
    assert await store.member_notes(GUILD, 3) == [notes["raid"], notes["edit"]]
    assert await store.member_notes(GUILD, 77) == []
    # A note written from someone's view is about them, whoever the record names.
    about = note("audit", ids[0], "alt of 77, same IP story", 7, member_id=77)
    await store.add_note(about)
    assert await store.member_notes(GUILD, 77) == [about]
    assert await store.member_notes(GUILD + 1, MOD) == []
