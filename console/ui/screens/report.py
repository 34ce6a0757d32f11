"""The report screen (``R``, or the palette's "Report: last 7 days"): the same numbers as
``audit-console report``, computed in a worker off the UI loop and drawn as rich tables of plain,
sanitised text (a hostile name is shown, never run as markup)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from console.model.sanitize import safe_text
from console.model.times import minute_in, zone_label
from console.reports.compute import Person, Report, compute
from console.reports.render import summary_line

DAY_MS = 86_400_000
#: Long lists are cut on screen (the command's Markdown and JSON list everything).
SHOWN = 10


def _who(p: Person) -> Text:
    if p.id is None:
        return Text("(no actor)", "dim")
    return Text(safe_text(p.name, 40)) if p.name else Text(str(p.id), "dim")


def _table(title: str, head: Sequence[str], body: list[list[Text | str]], empty: str) -> RenderableType:
    more = len(body) - SHOWN
    body = body[:SHOWN] if more > 0 else body
    if not body:
        return Text.assemble((title, "bold"), "\n", (empty, "dim"), "\n")
    table = Table(
        title=Text(title, "bold"),
        title_justify="left",
        box=None,
        padding=(0, 2, 0, 0),
        header_style="bold",
        show_edge=False,
    )
    for h in head:
        table.add_column(h, justify="right" if h in ("count", "type") else "left", no_wrap=True)
    for row in body:
        table.add_row(*(cell if isinstance(cell, Text) else Text(cell) for cell in row))
    if more > 0:
        return Group(table, Text(f"… and {more} more (audit-console report lists them all)", "dim"), Text(""))
    return Group(table, Text(""))


def render(r: Report, tz: dt.tzinfo | None = dt.UTC) -> RenderableType:
    """The report as rich renderables (plain Text cells only); its period in ``tz`` (the console's
    zone; None: the system's)."""
    zone = zone_label(tz, r.until_ms)
    head = Text.assemble(
        (f"{minute_in(r.since_ms, tz)} → {minute_in(r.until_ms, tz)} {zone}", "bold"),
        "\n",
        (summary_line(r), ""),
        "\n",
    )
    parts: list[RenderableType] = [head]
    parts.append(
        _table(
            "Actions per moderator",
            ["moderator", "id", "count"],
            [[_who(p), str(p.id or ""), str(p.count)] for p in r.by_moderator],
            "No actions.",
        )
    )
    if r.inactive is None:
        parts.append(
            Text.assemble(
                ("Inactive staff", "bold"), "\n", ("Unknown: no stored guild state names the staff.", "dim"), "\n"
            )
        )
    else:
        parts.append(
            _table(
                "Inactive staff",
                ["staff member", "id"],
                [[_who(p), str(p.id)] for p in r.inactive],
                "None: every staff member acted.",
            )
        )
    parts.append(
        _table(
            "Actions per type",
            ["action", "type", "count"],
            [[safe_text(name, 60), str(t), str(n)] for t, name, n in r.by_type],
            "No actions.",
        )
    )
    parts.append(
        _table(
            "Denials per capability",
            ["capability", "count"],
            [[safe_text(c, 60), str(n)] for c, n in r.denials_by_capability],
            "No denials.",
        )
    )
    parts.append(
        _table(
            "Denials per person",
            ["person", "id", "count"],
            [[_who(p), str(p.id), str(p.count)] for p in r.denials_by_person],
            "No denials.",
        )
    )
    parts.append(
        _table(
            "Break-glass and overrides",
            ["person", "id", "reason code", "count"],
            [[_who(p), str(p.id), code, str(p.count)] for p, code in r.escalations_by_person],
            f"None. Break-glass sessions started: {len(r.break_glass_sessions)}.",
        )
    )
    if r.alerts_recorded:
        parts.append(
            _table(
                "Alerts",
                ["rule", "count"],
                [[safe_text(k, 60), str(n)] for k, n in r.alerts_by_rule],
                "No alerts raised.",
            )
        )
    else:
        parts.append(Text.assemble(("Alerts", "bold"), "\n", ("Not recorded by this store.", "dim"), "\n"))
    parts.append(
        _table(
            "Role changes per final state",
            ["state", "count"],
            [[s, str(n)] for s, n in r.role_changes_by_state.items()],
            "No role changes.",
        )
    )
    return Group(*parts)


class ReportScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    ReportScreen { align: center middle; }
    ReportScreen > Vertical { width: 90%; max-width: 110; height: 90%; border: round $primary;
        background: $surface; padding: 0 1; }
    ReportScreen #report-body { height: auto; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "dismiss", "Close")]

    def __init__(
        self,
        store: Any,
        *,
        days: int,
        now_ms: Callable[[], int],
        guild_ids: Sequence[int] = (),
        tz: dt.tzinfo | None = dt.UTC,
    ) -> None:
        """``tz``: the zone its period is shown in (the console's; None: the system's)."""
        super().__init__()
        self.store = store
        self.days = days
        self.now_ms = now_ms
        self.guild_ids = tuple(guild_ids)
        self.tz = tz
        self.report: Report | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                Text(
                    f"Report — last {self.days} days (Esc to close; "
                    f"`audit-console report` writes it as Markdown or JSON)",
                    "bold",
                )
            )
            with VerticalScroll():
                yield Static(Text("Counting…", "dim"), id="report-body")

    def on_mount(self) -> None:
        self.run_worker(self._load(), exclusive=True, group="report")

    async def _load(self) -> None:
        now = self.now_ms()
        report = await compute(
            self.store,
            since_ms=now - self.days * DAY_MS,
            until_ms=now,
            name_of=self.store.name_of,
            guild_ids=self.guild_ids,
            now_ms=now,
        )
        self.report = report
        self.query_one("#report-body", Static).update(render(report, self.tz))
