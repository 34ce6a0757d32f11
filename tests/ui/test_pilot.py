"""The keyboard paths a moderator uses, driven through the real app, asserting on what shows."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.widgets import Input

from console.model.snowflake import from_ms
from console.model.stored import StoredEntry
from console.ui import session_state
from console.ui.app import ConsoleApp
from console.ui.widgets.drawer import DetailDrawer
from console.ui.widgets.feed import FeedView
from console.ui.widgets.search import SearchBar

from .seed import FROZEN_MS


async def settle(pilot: Any) -> None:
    for _ in range(3):
        await pilot.pause(0.05)
        await pilot.app.workers.wait_for_complete()


def visible(feed: FeedView, n: int = 30) -> list[Any]:
    return [r for r in (feed.record_at(feed.scroll_offset.y + i) for i in range(n)) if r is not None]


def actor_of(record: Any) -> int | None:
    return getattr(record, "actor_id", None) or getattr(record, "requested_by", None)


async def first_audit_row(pilot: Any) -> StoredEntry:
    feed = pilot.app.query_one(FeedView)
    while not isinstance(feed.current, StoredEntry) or feed.current.actor_id is None:
        await pilot.press("down")
        await settle(pilot)
    return feed.current


async def test_filter_by_actor_under_cursor(make_app: Callable[..., ConsoleApp], seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        row = await first_audit_row(pilot)
        await pilot.press("a")
        await settle(pilot)
        feed = app.query_one(FeedView)
        rows = visible(feed)
        # Audit entries by them, and role changes they requested.
        assert rows
        assert all(actor_of(r) == row.actor_id for r in rows)
        assert any(not isinstance(r, StoredEntry) for r in rows)
        assert app.main_screen.filter.actor_ids == {row.actor_id}
        assert "actor:" in (feed.border_title or "")
        await pilot.press("c")
        await settle(pilot)
        assert len({actor_of(r) for r in visible(feed)}) > 1


async def test_filter_by_target_under_cursor(make_app: Callable[..., ConsoleApp], seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        feed = app.query_one(FeedView)
        while getattr(feed.current, "target_id", None) is None:
            await pilot.press("down")
            await settle(pilot)
        target = feed.current.target_id
        await pilot.press("t")
        await settle(pilot)
        assert visible(feed)
        assert all((getattr(r, "target_id", None) or getattr(r, "member_id", None)) == target for r in visible(feed))


async def test_search_filters_and_errors_inline(make_app: Callable[..., ConsoleApp], seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        bar = app.query_one(SearchBar)
        assert bar.has_class("-open")
        await pilot.press(*"action:MEMBER_BAN_ADD,MEMBER_KICK")
        await pilot.press("enter")
        await settle(pilot)
        feed = app.query_one(FeedView)
        assert not bar.has_class("-open")
        rows = visible(feed)
        assert rows
        assert {r.action_type for r in rows} <= {20, 22}
        # A bad query: one inline error, the filter stays, nothing crashes.
        await pilot.press("slash")
        box = app.query_one("#search-input", Input)
        box.value = "actor:nobody-by-that-name"
        await pilot.press("enter")
        await settle(pilot)
        assert bar.has_class("-open")
        assert "no known user" in str(app.query_one("#search-error").render())
        assert app.main_screen.filter.actions == {20, 22}
        await pilot.press("escape")
        assert not bar.has_class("-open")


async def test_find_jumps_without_filtering(make_app: Callable[..., ConsoleApp], seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        app.query_one("#search-input", Input).value = "action:MEMBER_BAN_ADD"
        await pilot.press("ctrl+f")
        await settle(pilot)
        feed = app.query_one(FeedView)
        first = feed.current
        assert first.action_type == 22
        assert app.main_screen.filter.actions == frozenset()  # nothing was filtered out
        await pilot.press("greater_than_sign")
        await settle(pilot)
        second = feed.current
        assert second.action_type == 22
        assert second.id < first.id
        await pilot.press("less_than_sign")
        await settle(pilot)
        assert feed.current.id == first.id


async def test_bookmark_and_jump(make_app: Callable[..., ConsoleApp], seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        feed = app.query_one(FeedView)
        await pilot.press("down", "down")
        marked_a = feed.current
        await pilot.press("m")
        await pilot.press(*["down"] * 10)
        marked_b = feed.current
        await pilot.press("m")
        await pilot.press(*["down"] * 5)
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert feed.current.id == marked_b.id
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert feed.current.id == marked_a.id
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert feed.current.id == marked_b.id
        assert "★2" in (feed.border_subtitle or "")


async def test_open_drawer_on_enter(make_app: Callable[..., ConsoleApp], seeded_db: Path, ids: dict[str, int]) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        feed = app.query_one(FeedView)
        assert await feed.jump_to_id(ids["role_update"])
        await pilot.press("enter")
        await settle(pilot)
        drawer = app.query_one(DetailDrawer)
        assert drawer.has_class("-open")
        assert drawer.record is feed.current
        await pilot.press("escape")
        assert not drawer.has_class("-open")


async def test_switch_theme_persists(make_app: Callable[..., ConsoleApp], seeded_db: Path) -> None:
    app = make_app(seeded_db, remember=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.switch_theme("console-light")
        await settle(pilot)
        assert app.theme == "console-light"
        assert app.row_styles["decision-deny"].lower() == "#b3261e"  # the light theme's own colour
    assert session_state.load()["theme"] == "console-light"
    again = ConsoleApp(open_store=app._open_store, label="x", remember=True)
    assert again.theme == "console-light"


async def test_pause_and_resume_follow(
    make_app: Callable[..., ConsoleApp], seeded_db: Path, ids: dict[str, int]
) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        feed = app.query_one(FeedView)
        assert feed.following
        top_before = feed.current.id
        await pilot.press("down", "down")
        assert not feed.following
        watched = feed.current.id
        new = [
            {"id": str(from_ms(FROZEN_MS + 1000 * i)), "action_type": 22, "user_id": "1", "target_id": "2"}
            for i in range(1, 6)
        ]
        await app.store.add_entries(new, source="gateway", guild_id=ids["guild"], received_at=FROZEN_MS)
        await pilot.pause(0.3)
        await settle(pilot)
        assert feed.new_count == 5
        assert feed.current.id == watched  # the view did not jump away while paused
        assert "5 new" in (feed.border_subtitle or "")
        await pilot.press("f")
        await pilot.pause(0.2)
        await settle(pilot)
        assert feed.following
        assert feed.new_count == 0
        assert feed.current.id == int(new[-1]["id"])  # nothing was dropped: the newest is at hand
        ids_shown = [r.id for r in visible(feed, 8)]
        assert [int(e["id"]) for e in reversed(new)] == ids_shown[:5]
        assert top_before in ids_shown


async def test_oldest_first_and_relative_times(make_app: Callable[..., ConsoleApp], seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        await app.main_screen.apply_filter(app.main_screen.filter.with_(newest_first=False))
        await settle(pilot)
        feed = app.query_one(FeedView)
        assert feed.cursor == feed.snapshot.total - 1  # following the newest, at the bottom
        assert feed.current.id == max(r.id for r in visible(feed, 40))


async def test_palette_lists_console_commands(make_app: Callable[..., ConsoleApp], seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        from console.ui.commands import ConsoleCommands

        provider = ConsoleCommands(app.screen)
        names = [name for name, _, _ in provider._commands()]
        assert "Filter by the actor under the cursor" in names
        assert any(n.startswith("Theme: console-high-contrast") for n in names)
        hits = [hit async for hit in provider.search("1573669306368917723")]
        assert hits
        assert "Jump to record" in str(hits[0].match_display)


async def test_tab_takes_the_suggestion_and_panes_resize(
    make_app: Callable[..., ConsoleApp], seeded_db: Path, ids: dict[str, int]
) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"action:MEMBER_BAN_A")
        await pilot.pause(0.2)
        await pilot.press("tab")
        assert app.query_one("#search-input", Input).value == "action:MEMBER_BAN_ADD"
        await pilot.press("escape")
        feed = app.query_one(FeedView)
        assert await feed.jump_to_id(ids["role_update"])
        await pilot.press("enter")
        await settle(pilot)
        drawer = app.query_one(DetailDrawer)
        before = drawer.outer_size.height
        await pilot.press("right_curly_bracket")
        await pilot.pause(0.1)
        assert drawer.outer_size.height == before + 3
        sidebar = app.query_one("#sidebar")
        width = sidebar.outer_size.width
        await pilot.press("plus")
        await pilot.pause(0.1)
        assert sidebar.outer_size.width == width + 2


async def test_browsing_follows_another_processs_collector(seeded_db: Path, ids: dict[str, int]) -> None:
    """`open` while `collect` writes the same file: the new entries show up (no shared listener)."""
    from console.store import Store

    from .seed import frozen_clock

    app = ConsoleApp(
        open_store=lambda: Store.open(seeded_db, readonly=True, clock=frozen_clock),
        label="browse",
        clock=frozen_clock,
        remember=False,
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        feed = app.query_one(FeedView)
        total = feed.snapshot.total
        writer = await Store.open(seeded_db, clock=frozen_clock)  # "the collector"
        try:
            new = [
                {
                    "id": str(from_ms(FROZEN_MS + 5000 + i)),
                    "action_type": 22,
                    "user_id": "1",
                    "target_id": "2",
                    "reason": "from the collector",
                }
                for i in range(3)
            ]
            await writer.add_entries(new, source="gateway", guild_id=ids["guild"], received_at=FROZEN_MS)
        finally:
            await writer.close()
        for _ in range(1200):  # 2 minutes and more: only a hung console runs out
            await pilot.pause(0.1)
            if feed.snapshot.total == total + 3:
                break
        await settle(pilot)
        assert feed.snapshot.total == total + 3
        assert feed.current.id == int(new[-1]["id"])


async def test_offline_gatekeeper_is_built_when_explain_first_needs_it(
    make_app: Callable[..., ConsoleApp], seeded_db: Path
) -> None:
    """`open` hands the app a way to build the gatekeeper, not the gatekeeper (building it would
    slow the start): nothing is built until `w`, and it is built once."""
    from console.config import Settings
    from console.services import Services
    from console.ui.screens.explain import ExplainScreen

    built: list[Services] = []

    def factory() -> Services:
        built.append(Services(app.store, Settings(db=seeded_db, policy=None)))
        return built[-1]

    app = make_app(seeded_db, services_factory=factory)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert built == []
        for _ in range(2):
            await pilot.press("w")
            await settle(pilot)
            assert isinstance(app.screen, ExplainScreen)
            assert app.screen.gatekeeper is built[0].gatekeeper
            await pilot.press("escape")
            await settle(pilot)
        assert len(built) == 1


async def test_notifications_stay_clear_of_the_search_bar(make_app: Callable[..., ConsoleApp], seeded_db: Path) -> None:
    from textual.widgets._toast import Toast

    app = make_app(seeded_db)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        box = app.query_one("#search-input", Input)
        box.value = "actor:nobody-by-that-name since:" + "x" * 150  # an error that wraps
        await pilot.press("enter")
        app.notify("Wave of bans/kicks\n5 bans/kicks within 2 min\nby someone", title="Alert", markup=False)
        await settle(pilot)
        bar = app.query_one(SearchBar).region
        toasts = [t.region for t in app.screen.query(Toast)]
        assert toasts
        assert bar.height >= 5
        assert all(t.bottom <= bar.y for t in toasts), (toasts, bar)  # not over the query
        await pilot.press("escape")
        await settle(pilot)
        footer_top = app.size.height - 1
        assert all(t.bottom == footer_top for t in (t.region for t in app.screen.query(Toast)))  # back down
