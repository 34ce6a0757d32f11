"""A one-line activity sparkline of the current filter over the last day (or its date range)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Sparkline, Static


class ActivityBar(Horizontal):
    DEFAULT_CSS = """
    ActivityBar { height: 1; padding: 0 1; }
    ActivityBar #activity-label { width: auto; color: $text-muted; padding-right: 1; }
    ActivityBar Sparkline { width: 1fr; height: 1; }
    ActivityBar Sparkline > .sparkline--max-color { color: $accent; }
    ActivityBar Sparkline > .sparkline--min-color { color: $primary 50%; }
    """

    def compose(self) -> ComposeResult:
        yield Static(Text("activity"), id="activity-label")
        yield Sparkline([0], summary_function=max, id="activity")

    def show(self, counts: Sequence[int], label: str) -> None:
        total = sum(counts)
        self.query_one("#activity-label", Static).update(Text(f"{label} · {total:,}"))
        self.query_one(Sparkline).data = list(counts) or [0]
