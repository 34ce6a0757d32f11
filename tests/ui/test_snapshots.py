"""Every pane and state, at 120×40 and 80×24, in every shipped theme. Deterministic: seeded
data, frozen clock, UTC, no blinking cursor."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from console.model.notes import Note
from console.model.snowflake import from_ms
from console.ui.app import ConsoleApp
from console.ui.noting import record_words
from console.ui.screens.note_dialog import NoteDialog
from console.ui.theming import load_themes
from console.ui.widgets.choice_list import ChoiceList
from console.ui.widgets.feed import FeedView

from .seed import FROZEN_MS

THEMES = sorted(t.name for t in load_themes().loaded)
SIZES = [(120, 40), (80, 24)]


async def _settle(pilot: Pilot[Any]) -> None:
    for _ in range(3):
        await pilot.pause(0.05)
        await pilot.app.workers.wait_for_complete()
    await pilot.pause(0.05)


async def _no_blink(pilot: Pilot[Any]) -> None:
    for box in pilot.app.query(Input):
        box.cursor_blink = False


async def _go_to(pilot: Pilot[Any], record_id: int) -> None:
    await _settle(pilot)
    feed = pilot.app.query_one(FeedView)
    assert await feed.jump_to_id(record_id)
    await _settle(pilot)


def state_live(ids: dict[str, int]) -> Callable[[Pilot[Any]], Any]:
    return _settle


def state_paused(ids: dict[str, int]) -> Callable[[Pilot[Any]], Any]:
    async def run(pilot: Pilot[Any]) -> None:
        await _settle(pilot)
        await pilot.press("down", "down", "down")
        app: ConsoleApp = pilot.app  # type: ignore[assignment]
        await app.store.add_entries(
            [
                {
                    "id": str(from_ms(FROZEN_MS + 1000 * i)),
                    "action_type": 22,
                    "user_id": "1",
                    "target_id": "2",
                    "reason": f"wave {i}",
                }
                for i in range(1, 8)
            ],
            source="gateway",
            guild_id=ids["guild"],
            received_at=FROZEN_MS,
        )
        await pilot.pause(0.3)
        await _settle(pilot)

    return run


def state_filtered(ids: dict[str, int]) -> Callable[[Pilot[Any]], Any]:
    async def run(pilot: Pilot[Any]) -> None:
        await _settle(pilot)
        await pilot.press("slash")
        await _no_blink(pilot)
        box = pilot.app.query_one("#search-input", Input)
        box.value = "category:moderation,role since:30d"
        await pilot.press("enter")
        await _settle(pilot)

    return run


def state_search_error(ids: dict[str, int]) -> Callable[[Pilot[Any]], Any]:
    async def run(pilot: Pilot[Any]) -> None:
        await _settle(pilot)
        await pilot.press("slash")
        await _no_blink(pilot)
        box = pilot.app.query_one("#search-input", Input)
        box.value = "action:MEMBER_BAN_ADD since:yesterday"
        box.cursor_position = len(box.value)
        await pilot.press("enter")
        await _settle(pilot)

    return run


def state_sidebar_three_states(ids: dict[str, int]) -> Callable[[Pilot[Any]], Any]:
    """Each sidebar list with a choice in each state, set by presses: gaps excluded, DENY
    excluded, moderation kept, automod excluded."""

    async def run(pilot: Pilot[Any]) -> None:
        await _settle(pilot)
        if pilot.app.query_one("#sidebar").has_class("-hidden"):
            await pilot.press("s")
            await _settle(pilot)
        for list_id, value, presses in (
            ("#kinds", "gap", 2),
            ("#results", "DENY", 2),
            ("#categories", "moderation", 1),
            ("#categories", "automod", 2),
        ):
            choices = pilot.app.query_one(list_id, ChoiceList)
            choices.focus()
            choices.highlighted = choices.index_of(value)
            for _ in range(presses):
                await pilot.press("enter")
            await _settle(pilot)
        pilot.app.query_one(FeedView).focus()  # no highlight in the lists: only the states show
        await _settle(pilot)

    return run


def state_drawer(key: str) -> Callable[[dict[str, int]], Callable[[Pilot[Any]], Any]]:
    def make(ids: dict[str, int]) -> Callable[[Pilot[Any]], Any]:
        async def run(pilot: Pilot[Any]) -> None:
            await _go_to(pilot, ids[key])
            await pilot.press("enter")
            await _settle(pilot)

        return run

    return make


#: A note with hostile text in it: the drawer and the dialog show it sanitised, as plain text.
NOTE_TEXT = "Raid alt; appeal denied by the team. [@click=app.quit]x[/] \x1b]0;pwned\x07 see ticket #12"


async def _noted(pilot: Pilot[Any], ids: dict[str, int]) -> Note:
    """A note on the hostile ban entry, written by the seeded decision's moderator."""
    app: ConsoleApp = pilot.app  # type: ignore[assignment]
    await _settle(pilot)
    decision = await app.store.get_decision(ids["decision"])
    assert decision is not None
    at = FROZEN_MS - 90_000
    note = Note(
        from_ms(at) | 5, ids["guild"], "audit", ids["hostile"], None, decision.actor_id, None, at, "add", None,
        NOTE_TEXT, decision.id,
    )  # fmt: skip
    await app.store.add_note(note)
    await _settle(pilot)
    return note


