"""A one-line activity sparkline of the current filter over the last day (or its date range)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.containers import Horizontal


class ActivityBar(Horizontal):
    DEFAULT_CSS = """
    ActivityBar { height: 1; padding: 0 1; }
    """

    def show(self, counts: Sequence[int], label: str) -> None:
        # Imported with the first counts, which come after the first frame (as does statistics,
        # which it imports); until then the line is blank. Its height is fixed: nothing moves.
        from console.ui.widgets.sparkline import ActivityLabel, ActivitySparkline

        total = sum(counts)
        text, data = Text(f"{label} · {total:,}"), list(counts) or [0]
        if not self.children:
            self.mount(
                ActivityLabel(text, id="activity-label", shown_width=text.cell_len),
                ActivitySparkline(data, summary_function=max, id="activity"),
            )
            return
        shown = self.query_one(ActivityLabel)
        # Laid out again only if the label's width changes: a layout of the whole screen every
        # few seconds, under a flood, was the slowest frame a following console drew.
        shown.update(text, layout=text.cell_len != shown.shown_width)
        shown.shown_width = text.cell_len
        self.query_one(ActivitySparkline).data = data
