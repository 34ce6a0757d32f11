"""The pending role changes pane: every grant/revoke not yet final, with attempts, age and a
countdown to the next retry. Small and bounded, so a Rich table built from Text is enough."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from console.model.naming import person
from console.model.records import RoleChange
from console.model.sanitize import safe_text
from console.model.times import duration


def pending_table(
    changes: Sequence[RoleChange],
    *,
    now_ms: int,
    name_of: Callable[[str, int | None], str | None],
    styles: dict[str, str],
    cursor: int | None = None,
) -> Table | Text:
    if not changes:
        return Text("No role changes pending.", styles.get("muted", "dim"))
    table = Table(box=None, show_header=True, header_style="bold", expand=True, padding=(0, 1, 0, 0))
    table.add_column("member", ratio=3, no_wrap=True, overflow="ellipsis")
    table.add_column("role", ratio=3, no_wrap=True, overflow="ellipsis")
    table.add_column("try", justify="right", no_wrap=True)
    table.add_column("age", justify="right", no_wrap=True)
    table.add_column("next", justify="right", no_wrap=True)
    for i, c in enumerate(changes):
        member = person(name_of, c.member_id, max_len=24)
        role = name_of("role", c.role_id)
        sign = "+" if c.op == "grant" else "−"
        next_in = "now" if c.next_attempt_at is None else duration(c.next_attempt_at - now_ms)
        table.add_row(
            Text(member or str(c.member_id)),
            Text(
                f"{sign}@{safe_text(role, 24)}" if role else f"{sign}{c.role_id}",
                styles.get("diff-added" if c.op == "grant" else "diff-removed", ""),
            ),
            Text(str(c.attempts)),
            Text(duration(now_ms - c.created_at)),
            Text(next_in),
            style="reverse" if i == cursor else None,
        )
    return table


class PendingPane(VerticalScroll, can_focus=True):
    """Tab to it, ↑ ↓ to choose; ``r`` retries the chosen change now, ``x`` cancels it."""

    DEFAULT_CSS = """
    PendingPane { width: 38; border: round $primary 60%; border-title-align: left; }
    PendingPane:focus { border: round $primary; }
    PendingPane Static { width: 100%; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "move(-1)", "Up", show=False),
        Binding("down,j", "move(1)", "Down", show=False),
    ]

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.border_title = "Pending role changes"
        self.changes: list[RoleChange] = []
        self.cursor = 0
        self._args: tuple[int, Any, dict[str, str]] | None = None

    @property
    def selected(self) -> RoleChange | None:
        return self.changes[self.cursor] if 0 <= self.cursor < len(self.changes) else None

    def action_move(self, delta: int) -> None:
        if self.changes:
            self.cursor = max(0, min(len(self.changes) - 1, self.cursor + delta))
            self._repaint()

    def on_focus(self) -> None:
        self._repaint()

    def on_blur(self) -> None:
        self._repaint()

    def _repaint(self) -> None:
        if self._args is None:
            return
        now_ms, name_of, styles = self._args
        table = pending_table(
            self.changes, now_ms=now_ms, name_of=name_of, styles=styles, cursor=self.cursor if self.has_focus else None
        )
        if self.children:
            self.query_one("#pending-body", Static).update(table)
        else:  # the first changes to show (after the first frame): the body comes with them
            self.mount(Static(table, id="pending-body"))

    def show(
        self,
        changes: Sequence[RoleChange],
        *,
        now_ms: int,
        name_of: Callable[[str, int | None], str | None],
        styles: dict[str, str],
        note: str | None = None,
    ) -> None:
        """``note``: said beside the count (why the changes wait: no collector is running)."""
        # Only when something shown changed (ages tick once a second, if any is shown): an update
        # reflows the screen.
        key = (tuple((c.id, c.attempts, c.state, c.next_attempt_at) for c in changes), changes and now_ms // 1000, note)
        if key == getattr(self, "_shown", None):
            return
        self._shown = key
        chosen = self.selected.id if self.selected is not None else None
        self.changes = list(changes)
        # Keep the chosen change under the cursor as others come and go.
        self.cursor = next(
            (i for i, c in enumerate(self.changes) if c.id == chosen), min(self.cursor, max(0, len(self.changes) - 1))
        )
        subtitle = f"{len(changes)} pending" + (f" · {note}" if note else "") if changes else ""
        if self.border_subtitle != subtitle:
            self.border_subtitle = subtitle
        self._args = (now_ms, name_of, styles)
        self._repaint()
