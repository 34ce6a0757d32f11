"""The alerts list (``!``): every alert raised, newest first; Enter jumps to the first record
behind the selected one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from console.alerts.engine import Alert
from console.model.sanitize import safe_text
from console.model.times import second_in, zone_label

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow"}


class AlertsScreen(ModalScreen[int | None]):
    """Dismissed with the record id to jump to, or None."""

    BINDINGS = [
        Binding("escape,q,exclamation_mark", "dismiss(None)", "Close"),
        Binding("enter", "open", "Jump to the record", show=False),
    ]
    DEFAULT_CSS = """
    AlertsScreen { align: center middle; }
    AlertsScreen > Vertical { width: 96%; height: 90%; border: round $primary; background: $surface; }
    AlertsScreen DataTable { height: 1fr; }
    AlertsScreen #alerts-empty { padding: 1 2; }
    AlertsScreen #alert-detail { height: auto; max-height: 6; padding: 0 1; border-top: solid $primary 40%; }
    """

    def __init__(
        self,
        alerts: list[Alert],
        name_of: Callable[[str, int | None], str | None] | None = None,
        tz: dt.tzinfo | None = dt.UTC,
    ) -> None:
        """``tz``: the zone the alerts' times are shown in (the console's; None: the system's)."""
        super().__init__()
        self.alerts = alerts
        self.tz = tz
        self.name_of = name_of or (lambda _kind, _id: None)

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = f"Alerts ({len(self.alerts)})"
            box.border_subtitle = "Enter: jump to the record · Esc: close"
            if not self.alerts:
                yield Static("No alerts raised.", id="alerts-empty")
            table: DataTable[Any] = DataTable(id="alerts-table", cursor_type="row", zebra_stripes=True)
            table.display = bool(self.alerts)
            yield table
            # The highlighted alert whole: the summary column is cut at the screen's width.
            detail = Static("", id="alert-detail", markup=False)
            detail.display = bool(self.alerts)
            yield detail

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        # What happened first; the guild (by name: a snowflake took a fifth of the width) after.
        zone = zone_label(self.tz, self.alerts[0].created_at if self.alerts else 0)
        table.add_columns(f"time ({zone})", "severity", "rule", "summary", "guild", "records")
        for a in self.alerts:
            guild = self.name_of("guild", a.guild_id)
            table.add_row(
                Text(second_in(a.created_at, self.tz)),
                Text(a.severity, SEVERITY_STYLE.get(a.severity, "")),
                Text(a.rule),
                Text(safe_text(a.summary, 160)),
                Text(safe_text(guild, 32) if guild else str(a.guild_id)),
                Text(
                    f"{len(a.record_ids)}: {', '.join(map(str, a.record_ids[:3]))}"
                    f"{' …' if len(a.record_ids) > 3 else ''}"
                ),
                key=str(a.id),
            )
        if self.alerts:
            table.focus()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if not 0 <= event.cursor_row < len(self.alerts):
            return
        a = self.alerts[event.cursor_row]
        guild = self.name_of("guild", a.guild_id)
        where = f"guild {safe_text(guild, 64)} ({a.guild_id})" if guild else f"guild {a.guild_id}"
        count = len(a.record_ids)
        shown = ", ".join(map(str, a.record_ids[:10])) + (" …" if count > 10 else "")
        behind = f"{count} record{'' if count == 1 else 's'}: {shown}" if count else "no record"
        # Plain text: the summary holds names and reasons from Discord.
        self.query_one("#alert-detail", Static).update(Text(f"{safe_text(a.summary, 600)}\n{where} · {behind}"))

    def action_open(self) -> None:
        table = self.query_one(DataTable)
        if not self.alerts or table.cursor_row is None:
            return
        alert = self.alerts[table.cursor_row]
        self.dismiss(alert.record_ids[-1] if alert.record_ids else None)

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        self.action_open()
