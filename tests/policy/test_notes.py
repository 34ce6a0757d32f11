"""Writing notes through the policy, on both store backends: ``notes.write`` decides, every
decision is recorded (a denial too, and then no note is stored), an allowed note names its
decision, survives a restart, and edits and removals are new notes that keep the old text."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from backends import BOTH

from console.model.location import StoreLocation
from console.model.notes import MAX_LENGTH, NoteError, current
from console.policy.document import parse_policy
from console.policy.gatekeeper import Gatekeeper
from console.policy.notes import NoteTarget, write_note
from console.policy.policy_file import PolicyFile
from console.reports.compute import compute
from console.reports.render import as_json, to_markdown
from console.store import AuditStore
from console.store.opening import open_store

from .guilds import GUILD, member, role

BACKENDS = BOTH
MOD, HELPER = 22, 23
U_MOD, U_HELPER = 302, 303
NOW = 1_800_000_000_000
ENTRY = 1_234_567_890_123_456_789
POLICY_TEXT = f"""
[[grants]]
role = "{MOD}"
capability = "notes.write"
effect = "ALLOW"
""".encode()


async def keeper(location: StoreLocation) -> tuple[AuditStore, Gatekeeper]:
    store = await open_store(location, clock=lambda: NOW)
    pf = PolicyFile(None)
    pf.policy = parse_policy(POLICY_TEXT, "p.toml")
    await store.save_guild_state(
        GUILD,
        {
            "guild": {
                "id": str(GUILD),
                "name": "g",
                "owner_id": "1",
                "roles": [role(GUILD, "@everyone", 0), role(MOD, "Mod", 5, "VIEW_AUDIT_LOG"), role(HELPER, "Help", 2)],
            },
            "channels": [],
            "members": [member(U_MOD, MOD), member(U_HELPER, HELPER)],
        },
    )
    return store, Gatekeeper(store, pf)


@pytest.fixture
async def gk(location: StoreLocation) -> AsyncIterator[tuple[AuditStore, Gatekeeper]]:
    store, gatekeeper = await keeper(location)
    yield store, gatekeeper
    await store.close()


TARGET = NoteTarget(GUILD, "audit", ENTRY)


async def test_an_allowed_note_names_its_decision_and_survives_a_restart(
    gk: tuple[AuditStore, Gatekeeper], location: StoreLocation
) -> None:
    store, gatekeeper = gk
    written = await write_note(gatekeeper, TARGET, U_MOD, "  Warned in DMs first; see ticket #12  ")
    assert written.checked.allowed
    assert written.note is not None
    assert written.note.text == "Warned in DMs first; see ticket #12"
    assert written.note.decision_id == written.checked.decision.id
    decision = await store.get_decision(written.checked.decision.id)
    assert decision is not None
    assert decision.capability == "notes.write"
    assert decision.result == "ALLOW"
    await store.close()
    again, _ = await keeper(location)
    try:
        assert (await again.notes([ENTRY]))[ENTRY] == [written.note]
    finally:
        await again.close()


async def test_a_denied_note_is_recorded_and_not_stored(gk: tuple[AuditStore, Gatekeeper]) -> None:
    store, gatekeeper = gk
    written = await write_note(gatekeeper, TARGET, U_HELPER, "this should not be kept")
    assert written.note is None
    assert not written.checked.allowed
    assert written.checked.verdict.reason_code == "NO_GRANT"
    decision = await store.get_decision(written.checked.decision.id)
    assert decision is not None
    assert (decision.capability, decision.result, decision.actor_id) == ("notes.write", "DENY", U_HELPER)
    assert await store.notes([ENTRY]) == {}


async def test_edits_and_removals_are_new_notes_that_keep_the_old_text(gk: tuple[AuditStore, Gatekeeper]) -> None:
    store, gatekeeper = gk
    first = (await write_note(gatekeeper, TARGET, U_MOD, "first thought")).note
    other = (await write_note(gatekeeper, TARGET, U_MOD, "a second note")).note
    assert first is not None
    assert other is not None
    edited = (await write_note(gatekeeper, TARGET, U_MOD, "second thought", supersedes=first)).note
    assert edited is not None
    assert (edited.action, edited.supersedes) == ("edit", first.id)
    assert current((await store.notes([ENTRY]))[ENTRY]) == [other, edited]
    removed = (await write_note(gatekeeper, TARGET, U_MOD, "", supersedes=other, remove=True)).note
    assert removed is not None
    assert (removed.action, removed.text) == ("remove", "a second note")
    stored = (await store.notes([ENTRY]))[ENTRY]
    assert [n.text for n in stored] == ["first thought", "a second note", "second thought", "a second note"]
    assert current(stored) == [edited]


@pytest.mark.parametrize(
    ("text", "why"),
    [("   ", "needs some text"), ("x" * (MAX_LENGTH + 1), f"at most {MAX_LENGTH:,} characters")],
)
async def test_text_that_cannot_be_a_note_is_refused_before_any_decision(
    gk: tuple[AuditStore, Gatekeeper], text: str, why: str
) -> None:
    store, gatekeeper = gk
    with pytest.raises(NoteError, match=why):
        await write_note(gatekeeper, TARGET, U_MOD, text)
    assert await store.last_decision_id() == 0


async def test_notes_are_counted_in_the_period_report(gk: tuple[AuditStore, Gatekeeper]) -> None:
    store, gatekeeper = gk
    first = (await write_note(gatekeeper, TARGET, U_MOD, "one")).note
    await write_note(gatekeeper, TARGET, U_MOD, "two")
    await write_note(gatekeeper, TARGET, U_MOD, "one, better", supersedes=first)
    await write_note(gatekeeper, TARGET, U_HELPER, "denied: not counted")
    names = {U_MOD: "user302"}
    report = await compute(
        store, since_ms=NOW - 1000, until_ms=NOW + 1, name_of=lambda k, i: names.get(i or 0), now_ms=NOW
    )
    assert report.notes_by_action == {"add": 2, "edit": 1}
    assert [(p.id, p.name, p.count) for p in report.notes_by_person] == [(U_MOD, "user302", 3)]
    assert as_json(report)["totals"]["notes"] == 3
    markdown = to_markdown(report)
    assert "## Notes written" in markdown
    assert "| user302 | 302 | 3 |" in markdown
    assert "2 added, 1 edited." in markdown
    before = await compute(store, since_ms=NOW - 1000, until_ms=NOW, name_of=lambda k, i: None, now_ms=NOW)
    assert before.notes_total == 0
    assert "No notes written." in to_markdown(before)
