"""The search bar (``/``): the filter typed as a query, with completion and inline errors."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.suggester import Suggester
from textual.widgets import Input, Static

from console.model.sanitize import safe_text


class QuerySuggester(Suggester):
    def __init__(self, users: Callable[[], Iterable[str]], roles: Callable[[], Iterable[str]]) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self._users = users
        self._roles = roles

    async def get_suggestion(self, value: str) -> str | None:
        from console.model.query import complete

        options = complete(value, self._users(), self._roles())
        return options[0] if options else None


class SearchBar(Vertical):
    DEFAULT_CSS = """
    SearchBar { height: auto; display: none; padding: 0 1; background: $panel; }
    SearchBar.-open { display: block; }
    SearchBar Input { border: tall $accent; }
    SearchBar #search-error { color: $error; height: auto; }
    SearchBar #search-help { color: $text-muted; height: 1; }
    /* Notifications stack up from above the footer; while the search bar is open (up to six
       lines with a wrapped error) they start above it, not over the query being typed. */
    Screen.-searching ToastRack { margin-bottom: 7; }
    """
    SCOPED_CSS = False  # the rule for the notifications is not about the bar's own children
    BINDINGS = [
        Binding("escape", "close", "Close search"),
        Binding("ctrl+f", "find", "Find (no filter)"),
        Binding("tab", "complete", "Complete", show=False, priority=True),
    ]

    class Submitted(Message):
        def __init__(self, query: str, *, find: bool) -> None:
            super().__init__()
            self.query = query
            self.find = find

    class Closed(Message):
        pass

    def __init__(self, suggester: Suggester, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._suggester = suggester

    def _controls(self) -> ComposeResult:
        from console.model.query import FIELDS

        yield Input(
            placeholder='actor:… action:MEMBER_BAN_ADD,MEMBER_KICK since:7d "raid"',
            suggester=self._suggester,
            id="search-input",
        )
        yield Static("", id="search-error", markup=False)
        yield Static(
            "fields: " + " ".join(f"{f}:" for f in FIELDS) + " · -field: -word exclude"
            "   Enter filter · Ctrl+F find · Esc close",
            id="search-help",
            markup=False,
        )

    async def open(self, text: str) -> None:
        # The controls are mounted the first time the bar opens: the first screen does not
        # style an input nobody has asked for yet (styling it would hold up the first frame).
        if not self.children:
            await self.mount_all(self._controls())
        self.add_class("-open")
        self.screen.add_class("-searching")  # notifications move up, off the query (app.tcss)
        box = self.query_one(Input)
        box.value = text
        box.cursor_position = len(text)
        box.focus()
        self.show_error(None)

    def hide(self) -> None:
        self.remove_class("-open")
        self.screen.remove_class("-searching")

    def action_close(self) -> None:
        self.hide()
        self.post_message(self.Closed())

    def action_complete(self) -> None:
        """Tab: take the suggestion shown after the cursor (field, action name, known user)."""
        box = self.query_one(Input)
        box.cursor_position = len(box.value)
        box.action_cursor_right()  # at the end of the text, this accepts the suggestion

    def action_find(self) -> None:
        self.post_message(self.Submitted(self.query_one(Input).value, find=True))

    def show_error(self, message: str | None, column: int | None = None) -> None:
        err = self.query_one("#search-error", Static)
        if not message:
            err.update("")
            return
        text = Text()
        if column is not None and column >= 0:
            # The input's border and padding put its text two cells right of this line's.
            text.append(" " * min(column + 2, 200) + "^ ")
        text.append(safe_text(message, 300))
        err.update(text)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Submitted(event.value, find=False))
