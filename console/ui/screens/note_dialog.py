"""Write a note on a record (``n``): plain text up to 2,000 characters, by the console's operator.
When the record has notes already, one of them may be chosen instead: the text written then
supersedes it (an edit), or Remove removes it; either is a new note, the old text is kept. The
dialog only fills in the form: ``console.ui.noting`` opens it for a record and writes what it
returns through the policy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, RadioButton, RadioSet, Static, TextArea

from console.model.notes import MAX_LENGTH, Note, NoteError, clean_text
from console.model.sanitize import safe_text


@dataclass(frozen=True, slots=True)
class NoteForm:
    text: str
    #: The note this one edits or removes (None: a new note).
    supersedes: Note | None = None
    remove: bool = False


class NoteDialog(ModalScreen[NoteForm | None]):
    """Returns the filled-in form, or None when cancelled."""

    DEFAULT_CSS = """
    NoteDialog { align: center middle; }
    NoteDialog > Vertical { width: 76; height: auto; max-height: 100%; border: round $primary;
        background: $surface; padding: 0 1; }
    NoteDialog Label { color: $text-muted; margin-top: 1; }
    NoteDialog RadioSet { border: none; height: auto; width: 100%; }
    NoteDialog TextArea { height: 6; border: none; background: $boost; }
    NoteDialog TextArea:focus { border: none; }
    NoteDialog #count { color: $text-muted; height: 1; text-align: right; }
    NoteDialog #problem { color: $error; height: auto; }
    NoteDialog Horizontal { height: auto; margin-top: 1; align-horizontal: right; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "save", "Save", priority=True),
    ]

    def __init__(self, *, about: str, operator: str, notes: Sequence[Note] = ()) -> None:
        super().__init__()
        #: What the note is on, one line (already plain text: a feed row's words).
        self.about = about
        self.operator = operator
        #: The record's current notes, oldest first: the ones that may be edited or removed.
        self.notes = tuple(notes)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text.assemble(("Note", "bold"), (f"  as {safe_text(self.operator, 40)}", "dim")))
            yield Static(Text(safe_text(self.about, 70)), id="about")
            if self.notes:
                yield Label("Write a new note, or change one of this record's")
                with RadioSet(id="which"):
                    yield RadioButton("a new note", value=True)
                    for note in self.notes:
                        yield RadioButton(Text("edit: " + safe_text(note.text, 56)))
            yield Label(f"Text (plain, up to {MAX_LENGTH:,} characters; kept in the integrity chain)")
            yield TextArea(id="text", soft_wrap=True, show_line_numbers=False)
            yield Static(self._count(""), id="count")
            yield Static("", id="problem")
            with Horizontal():
                yield Button("Cancel", id="cancel")
                if self.notes:
                    yield Button("Remove", id="remove", variant="error", disabled=True)
                yield Button("Save (Ctrl+S)", id="save", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#text", TextArea).focus()

    def chosen(self) -> Note | None:
        """The note being edited, or None for a new one."""
        if not self.notes:
            return None
        index = self.query_one("#which", RadioSet).pressed_index
        return self.notes[index - 1] if index > 0 else None

    @on(RadioSet.Changed, "#which")
    def _which(self) -> None:
        note = self.chosen()
        self.query_one("#text", TextArea).text = "" if note is None else note.text
        self.query_one("#remove", Button).disabled = note is None

    @on(TextArea.Changed, "#text")
    def _typed(self, event: TextArea.Changed) -> None:
        self.query_one("#count", Static).update(self._count(event.text_area.text))

    def _count(self, text: str) -> Text:
        n = len(text.strip())
        return Text(f"{n:,} / {MAX_LENGTH:,}", "bold red" if n > MAX_LENGTH else "")

    def read(self) -> tuple[NoteForm | None, str]:
        """The form, or None and why not (one line)."""
        try:
            text = clean_text(self.query_one("#text", TextArea).text)
        except NoteError as e:
            return None, f"Cannot save: {e}."
        return NoteForm(text, self.chosen()), ""

    def action_save(self) -> None:
        form, problem = self.read()
        if form is None:
            self.query_one("#problem", Static).update(Text(problem))
            return
        self.dismiss(form)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#remove")
    def _remove(self) -> None:
        note = self.chosen()
        if note is not None:
            self.dismiss(NoteForm(note.text, note, remove=True))
