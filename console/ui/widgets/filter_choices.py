"""The filter sidebar's controls, mounted once the feed has drawn its records
(:meth:`FilterSidebar.show_choices`); this module, and the Textual widgets it is made of, load
then too."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Label, RadioButton, RadioSet, Static

from console.model.actions import CATEGORIES
from console.model.filters import DECISION_SOURCES, ENTRY_SOURCES, KINDS, REASON_CODES, Exclusions, Filter
from console.model.query import from_text_box, text_box
from console.model.sanitize import safe_text
from console.ui.widgets.choice_list import ChoiceList

RANGES = (("any", None), ("1h", 3_600_000), ("24h", 86_400_000), ("7d", 7 * 86_400_000), ("30d", 30 * 86_400_000))
KIND_LABELS = {"audit": "audit", "decision": "decision", "role_change": "role change", "gap": "gap"}
#: The three-state lists (their ids) → the filter's field each sets, kept or excluded.
_LISTS = {
    "kinds": "kinds",
    "categories": "categories",
    "results": "results",
    "reason-codes": "reason_codes",
    "sources": "sources",
}


@dataclass(frozen=True)
class SidebarChoice:
    """What the sidebar's controls say (the app folds it into its filter)."""

    kinds: frozenset[str]
    categories: frozenset[str]
    results: frozenset[str]
    range_ms: int | None
    newest_first: bool
    relative: bool
    reason_codes: frozenset[str]
    sources: frozenset[str]
    #: The words kept (the box's words without a leading "-").
    text: str
    #: The choices marked excluded (and the box's ``-word`` terms) (kinds, categories, results, reason codes, sources).
    exclude: Exclusions = Exclusions()


class FilterChoices(Vertical):
    """The sidebar's controls (mounted by :meth:`FilterSidebar.show_choices`)."""

    DEFAULT_CSS = """
    FilterChoices { height: auto; }
    FilterChoices Label { color: $text-muted; padding: 0 1; margin-top: 1; }
    FilterChoices RadioSet { border: none; padding: 0; height: auto; background: transparent; }
    FilterChoices #query { color: $text-muted; padding: 0 1; margin-top: 1; }
    FilterChoices Input { border: none; height: 1; padding: 0 1; margin: 0 1 0 1; background: $boost; }
    """

    class Changed(Message):
        """The person changed a control; the sidebar passes it on as ``FilterSidebar.Changed``."""

        def __init__(self, choice: SidebarChoice) -> None:
            super().__init__()
            self.choice = choice

    def __init__(self, on_mounted: Callable[[], None]) -> None:
        """``on_mounted``: called once the controls are mounted (the sidebar shows a pending
        filter then). A callback rather than a reference to the sidebar: it imports this module
        only when the controls are first shown, and this module must not import it back."""
        super().__init__()
        self._syncing = False
        self._on_mounted = on_mounted

    def compose(self) -> ComposeResult:
        yield Label("Kind")
        yield ChoiceList([(KIND_LABELS[k], k) for k in KINDS], id="kinds")
        yield Label("Decision")
        yield ChoiceList([("ALLOW", "ALLOW"), ("DENY", "DENY")], id="results")
        yield Label("Date range")
        with RadioSet(id="range"):
            for i, (label, _) in enumerate(RANGES):
                yield RadioButton(label, value=i == 0)
        yield Label("Order")
        with RadioSet(id="order"):
            yield RadioButton("newest first", value=True)
            yield RadioButton("oldest first")
        yield Label("Times")
        with RadioSet(id="times"):
            yield RadioButton("absolute", value=True)
            yield RadioButton("relative")
        yield Label("Text")
        yield Input(placeholder="words, then Enter", id="text")
        yield Label("Category")
        yield ChoiceList([(c, c) for c in CATEGORIES], id="categories")
        yield Label("Source")
        yield ChoiceList([(s, s) for s in DECISION_SOURCES + ENTRY_SOURCES], id="sources")
        yield Label("Reason code")
        yield ChoiceList([(r, r) for r in REASON_CODES], id="reason-codes")
        yield Static("", id="query", markup=False)

    def on_mount(self) -> None:
        self._on_mounted()

    def choice(self) -> SidebarChoice:
        """What the controls say."""
        kinds, categories, results, reason_codes, sources = (
            self.query_one(f"#{list_id}", ChoiceList) for list_id in _LISTS
        )
        kept_words, dropped_words = from_text_box(self.query_one("#text", Input).value)
        range_index = self.query_one("#range", RadioSet).pressed_index
        order = self.query_one("#order", RadioSet).pressed_index
        times = self.query_one("#times", RadioSet).pressed_index
        return SidebarChoice(
            kinds=kinds.included,
            categories=categories.included,
            results=results.included,
            range_ms=RANGES[max(0, range_index)][1],
            newest_first=order != 1,
            relative=times == 1,
            reason_codes=reason_codes.included,
            sources=sources.included,
            text=kept_words,
            exclude=Exclusions(
                text=dropped_words,
                kinds=kinds.excluded,
                categories=categories.excluded,
                results=results.excluded,
                reason_codes=reason_codes.excluded,
                sources=sources.excluded,
            ),
        )

    def show_filter(self, flt: Filter, query_text: str) -> None:
        """Reflect a filter set elsewhere (search bar, restore) without re-announcing it."""
        self._syncing = True
        try:
            for list_id, field in _LISTS.items():
                self.query_one(f"#{list_id}", ChoiceList).show(getattr(flt, field), getattr(flt.exclude, field))
            self.query_one("#text", Input).value = text_box(flt)
            order = self.query_one("#order", RadioSet)
            order.query(RadioButton)[0 if flt.newest_first else 1].value = True
        finally:
            self.call_after_refresh(self._end_sync)
        # Plain text, never markup: the query may hold text pasted from a hostile reason.
        self.query_one("#query", Static).update(Text("query: " + safe_text(query_text, 300)) if query_text else "")

    def _end_sync(self) -> None:
        self._syncing = False

    @on(ChoiceList.Changed)
    @on(RadioSet.Changed)
    @on(Input.Submitted, "#text")
    def _changed(self, event: object) -> None:
        if not self._syncing:
            self.post_message(self.Changed(self.choice()))