def state_drawer_note(ids: dict[str, int]) -> Callable[[Pilot[Any]], Any]:
    async def run(pilot: Pilot[Any]) -> None:
        await _noted(pilot, ids)
        await _go_to(pilot, ids["hostile"])
        await pilot.press("enter")
        await _settle(pilot)

    return run


def state_note_dialog(ids: dict[str, int]) -> Callable[[Pilot[Any]], Any]:
    async def run(pilot: Pilot[Any]) -> None:
        app: ConsoleApp = pilot.app  # type: ignore[assignment]
        note = await _noted(pilot, ids)
        await _go_to(pilot, ids["hostile"])
        # Offline there is no gatekeeper, so `n` says so (tests/ui/test_notes_ui.py drives it
        # live); the dialog is the same screen.
        record = app.query_one(FeedView).current
        app.push_screen(NoteDialog(about=record_words(record, app), operator="Head Mod", notes=[note]))
        await _settle(pilot)
        app.screen.query_one(TextArea).cursor_blink = False
        await pilot.press(*"Confirmed with the raid team")
        await _settle(pilot)

    return run


def state_help(ids: dict[str, int]) -> Callable[[Pilot[Any]], Any]:
    async def run(pilot: Pilot[Any]) -> None:
        await _settle(pilot)
        await pilot.press("question_mark")
        await _settle(pilot)

    return run


STATES: dict[str, Callable[[dict[str, int]], Callable[[Pilot[Any]], Any]]] = {
    "live": state_live,
    "paused": state_paused,
    "filtered": state_filtered,
    "search_error": state_search_error,
    "sidebar_three_states": state_sidebar_three_states,
    "drawer_audit": state_drawer("role_update"),
    "drawer_decision": state_drawer("decision"),
    "drawer_role_change": state_drawer("role_change_0"),
    "drawer_gap": state_drawer("gap"),
    "drawer_note": state_drawer_note,
    "note_dialog": state_note_dialog,
    "help": state_help,
}


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", SIZES, ids=["120x40", "80x24"])
@pytest.mark.parametrize("state", list(STATES))
def test_screen(
    snap_compare: Any,
    make_app: Callable[..., ConsoleApp],
    seeded_db: Path,
    ids: dict[str, int],
    state: str,
    size: tuple[int, int],
    theme: str,
) -> None:
    app = make_app(seeded_db, theme=theme)
    assert snap_compare(app, terminal_size=size, run_before=STATES[state](ids))


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", SIZES, ids=["120x40", "80x24"])
def test_empty_store(
    snap_compare: Any, make_app: Callable[..., ConsoleApp], tmp_path: Path, size: tuple[int, int], theme: str
) -> None:
    app = make_app(tmp_path / "empty.db", theme=theme)
    assert snap_compare(app, terminal_size=size, run_before=_settle)
