"""The feed: a Line-API list over the store (never a DataTable or a list of every row).

For now it shows a bounded window of the newest entries and repaints once per coalesced batch of
commits; the full virtual list with keyset paging and a sparse index comes with the console issue.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from console.store import StoredEntry, Store
from console.ui.rows import entry_row

WINDOW = 1000


class FeedView(ScrollView, can_focus=True):
    DEFAULT_CSS = """
    FeedView { height: 1fr; }
    """

    def __init__(self, store: Store, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.store = store
        self._rows: list[StoredEntry] = []
        self._cache: dict[int, Text] = {}

    async def reload(self) -> None:
        self._rows = await self.store.page(limit=WINDOW)
        self._cache.clear()
        self.virtual_size = Size(self.size.width, len(self._rows))
        self.refresh()

    @property
    def row_count(self) -> int:
        return len(self._rows)

    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        width = self.size.width
        if index >= len(self._rows):
            return Strip.blank(width)
        row = self._rows[index]
        text = self._cache.get(row.id)
        if text is None:
            text = entry_row(row, self.store.name_of, {})
            self._cache[row.id] = text
        segments = list(text.render(self.app.console))
        strip = Strip(segments).crop(0, width)
        return strip.extend_cell_length(width, Style()) if strip.cell_length < width else strip

    def lines_as_text(self) -> list[str]:
        """What the rows say, for tests."""
        return [entry_row(r, self.store.name_of, {}).plain for r in self._rows]


__all__ = ["FeedView", "Segment"]
