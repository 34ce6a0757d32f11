"""DetailDrawer: pilot tests and snapshots of a tiny harness app that mounts only the drawer."""

from __future__ import annotations

import io
from collections.abc import Sequence

from details_helpers import (
    HOSTILE,
    MALLORY,
    NOW,
    STYLES,
    attempts,
    decision,
    gap,
    member_role_update,
    name_of,
    overwrite_update,
    role_change,
    role_update,
    stored,
    timeout_set,
)
from rich.console import Console, Group
from rich.text import Text
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Static

from console.model.records import Attempt
from console.ui.widgets.drawer import HINT, DetailDrawer

SIZE = (100, 30)


class DrawerHarness(App[None]):
    """Only the drawer, with fixed names, styles and clock."""

    CSS = "Screen { layout: vertical; }"

    def __init__(self, record: object | None = None, record_attempts: Sequence[Attempt] = ()) -> None:
        super().__init__()
        self.record = record
        self.record_attempts = record_attempts

    def compose(self) -> ComposeResult:
        yield DetailDrawer(name_of=name_of, styles=STYLES, clock=lambda: NOW, id="drawer")

    def on_mount(self) -> None:
        drawer = self.query_one(DetailDrawer)
        drawer.focus()
        if self.record is not None:
            drawer.show(self.record, self.record_attempts)


def body(app: App[None]) -> Static:
    return app.query_one("#detail-body", Static)


def shown_text(app: App[None]) -> str:
    """The drawer's content as plain text, rendered the way the Static would."""
    console = Console(width=200, record=True, color_system=None, file=io.StringIO())
    console.print(body(app).content)  # type: ignore[arg-type]
    return console.export_text()


# -- behaviour -----------------------------------------------------------------------------------


async def test_empty_drawer_shows_the_hint_and_border_title() -> None:
    app = DrawerHarness()
    async with app.run_test(size=SIZE):
        drawer = app.query_one(DetailDrawer)
        assert drawer.border_title == "Details"
        assert drawer.record is None
        assert HINT in shown_text(app)
        assert HINT == "Select a row and press Enter"


async def test_show_renders_a_rich_renderable_and_clear_goes_back_to_the_hint() -> None:
    app = DrawerHarness()
    async with app.run_test(size=SIZE) as pilot:
        drawer = app.query_one(DetailDrawer)
        drawer.show(role_update())
        await pilot.pause()
        assert isinstance(body(app).content, Group)  # never a markup string
        assert "ROLE_UPDATE" in shown_text(app)
        assert "+ADMINISTRATOR ⚠" in shown_text(app)
        drawer.clear()
        await pilot.pause()
        assert drawer.record is None
        assert isinstance(body(app).content, Text)
        assert HINT in shown_text(app)


async def test_j_toggles_raw_json() -> None:
    app = DrawerHarness(role_update())
    async with app.run_test(size=SIZE) as pilot:
        drawer = app.query_one(DetailDrawer)
        assert not drawer.show_raw
        assert "Raw JSON" not in shown_text(app)
        await pilot.press("j")
        assert drawer.show_raw
        assert "Raw JSON" in shown_text(app)
        await pilot.press("j")
        assert "Raw JSON" not in shown_text(app)
        drawer.action_toggle_raw()
        assert drawer.show_raw


async def test_names_and_styles_can_be_set_later_by_the_app() -> None:
    app = DrawerHarness()
    async with app.run_test(size=SIZE) as pilot:
        drawer = app.query_one(DetailDrawer)
        drawer.name_of = lambda kind, ident: None
        drawer.palette = None  # read the running theme instead
        drawer.show(member_role_update())
        await pilot.pause()
        assert "Target 2002" in shown_text(app)
        drawer.name_of = name_of
        drawer.refresh_details()
        assert "Target Bob (2002)" in shown_text(app)


async def test_role_change_attempts_are_passed_through() -> None:
    app = DrawerHarness()
    async with app.run_test(size=SIZE) as pilot:
        app.query_one(DetailDrawer).show(role_change(), attempts())
        await pilot.pause()
        text = shown_text(app)
        assert "rate limited, retry after 1.2 s" in text
        assert "(in 4s)" in text  # the drawer's clock, not the wall clock


async def test_hostile_record_is_inert_in_the_widget() -> None:
    entry = stored(24, target_id=str(MALLORY), reason=HOSTILE)
    app = DrawerHarness(entry)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("j")
        text = shown_text(app)
        assert "[@click=app.quit]x[/]" in text
        for bad in ("\x1b", "\x9b", "\u202e", "\u200b"):
            assert bad not in text
        # Clicking the would-be link does nothing: the app is still running.
        await pilot.click(DetailDrawer, offset=(10, 5))
        assert app.is_running


# -- snapshots -----------------------------------------------------------------------------------


def test_snapshot_role_update(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(DrawerHarness(role_update()), terminal_size=SIZE)


def test_snapshot_channel_overwrite_update(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(DrawerHarness(overwrite_update()), terminal_size=SIZE)


def test_snapshot_member_role_update(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(DrawerHarness(member_role_update()), terminal_size=SIZE)


def test_snapshot_timeout(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(DrawerHarness(timeout_set()), terminal_size=SIZE)


def test_snapshot_decision(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(DrawerHarness(decision()), terminal_size=SIZE)


def test_snapshot_role_change_with_attempts(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(DrawerHarness(role_change(), attempts()), terminal_size=SIZE)


def test_snapshot_gap(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(DrawerHarness(gap()), terminal_size=SIZE)


def test_snapshot_raw_json(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def raw_on(pilot: Pilot[None]) -> None:
        await pilot.press("j")
        await pilot.press("end")
        await pilot.pause()

    assert snap_compare(DrawerHarness(member_role_update()), terminal_size=SIZE, run_before=raw_on)


def test_snapshot_empty(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(DrawerHarness(), terminal_size=SIZE)
