"""A one-line prompt for a name (saving a filter)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from console.model.sanitize import safe_text


class NamePrompt(ModalScreen[str | None]):
    DEFAULT_CSS = """
    NamePrompt { align: center middle; }
    NamePrompt > Vertical { width: 64; height: auto; border: round $primary; background: $surface; padding: 0 1; }
    NamePrompt Input:focus { border: none; background: $primary 30%; }
    NamePrompt Input { border: none; height: 1; padding: 0 1; background: $boost; margin-top: 1; }
    NamePrompt #hint { color: $text-muted; margin-top: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, hint: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.title_text, "bold"))
            yield Input(placeholder="a name, then Enter", max_length=60, id="name")
            yield Static(Text(safe_text(self.hint, 200) or "(the filter is empty)"), id="hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _done(self, event: Input.Submitted) -> None:
        name = " ".join(event.value.split())
        self.dismiss(name or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
