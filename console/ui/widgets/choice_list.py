"""A list of choices with three states each — kept, excluded, off — for the filter sidebar.

Enter, space or a click on a choice cycles it: off → ``[+]`` kept → ``[−]`` excluded → off. The
state is in the marker's glyph (and its colour too), so it reads the same in every theme and
without colour. Every label is the console's own text (kinds, categories, codes), never a name
from Discord.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

from textual import on
from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.widgets import OptionList

State = Literal["include", "exclude"] | None
#: The cycle a press walks.
NEXT: dict[State, State] = {None: "include", "include": "exclude", "exclude": None}
#: Each state's marker and the theme variable it is drawn in.
MARKERS: dict[State, tuple[str, str]] = {
    None: ("[ ]", "$text-muted"),
    "include": ("[+]", "$text-success"),
    "exclude": ("[−]", "$text-error"),
}


class ChoiceList(OptionList):
    DEFAULT_CSS = """
    ChoiceList { height: auto; border: none; padding: 0; background: transparent;
        text-wrap: nowrap; text-overflow: ellipsis; }
    ChoiceList:blur > .option-list--option-highlighted { background: transparent; }
    """
    BINDINGS = [Binding("space", "select", "Cycle kept / excluded / off", show=False)]

    class Changed(Message):
        """A choice changed state (by a press; never when set with :meth:`show`)."""

        def __init__(self, choice_list: ChoiceList) -> None:
            super().__init__()
            self.choice_list = choice_list

        @property
        def control(self) -> ChoiceList:
            return self.choice_list

    def __init__(self, choices: Sequence[tuple[str, str]], *, id: str | None = None) -> None:
        """``choices``: (label, value) in the order shown."""
        self._choices = list(choices)
        self._states: dict[str, State] = {}
        super().__init__(*(self._prompt(label, None) for label, _ in choices), id=id)

    @staticmethod
    def _prompt(label: str, state: State) -> Content:
        marker, style = MARKERS[state]
        return Content.assemble((marker, style), " ", label)

    def index_of(self, value: str) -> int:
        """The position of the choice of ``value``."""
        return [v for _, v in self._choices].index(value)

    def _values_in(self, state: State) -> frozenset[str]:
        return frozenset(v for v, s in self._states.items() if s == state)

    @property
    def included(self) -> frozenset[str]:
        return self._values_in("include")

    @property
    def excluded(self) -> frozenset[str]:
        return self._values_in("exclude")

    def _set(self, index: int, state: State) -> None:
        label, value = self._choices[index]
        if self._states.get(value) != state:
            self._states[value] = state
            self.replace_option_prompt_at_index(index, self._prompt(label, state))

    def show(self, included: Iterable[str], excluded: Iterable[str]) -> None:
        """Set every choice's state (without announcing it)."""
        kept, dropped = set(included), set(excluded)
        for index, (_, value) in enumerate(self._choices):
            self._set(index, "include" if value in kept else "exclude" if value in dropped else None)

    @on(OptionList.OptionSelected)
    def _cycle(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        value = self._choices[event.option_index][1]
        self._set(event.option_index, NEXT[self._states.get(value)])
        self.post_message(self.Changed(self))
