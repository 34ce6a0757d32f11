"""The help screen (``?`` / F1): every key, grouped, and the query language."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from console.model.query import FIELDS

KEYS: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "Feed",
        [
            ("↑ ↓ / k j", "move"),
            ("PgUp PgDn", "page"),
            ("Home", "top of the list"),
            ("End / f", "back to the newest and follow"),
            ("Enter", "details of the row"),
            ("m", "bookmark the row"),
            ("[ ]", "previous / next bookmark"),
        ],
    ),
    (
        "Filter",
        [
            ("/", "search bar: type a query"),
            ("a", "only this actor"),
            ("t", "only this target"),
            ("c", "clear the filter"),
            ("> <", "next / previous find match"),
        ],
    ),
    (
        "Panes",
        [
            ("s", "show/hide filters; in them Enter/Space/click cycles a choice: [+] kept, [−] excluded, [ ] off"),
            ("p", "show/hide pending role changes"),
            ("Esc", "close details"),
            ("j (in details)", "raw JSON on/off"),
            ("+ −", "wider / narrower sidebar"),
            ("{ }", "shorter / taller details"),
            ("Tab (in search)", "take the suggestion"),
        ],
    ),
    (
        "Act",
        [
            ("g", "grant or revoke a role (member under the cursor); the policy decides first"),
            ("w", "why: explain what a member may (or may not) do"),
            (
                "u",
                "member view: the row's person (a/t picks actor or target); their names over time,"
                " standing, counts, and one timeline (Enter: details, Esc: back)",
            ),
            ("U", "member view of a username or id"),
            (
                "n",
                "note on the row, here or in the member view: add one, or edit or remove one (kept in"
                " the chain); the policy decides",
            ),
            ("Tab to Pending, ↑ ↓", "choose a pending role change"),
            ("r / x", "retry it now / cancel it"),
        ],
    ),
    (
        "Console",
        [
            ("Ctrl+P", "command palette (jump to id, theme, export, panes)"),
            ("z", "times in UTC / back in the timezone setting's zone (the header says which)"),
            ("? / F1", "this help"),
            ("!", "alerts: every alert raised (Enter jumps to its record)"),
            ("R", "report: the last 7 days (who did what, denials, break-glass, alerts)"),
            ("e", "export: CSV, JSON or JSON Lines of the filter, the bookmarks or the row"),
            ("q", "quit"),
        ],
    ),
]


def help_renderable() -> Table:
    table = Table(box=None, show_header=False, padding=(0, 2, 0, 0))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for section, keys in KEYS:
        table.add_row(Text(section, "bold underline"), Text(""))
        for key, what in keys:
            table.add_row(Text(key), Text(what))
        table.add_row(Text(""), Text(""))
    table.add_row(Text("Query", "bold underline"), Text(""))
    for name, what in FIELDS.items():
        table.add_row(Text(f"{name}:"), Text(what))
    table.add_row(Text("words"), Text('free text in reasons, names, changes and notes; "a phrase", prefix*'))
    table.add_row(Text("-field:a,b"), Text("exclude: none of them (-category:automod, -actor:Carl-bot)"))
    table.add_row(Text('-word -"a phrase"'), Text("exclude records whose text matches"))
    table.add_row(Text("is:bot -is:bot"), Text("only / no records by bot accounts (the stored guild state's)"))
    table.add_row(Text("precedence"), Text("commas OR inside a field; fields AND; -field is NOT(any of its values)"))
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 84; max-width: 100%; height: 90%; border: round $primary;
        background: $surface; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = "Help"
            yield Static(help_renderable())
