"""Exclusions in the console: a sidebar choice cycles kept → excluded → off and the feed follows;
``-is:bot`` and ``is:bot`` in the search bar; an exclusion saved by name comes back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from console.model.actions import action_category
from console.model.filters import Exclusions, Filter
from console.model.stored import StoredEntry
from console.ui.app import ConsoleApp
from console.ui.widgets.choice_list import ChoiceList
from console.ui.widgets.feed import FeedView
from console.ui.widgets.search import SearchBar

from .test_pilot import settle


def _shown(app: ConsoleApp) -> list[Any]:
    feed = app.query_one(FeedView)
    return [feed.record_at(i) for i in range(min(feed.snapshot.total, 90))]


async def _search(pilot: Any, query: str) -> None:
    from textual.widgets import Input

    await pilot.press("slash")
    await settle(pilot)
    pilot.app.query_one("#search-input", Input).value = query
    await pilot.press("enter")
    await settle(pilot)


async def test_excluding_a_category_in_the_sidebar_removes_its_rows(
    make_app: Callable[..., ConsoleApp], seeded_db: Path
) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        store, feed = app.main_screen.store, app.query_one(FeedView)
        everything = await store.timeline_count(Filter())
        moderation = await store.timeline_count(Filter(categories=frozenset({"moderation"})))
        assert moderation > 0
        assert feed.snapshot.total == everything
        categories = app.query_one("#categories", ChoiceList)
        categories.focus()
        categories.highlighted = categories.index_of("moderation")

        await pilot.press("enter")  # kept: only moderation
        await settle(pilot)
        assert app.main_screen.filter.categories == {"moderation"}
        assert feed.snapshot.total == moderation

        await pilot.press("enter")  # excluded: everything but moderation
        await settle(pilot)
        assert app.main_screen.filter.categories == frozenset()
        assert app.main_screen.filter.exclude.categories == {"moderation"}
        assert feed.snapshot.total == everything - moderation
        shown = await _wait_for_rows(pilot, app)
        assert shown
        assert not [r for r in shown if isinstance(r, StoredEntry) and action_category(r.action_type) == "moderation"]
        assert categories.excluded == {"moderation"}
        assert "-category:moderation" in app.main_screen.query_text

        await pilot.press("enter")  # off: everything again
        await settle(pilot)
        assert app.main_screen.filter.exclude == Exclusions()
        assert feed.snapshot.total == everything


async def _wait_for_rows(pilot: Any, app: ConsoleApp) -> list[Any]:
    """The rows on screen (their pages fetched)."""
    _shown(app)
    await settle(pilot)
    return [r for r in _shown(app) if r is not None]


async def test_is_bot_and_not_is_bot_in_the_search_bar(make_app: Callable[..., ConsoleApp], seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        store = app.main_screen.store
        bots = set()
        for gid in await store.guild_ids_with_state():
            state = await store.guild_state(gid) or {}
            bots |= {int(m["user"]["id"]) for m in state["members"] if m["user"].get("bot")}
        assert bots  # the simulated guild has Carl-bot and the console's own bot
        everything = await store.timeline_count(Filter())
        by_bots = await store.timeline_count(Filter(actor_ids=frozenset(bots)))
        assert by_bots > 0

        await _search(pilot, "is:bot")
        assert app.main_screen.filter.actor_ids == bots
        assert app.query_one(FeedView).snapshot.total == by_bots
        shown = await _wait_for_rows(pilot, app)
        assert shown
        assert all(r.actor_id in bots for r in shown)

        await _search(pilot, "-is:bot")
        assert app.main_screen.filter.exclude.actor_ids == bots
        dropped = [r for r in await _wait_for_rows(pilot, app) if getattr(r, "actor_id", None) in bots]
        assert dropped == []
        assert app.query_one(FeedView).snapshot.total == everything - by_bots
        assert app.main_screen.query_text == "-is:bot"  # the bar keeps what was typed


async def test_a_bad_exclusion_is_pointed_at(make_app: Callable[..., ConsoleApp], seeded_db: Path) -> None:
    from textual.widgets import Static

    app = make_app(seeded_db)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        before = app.main_screen.filter
        await _search(pilot, "raid -since:7d")
        error = str(app.query_one(SearchBar).query_one("#search-error", Static).render())
        assert "^ since: cannot be excluded" in error
        assert error.index("^") == 5 + 2  # under the term (the input's border and padding: 2)
        assert app.main_screen.filter == before


async def test_a_saved_filter_keeps_its_exclusions(make_app: Callable[..., ConsoleApp], seeded_db: Path) -> None:
    app = make_app(seeded_db, remember=True)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        await _search(pilot, 'kind:audit -category:automod,moderation -"raid"')
        wanted = app.main_screen.filter
        assert wanted.exclude == Exclusions(categories=frozenset({"automod", "moderation"}), text='"raid"')
        app.main_screen.save_filter_as("no noise")
        await pilot.press("c")  # clear
        await settle(pilot)
        assert app.main_screen.filter.exclude.is_empty
        await app.main_screen.use_saved_filter("no noise")
        await settle(pilot)
        assert app.main_screen.filter == wanted
        assert app.query_one("#categories", ChoiceList).excluded == {"automod", "moderation"}


async def test_a_dash_word_in_the_sidebar_text_box_excludes_it(
    make_app: Callable[..., ConsoleApp], seeded_db: Path
) -> None:
    from textual.widgets import Input

    app = make_app(seeded_db)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        store = app.main_screen.store
        everything = await store.timeline_count(Filter())
        box = app.query_one("#text", Input)
        box.focus()
        box.value = "-raid"
        await pilot.press("enter")
        await settle(pilot)
        assert app.main_screen.filter.text == ""
        assert app.main_screen.filter.exclude.text == "raid"
        kept = await store.timeline_count(Filter(exclude=Exclusions(text="raid")))
        assert 0 < kept < everything
        assert app.query_one(FeedView).snapshot.total == kept
        app.query_one(FeedView).focus()
        await _search(pilot, "kind:audit -welcome")  # the bar's words show in the box, "-" and all
        assert box.value == "-welcome"
