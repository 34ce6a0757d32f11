"""The activity bar's parts, built with its first counts (after the first frame): their CSS is
parsed then, not before the first frame."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Sparkline, Static


class ActivityLabel(Static):
    DEFAULT_CSS = """
    ActivityLabel { width: auto; color: $text-muted; padding-right: 1; }
    """

    def __init__(self, text: Text, *, id: str, shown_width: int) -> None:
        super().__init__(text, id=id)
        #: The cells its text takes (its width, less the padding): a text as wide needs no layout.
        self.shown_width = shown_width


class ActivitySparkline(Sparkline):
    DEFAULT_CSS = """
    ActivitySparkline { width: 1fr; height: 1; }
    ActivitySparkline > .sparkline--max-color { color: $accent; }
    ActivitySparkline > .sparkline--min-color { color: $primary 50%; }
    """
