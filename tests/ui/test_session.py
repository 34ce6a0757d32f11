"""Restarting the console restores the session: the last filter (an open-ended window stays "the
last N"), bookmarks, pane layout and theme; filters saved by name come back through the palette."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

from console.model.filters import Exclusions, Filter
from console.store import Store
from console.ui import session, session_state
from console.ui.app import ConsoleApp
from console.ui.widgets.drawer import DetailDrawer
from console.ui.widgets.feed import FeedView
from console.ui.widgets.sidebar import FilterSidebar

from .test_pilot import first_audit_row, settle


async def test_restart_restores_filter_bookmarks_layout_and_theme(
    make_app: Callable[..., ConsoleApp], seeded_db: Path
) -> None:
    app = make_app(seeded_db, remember=True)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        row = await first_audit_row(pilot)
        await pilot.press("m")  # bookmark it
        await pilot.press("a")  # only this actor
        await settle(pilot)
        await app.main_screen.apply_filter(app.main_screen.filter.with_(since_ms=app.clock() - 7 * 86_400_000))
        await pilot.press("s", "plus", "plus")  # hide the filters (wider first: remembered too)
        await pilot.press("right_curly_bracket")
        app.switch_theme("console-high-contrast")
        app.main_screen.save_filter_as("that actor, 7 days")
        await settle(pilot)
        before = (app.main_screen.filter, set(app.query_one(FeedView).bookmarks))
        drawer_height = app.query_one(DetailDrawer).styles.height.value

    again = make_app(seeded_db, remember=True, theme="console-dark")
    again.theme = session_state.load().get("theme", "console-dark")  # what __init__ does when it remembers
    async with again.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        assert again.main_screen.filter == before[0]
        assert again.main_screen.filter.actor_ids == {row.actor_id}
        assert set(again.query_one(FeedView).bookmarks) == before[1]
        assert before[1]
        sidebar = again.query_one(FilterSidebar)
        assert sidebar.has_class("-hidden")
        assert sidebar.styles.width.value == 28  # 24 + 2 + 2
        await pilot.press("enter")  # the drawer is built when first opened, at the height it had
        await settle(pilot)
        drawer = again.query_one(DetailDrawer)
        assert drawer.has_class("-open")
        assert drawer.outer_size.height == drawer_height == 17
        await pilot.press("escape")
        assert again.theme == "console-high-contrast"
        assert "actor:" in (again.query_one(FeedView).border_title or "")

        await again.main_screen.apply_filter(Filter())
        assert "that actor, 7 days" in again.main_screen.saved_filter_names()
        await again.main_screen.use_saved_filter("that actor, 7 days")
        await settle(pilot)
        assert again.main_screen.filter.actor_ids == {row.actor_id}

    # A session that never opens the drawer keeps its height for the next one.
    third = make_app(seeded_db, remember=True)
    async with third.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        await pilot.press("s")  # a change of view, saved as it happens
        await settle(pilot)
    view = session.view_of(session_state.load(), str(seeded_db))
    assert view["layout"]["drawer_height"] == 17


def test_an_open_window_stays_relative_and_bad_data_is_ignored() -> None:
    week = 7 * 86_400_000
    saved = session.filter_to_json(Filter(since_ms=1_000_000 - week, kinds=frozenset({"audit"})), now_ms=1_000_000)
    assert saved == {"kinds": ["audit"], "last_ms": week}
    later = session.filter_from_json(saved, now_ms=5_000_000)
    assert later == Filter(since_ms=5_000_000 - week, kinds=frozenset({"audit"}))
    fixed = Filter(since_ms=10, until_ms=20)
    assert session.filter_from_json(session.filter_to_json(fixed, 99), 12345) == fixed
    noted = Filter(note_words=frozenset({"raid"}), exclude=Exclusions(note_words=frozenset({"handled", "two words"})))
    assert session.filter_from_json(session.filter_to_json(noted, 99), 12345) == noted
    for bad in (
        None,
        [],
        {"actor_ids": "x"},
        {"actor_ids": ["abc"]},
        {"text": 5},
        {"since_ms": True},
        {"exclude": {"note_words": "handled"}},
    ):
        assert session.filter_from_json(bad, 0) is None
    assert session.bookmarks_from_json([["audit", 5], ["x"], "y", ["gap", True]]) == {("audit", 5)}
    assert session.Layout.from_json({"sidebar": "yes", "sidebar_width": 999, "drawer_height": 9}) == session.Layout(
        drawer_height=9
    )


async def test_an_unreadable_session_file_is_ignored(make_app: Callable[..., ConsoleApp], seeded_db: Path) -> None:
    session_state.state_file().parent.mkdir(parents=True, exist_ok=True)
    session_state.state_file().write_text("{not json")
    app = make_app(seeded_db, remember=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.main_screen.filter == Filter()


async def test_restored_filter_shows_in_the_sidebar_controls(
    make_app: Callable[..., ConsoleApp], seeded_db: Path
) -> None:
    """The controls mount a frame after the screen: a filter restored before that still shows."""
    from textual.widgets import Input, RadioSet

    from console.ui.widgets.choice_list import ChoiceList

    app = make_app(seeded_db, remember=True)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        await app.main_screen.apply_filter(
            Filter(kinds=frozenset({"audit"}), categories=frozenset({"role"}), text="raid", newest_first=False),
            'kind:audit category:role "raid"',
        )
        await settle(pilot)

    again = make_app(seeded_db, remember=True)
    async with again.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        sidebar = again.query_one(FilterSidebar)
        assert set(sidebar.query_one("#kinds", ChoiceList).included) == {"audit"}
        assert set(sidebar.query_one("#categories", ChoiceList).included) == {"role"}
        assert sidebar.query_one("#text", Input).value == "raid"
        assert sidebar.query_one("#order", RadioSet).pressed_index == 1
        assert "raid" in str(sidebar.query_one("#query").render())
        assert again.main_screen.filter.kinds == {"audit"}
        assert not again.main_screen.filter.newest_first


async def test_a_start_that_fails_before_its_screen_keeps_the_last_view(
    make_app: Callable[..., ConsoleApp], seeded_db: Path
) -> None:
    app = make_app(seeded_db, remember=True)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        await app.main_screen.apply_filter(Filter(kinds=frozenset({"decision"})))
        await settle(pilot)
    saved = session_state.load()
    assert saved.get("views")

    async def cannot_open() -> Store:
        raise RuntimeError("the disk went away")

    broken = make_app(seeded_db, remember=True)
    broken._open_store = cannot_open
    with contextlib.suppress(RuntimeError):
        async with broken.run_test(size=(140, 40)) as pilot:
            await pilot.pause()
    assert session_state.load() == saved  # not the defaults of a view never shown
