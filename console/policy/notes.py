"""Writing a note as a person (the TUI's operator, or whoever a team store's login is mapped to):
the policy's ``notes.write`` decides first and its decision is recorded, allowed or denied; only
an allowed note is stored, naming that decision (``console/model/notes.py`` says what a note is)."""

from __future__ import annotations

from dataclasses import dataclass

from console.model.notes import Note, NoteError, check, clean_text
from console.policy.engine import Request
from console.policy.gatekeeper import Checked, Gatekeeper

CAPABILITY = "notes.write"


@dataclass(frozen=True, slots=True)
class Written:
    checked: Checked
    note: Note | None  # None when the policy denied it


@dataclass(frozen=True, slots=True)
class NoteTarget:
    """What a note is written on: a record (its kind and id, in its guild), and optionally the
    member it is about (a note written from a member's view)."""

    guild_id: int
    record_kind: str
    record_id: int
    member_id: int | None = None


async def write_note(
    gatekeeper: Gatekeeper,
    target: NoteTarget,
    actor_id: int,
    text: str,
    *,
    source: str = "TUI",
    supersedes: Note | None = None,
    remove: bool = False,
) -> Written:
    """Add a note (or, with ``supersedes``, edit that one; with ``remove`` too, remove it keeping
    its text). NoteError (one line) for text that cannot be a note, before anything is decided;
    GateError when the policy cannot decide."""
    if remove and supersedes is None:
        raise NoteError("a removal names the note it removes")
    body = supersedes.text if remove and supersedes is not None else clean_text(text)
    store = gatekeeper.store
    checked = await gatekeeper.check(target.guild_id, Request(actor_id, CAPABILITY, "guild", target.guild_id), source)
    if not checked.allowed:
        return Written(checked, None)
    now = store.now_ms()
    note = Note(
        id=store.ids.make(now),
        guild_id=target.guild_id,
        record_kind=target.record_kind,
        record_id=target.record_id,
        member_id=target.member_id,
        actor_id=actor_id,
        actor_name=checked.decision.actor_name,
        created_at=now,
        action="remove" if remove else ("edit" if supersedes is not None else "add"),
        supersedes=None if supersedes is None else supersedes.id,
        text=body,
        decision_id=checked.decision.id,
    )
    check(note)
    await store.add_note(note)
    return Written(checked, note)
