"""A one-line activity sparkline of the current filter over the last day (or its date range)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.containers import Horizontal
from textual.widgets import Static


class ActivityBar(Horizontal):
    DEFAULT_CSS = """
    ActivityBar { height: 1; padding: 0 1; }
    ActivityBar #activity-label { width: auto; color: $text-muted; padding-right: 1; }
    ActivityBar Sparkline { width: 1fr; height: 1; }
    ActivityBar Sparkline > .sparkline--max-color { color: $accent; }
    ActivityBar Sparkline > .sparkline--min-color { color: $primary 50%; }
    """

    def show(self, counts: Sequence[int], label: str) -> None:
        # Imported with the first counts, which come after the first frame (as does statistics,
        # which it imports); until then the line is blank. Its height is fixed: nothing moves.
        from textual.widgets import Sparkline

        total = sum(counts)
        text, data = Text(f"{label} · {total:,}"), list(counts) or [0]
        if not self.children:
            self.mount(Static(text, id="activity-label"), Sparkline(data, summary_function=max, id="activity"))
            return
        self.query_one("#activity-label", Static).update(text)
        self.query_one(Sparkline).data = data
