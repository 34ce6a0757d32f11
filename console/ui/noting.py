"""Notes from any screen: :func:`open_note_dialog` opens the note dialog for a record, given by its
kind and id (and, from a member's view, the member it is about), and writes what the dialog
returns as the console's operator — through the policy's ``notes.write``, which decides and is
recorded either way. The store tells every console of the new note (a record changed in place),
so the feed's marker and an open drawer follow without anything done here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from console.model.naming import person
from console.model.notes import RECORD_KINDS, Note, NoteError, current
from console.model.sanitize import safe_text
from console.store import Ref, StoreError
from console.ui.rows import RowContext, record_key, record_row

if TYPE_CHECKING:
    from textual.screen import Screen

    from console.policy.notes import NoteTarget
    from console.store import AuditStore
    from console.ui.app import ConsoleApp
    from console.ui.screens.note_dialog import NoteForm


def record_words(record: Any, app: ConsoleApp) -> str:
    """A record as its feed row reads (compact), one line of plain text."""
    row = record_row(record, RowContext(name_of=app.store.name_of, compact=True))
    return " ".join("".join(text for text, _ in row.parts).split())


async def shown_notes(store: AuditStore, record: Any) -> list[Note]:
    """The notes the drawer shows with ``record`` (a gap has none)."""
    kind, ident = record_key(record)
    if kind not in RECORD_KINDS:
        return []
    return current((await store.notes([ident])).get(ident, []))


def note_on_row(screen: Screen[Any], app: ConsoleApp, record: Any, *, member_id: int | None = None) -> None:
    """``n`` on a screen's selected row (the feed's, the member view's): its note dialog, in a
    worker of ``screen``; a bell with no row."""
    if record is None:
        app.bell()
        return
    kind, ident = record_key(record)
    screen.run_worker(open_note_dialog(app, kind, ident, member_id=member_id), group="note", exclusive=True)


def _why_not(app: ConsoleApp) -> str | None:
    """Why this console cannot write notes now, or None."""
    if app.store.readonly:
        return "Notes need a store the console writes: this one is open read-only."
    if app.operator_id is None:
        return app.browse_only or "Set operator_id in the config: the console writes notes as that Discord user."
    services = app.ensure_services()
    if services is None or getattr(services, "gatekeeper", None) is None:
        return "Notes are checked by the policy: connect (`audit-console run`, or the demo) to write one."
    return None


async def open_note_dialog(app: ConsoleApp, kind: str, record_id: int, *, member_id: int | None = None) -> None:
    """The note dialog for the record (``kind`` "audit", "decision" or "role_change"), or a notice
    saying why not."""
    from console.policy.notes import NoteTarget
    from console.ui.screens.note_dialog import NoteDialog

    if kind not in RECORD_KINDS:
        app.notice("Notes are written on audit entries, decisions and role changes.", severity="warning")
        return
    problem = _why_not(app)
    if problem is not None:
        app.notice(problem, severity="warning")
        return
    store = app.store
    try:
        found = await store.timeline_records([Ref(kind, record_id)])
        notes = current((await store.notes([record_id])).get(record_id, []))
    except StoreError as e:
        app.notice(f"Reading the record failed: {e}", severity="error")
        return
    if not found:
        app.notice(f"Record {record_id} is no longer stored.", severity="warning")
        return
    record = found[0]
    target = NoteTarget(int(record.guild_id), kind, record_id, member_id)
    operator = person(store.name_of, app.operator_id) or str(app.operator_id)

    async def submitted(form: NoteForm | None) -> None:
        if form is not None:
            await write_from_dialog(app, target, form)

    app.push_screen(
        NoteDialog(about=record_words(record, app), operator=safe_text(operator, 40), notes=notes),
        callback=submitted,
    )


async def write_from_dialog(app: ConsoleApp, target: NoteTarget, form: NoteForm) -> None:
    """Write the dialog's note as the operator; say what the policy decided."""
    from console.policy.gatekeeper import GateError
    from console.policy.notes import write_note

    if app.operator_id is None:
        return
    try:
        written = await write_note(
            app.ensure_services().gatekeeper,
            target,
            app.operator_id,
            form.text,
            source="TUI",
            supersedes=form.supersedes,
            remove=form.remove,
        )
    except (GateError, NoteError) as e:
        app.notice(f"Note not written: {e}", severity="error")
        return
    except StoreError as e:
        app.notice(f"Note not written: the store failed ({e})", severity="error")
        return
    if written.note is None:
        app.notice(f"Note denied: {written.checked.verdict.denial()}", severity="error")
        return
    done = {"add": "Note added", "edit": "Note edited", "remove": "Note removed (its text is kept)"}
    app.notice(f"{done[written.note.action]} on record {target.record_id}.")
