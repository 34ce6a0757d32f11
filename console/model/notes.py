"""Notes: what a moderator writes on a record (an audit entry, a decision, a role change) to keep
the team's reasoning beside it.

Notes are append-only. Adding one stores an ``add``; changing it stores an ``edit`` that names the
note it supersedes (the old text stays); removing it stores a ``remove`` that names the note it
removes and keeps its text. What a record shows is its *current* notes: the last of each line of
edits, unless that line was removed (:func:`current`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final, NamedTuple, Self

#: Longest note text, in characters.
MAX_LENGTH: Final = 2000
ACTIONS: Final = ("add", "edit", "remove")
#: The records a note may be on (the timeline's kinds; gaps are the console's, not a moderator's).
RECORD_KINDS: Final = ("audit", "decision", "role_change")


class NoteError(ValueError):
    """A note that cannot be stored as given: one line."""


class _NoteFields(NamedTuple):
    id: int
    guild_id: int
    record_kind: str
    record_id: int
    #: The member the note is about, when it was written from a member's view (None: the record).
    member_id: int | None
    #: The Discord user who wrote it (the console's operator; on a team store the login's user).
    actor_id: int
    actor_name: str | None
    created_at: int
    action: str
    #: For an edit or a removal: the note it supersedes.
    supersedes: int | None
    text: str
    #: The policy decision that allowed it (None when no policy was asked: a copied store).
    decision_id: int | None = None

    @classmethod
    def from_row(cls, row: Any) -> Self:
        return cls(*row)


class Note(_NoteFields):
    """One stored note action (see the module's docstring)."""

    __slots__ = ()

    COLUMNS = (
        "id, guild_id, record_kind, record_id, member_id, actor_id, actor_name, created_at, action,"
        " supersedes, text, decision_id"
    )


def clean_text(text: str) -> str:
    """The text to store: trimmed, NUL made U+FFFD (no backend's text column holds it), at most
    :data:`MAX_LENGTH` characters. NoteError when nothing is left. The text is kept as written
    otherwise: it is sanitised where it is shown, like every untrusted string."""
    out = text.replace("\x00", "\ufffd").strip()
    if not out:
        raise NoteError("a note needs some text")
    if len(out) > MAX_LENGTH:
        raise NoteError(f"a note holds at most {MAX_LENGTH:,} characters (this one has {len(out):,})")
    return out


def check(note: Note) -> None:
    """NoteError unless ``note`` is one the store may keep."""
    if note.action not in ACTIONS:
        raise NoteError(f"unknown note action {note.action!r}")
    if note.record_kind not in RECORD_KINDS:
        raise NoteError(f"a note cannot be written on a {note.record_kind} record")
    if (note.action == "add") != (note.supersedes is None):
        raise NoteError("an edit or a removal names the note it supersedes; an added note names none")
    clean_text(note.text)


def current(notes: Iterable[Note]) -> list[Note]:
    """The notes a record shows now, oldest first: every note not superseded by a later one, and
    not a removal."""
    ordered = sorted(notes, key=lambda n: n.id)
    replaced = {n.supersedes for n in ordered if n.supersedes is not None}
    return [n for n in ordered if n.id not in replaced and n.action != "remove"]
