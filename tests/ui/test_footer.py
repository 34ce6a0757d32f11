"""The footer rebuilds only when the keys it shows change (Textual's rebuilds on every bindings
signal: three times at startup, once per focus move)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.widgets._footer import FooterKey

from console.ui.app import ConsoleApp
from console.ui.widgets.keys_footer import KeysFooter

from .test_pilot import settle


def keys(app: ConsoleApp) -> list[FooterKey]:
    return list(app.query_one(KeysFooter).query(FooterKey))


async def test_footer_rebuilds_only_when_its_keys_change(make_app: Callable[..., ConsoleApp], seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        before = keys(app)
        assert "Follow" in [k.description for k in before]
        # The same keys signalled again and again (what focus moves and app focus send): no rebuild.
        for _ in range(3):
            app.screen.refresh_bindings()
        await settle(pilot)
        assert keys(app) == before
        assert all(k.is_attached for k in before)

        # The search bar has its own keys: the footer shows them, then the feed's again.
        await pilot.press("slash")
        await settle(pilot)
        searching = [k.description for k in keys(app)]
        assert "Close search" in searching
        assert "Follow" not in searching
        await pilot.press("escape")
        await settle(pilot)
        assert "Follow" in [k.description for k in keys(app)]
        assert not any(k.is_attached for k in before)  # rebuilt on a real change


async def test_footer_keys_come_after_the_first_frame(make_app: Callable[..., ConsoleApp], seeded_db: Path) -> None:
    """Building the keys would hold up the first frame: the console's first frame goes out
    without them, and they are shown right after it."""
    app = make_app(seeded_db)
    in_first_frame: list[int] = []
    first_frame_drawn = app.main_screen._first_frame_drawn

    def take_first_frame() -> None:
        in_first_frame.append(len(app.query(FooterKey)))
        first_frame_drawn()

    app.main_screen._first_frame_drawn = take_first_frame  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert in_first_frame == [0]
        assert "Follow" in [k.description for k in keys(app)]


async def test_footer_shows_its_keys_in_an_app_without_focus(
    make_app: Callable[..., ConsoleApp], seeded_db: Path
) -> None:
    """A browser tab's console starts without focus until its terminal is clicked: the footer
    shows the keys anyway (Textual's waits for focus, and it stayed empty)."""
    app = make_app(seeded_db)
    async with app.run_test(size=(120, 40)) as pilot:
        app.app_focus = False
        await settle(pilot)
        assert not app.app_focus
        shown = [k.description for k in keys(app)]
        assert "Quit" in shown  # the screen's keys: nothing in the app has focus
        assert "Help" in shown
