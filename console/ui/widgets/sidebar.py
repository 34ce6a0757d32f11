"""The filter sidebar: kind, category, decision, source, reason code (each choice kept, excluded
or off: ``ChoiceList``), date range, order and time style.

It edits only those fields of the app's filter (and their exclusions); actor, target, role,
capability and the query's other exclusions come from the search bar (``/``) or one-key picks on
the row under the cursor.
Every label here is our own text, never a name from Discord.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.containers import VerticalScroll
from textual.message import Message

from console.model.filters import Filter

if TYPE_CHECKING:
    from console.ui.widgets.filter_choices import FilterChoices, SidebarChoice


class FilterSidebar(VerticalScroll, can_focus=False):
    DEFAULT_CSS = """
    FilterSidebar { width: 24; border: round $primary 60%; border-title-align: left; padding: 0; }
    FilterSidebar:focus-within { border: round $primary; }
    """

    class Changed(Message):
        def __init__(self, choice: SidebarChoice) -> None:
            super().__init__()
            self.choice = choice

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.border_title = "Filters"
        #: A filter shown before the controls were mounted: shown once they are.
        self._pending: tuple[Filter, str] | None = None
        self.ready = False
        self._controls: FilterChoices | None = None

    def show_choices(self) -> None:
        """Mount the controls. The app does it once the feed has drawn its records: they are
        half the first screen's widgets, and the Textual widgets they are made of a fifth of its
        imports. The bordered, titled pane is there from the first frame, so nothing moves when
        they arrive."""
        from console.ui.widgets.filter_choices import FilterChoices

        if self._controls is None:
            self._controls = FilterChoices(on_mounted=self._choices_mounted)
            self.mount(self._controls)

    def on_filter_choices_changed(self, event: FilterChoices.Changed) -> None:
        """By name, not ``@on``: the controls' module loads only when they are first shown."""
        event.stop()
        self.post_message(self.Changed(event.choice))

    def _choices_mounted(self) -> None:
        self.ready = True
        if self._pending is not None:
            flt, query_text = self._pending
            self._pending = None
            self.show_filter(flt, query_text)

    def choice(self) -> SidebarChoice:
        """What the controls say (only once they are mounted: see ``ready``)."""
        assert self._controls is not None
        assert self.ready
        return self._controls.choice()

    def show_filter(self, flt: Filter, query_text: str) -> None:
        """Reflect a filter set elsewhere (search bar, restore) without re-announcing it."""
        if not self.ready or self._controls is None:
            self._pending = (flt, query_text)
            return
        self._controls.show_filter(flt, query_text)
