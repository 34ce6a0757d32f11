"""The detail drawer: the selected record, explained (``console.ui.details`` does the work)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from rich.console import RenderableType
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.reactive import reactive
from textual.widgets import Static

from console.model.actions import CATEGORIES
from console.model.notes import Note
from console.model.records import Attempt, RoleChange
from console.ui.theming import theme_styles

if TYPE_CHECKING:
    from console.store.api import AuditStore

NameOf = Callable[[str, int | None], str | None]

HINT = "Select a row and press Enter"

#: Theme variables the renderers read (see console.ui.details).
STYLE_KEYS: tuple[str, ...] = (
    *(f"action-{c}" for c in CATEGORIES),
    "decision-allow",
    "decision-deny",
    "danger",
    "diff-added",
    "diff-removed",
    "muted",
    "gap",
)


def _no_names(kind: str, ident: int | None) -> str | None:
    return None


def _wall_clock_ms() -> int:
    return int(time.time() * 1000)


class DetailDrawer(VerticalScroll):
    """A scrollable pane showing one record: before/after diff, decision path, attempts, raw JSON.

    The app sets :attr:`name_of` and :attr:`palette` (or passes ``name_of=``/``styles=`` in);
    without a palette the drawer reads the running theme's variables. Content is always a Rich
    renderable built from sanitised text, never a markup string.
    """

    DEFAULT_CSS = """
    DetailDrawer {
        border: round $primary;
        border-title-align: left;
        height: 1fr;
    }
    DetailDrawer > #detail-body {
        width: 100%;
        height: auto;
        padding: 0 1;
    }
    """

    BINDINGS = [
        Binding("j", "toggle_raw", "Raw JSON", id="toggle-raw-json", tooltip="Show or hide the raw JSON"),
    ]

    show_raw: reactive[bool] = reactive(False)
    """Whether the raw JSON is appended under the details."""

    def __init__(
        self,
        *,
        name_of: NameOf | None = None,
        styles: Mapping[str, str] | None = None,
        clock: Callable[[], int] | None = None,
        name: str | None = None,
        id: str | None = None,  # noqa: A002 - Textual's own parameter name
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.border_title = "Details"
        self.name_of: NameOf = name_of or _no_names
        """Cached names: ``name_of(kind, id)`` with kind user/role/channel/guild."""
        # Not ``self.styles``: that is Textual's own CSS styles object on every widget.
        self.palette: Mapping[str, str] | None = styles
        """Theme variable → Rich style for the renderers; None reads the running theme."""
        self.clock: Callable[[], int] = clock or _wall_clock_ms
        """Milliseconds now, for "in 4s"/"3m ago" (tests pass a fixed clock)."""
        self.tz: dt.tzinfo | None = None
        """The zone of the local times shown (None: the system's); the app sets it."""
        self._record: object | None = None
        self._attempts: tuple[Attempt, ...] = ()
        self._notes: tuple[Note, ...] = ()

    def compose(self) -> ComposeResult:
        yield Static(self._hint(), id="detail-body", markup=False)

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)

    @property
    def record(self) -> object | None:
        """The record shown, or None."""
        return self._record

    def show(self, record: object, attempts: Sequence[Attempt] = (), notes: Sequence[Note] = ()) -> None:
        """Show ``record`` (an audit entry, decision, role change or gap) and its current
        ``notes``, from the top."""
        self._record = record
        self._attempts = tuple(attempts)
        self._notes = tuple(notes)
        self.refresh_details()
        self.scroll_home(animate=False)

    async def open_on(self, store: AuditStore, record: object) -> None:
        """Open on ``record`` with what the store keeps beside it (a role change's attempts, the
        record's current notes): the feed's drawer and the member view's alike."""
        from console.ui.noting import shown_notes

        attempts = await store.attempts(record.id) if isinstance(record, RoleChange) else ()
        notes = await shown_notes(store, record)
        self.add_class("-open")
        self.show(record, attempts=attempts, notes=notes)

    def clear(self) -> None:
        """Show nothing but the hint."""
        self._record = None
        self._attempts = ()
        self._notes = ()
        self._body().update(self._hint())

    def refresh_details(self) -> None:
        """Render the current record again (names, theme or clock may have changed)."""
        if self._record is None:
            self._body().update(self._hint())
            return
        self._body().update(self._render_record())

    def action_toggle_raw(self) -> None:
        """Show or hide the raw JSON."""
        self.show_raw = not self.show_raw

    def watch_show_raw(self) -> None:
        if self.is_mounted:
            self.refresh_details()

    # -- internals ----------------------------------------------------------------------------

    def _body(self) -> Static:
        return self.query_one("#detail-body", Static)

    def _hint(self) -> Text:
        return Text(HINT, style=Style(dim=True, italic=True))

    def _render_record(self) -> RenderableType:
        from console.ui import details  # only when something is shown: keeps startup lean

        return details.render_record(
            self._record,
            name_of=self.name_of,
            styles=self._renderer_styles(),
            show_raw=self.show_raw,
            attempts=self._attempts,
            now_ms=self.clock(),
            tz=self.tz,
            notes=self._notes,
        )

    def _renderer_styles(self) -> Mapping[str, str]:
        if self.palette is not None:
            return self.palette
        if not self.is_attached:
            return {}
        # get_css_variables(), not theme_variables: the latter lags a theme switch by a refresh.
        return theme_styles(self.app.get_css_variables())

    def _theme_changed(self, _theme: object) -> None:
        if self.palette is None:
            self.refresh_details()
