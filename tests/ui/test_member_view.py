"""The member view, driven as a moderator would: ``u`` on a row (asking whose when the row names
two people), ``U`` with a name or an id, the palette's command; Enter on a timeline row opens the
same drawer as the feed, Esc closes it, then goes back to the feed."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static

from console.model.records import Decision
from console.model.snowflake import from_ms
from console.ui.app import ConsoleApp
from console.ui.screens.main import MainScreen
from console.ui.screens.member import MemberScreen, PersonChoice
from console.ui.screens.name_prompt import NamePrompt
from console.ui.widgets.drawer import DetailDrawer
from console.ui.widgets.feed import FeedView

from .seed import FROZEN_MS
from .test_snapshots import SIZES, THEMES, _go_to, _settle


def _target_of(db: Path, entry_id: int) -> int:
    c = sqlite3.connect(db)
    try:
        return int(c.execute("SELECT target_id FROM audit_entries WHERE id = ?", (entry_id,)).fetchone()[0])
    finally:
        c.close()


def _text(screen: Any, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def _member_screen(pilot: Pilot[Any]) -> MemberScreen:
    await _settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, MemberScreen), type(screen)
    return screen


async def test_u_on_a_row_with_two_people_asks_whose_then_shows_their_story(
    make_app: Callable[..., ConsoleApp], seeded_db: Path, ids: dict[str, int]
) -> None:
    target = _target_of(seeded_db, ids["hostile"])
    app = make_app(seeded_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await _go_to(pilot, ids["hostile"])  # a ban: its actor and the member banned
        await pilot.press("u")
        await _settle(pilot)
        assert isinstance(app.screen, PersonChoice)
        await pilot.press("t")
        screen = await _member_screen(pilot)
        assert screen.profile.member_id == target
        assert screen.filter.member_ids == {target}
        counts = _text(screen, "#member-counts").splitlines()
        assert counts[0].split() == ["by", "them", "to", "them"]
        assert "bans                   0        1" in counts
        # Their username is hostile: shown inert, never as an escape or markup.
        who = _text(screen, "#member-who")
        assert "\x1b" not in who
        assert "\\x1b" in who
        feed = screen.query_one("#member-feed", FeedView)
        assert feed.snapshot.total >= 1
        records = [feed.record_at(i) for i in range(feed.snapshot.total)]
        for r in records:
            assert target in {getattr(r, a, None) for a in ("actor_id", "target_id", "member_id", "requested_by")}
        # Enter: the same drawer as the feed's, on the row under the cursor.
        await pilot.press("enter")
        await _settle(pilot)
        drawer = screen.query_one(DetailDrawer)
        assert drawer.has_class("-open")
        assert drawer.record is feed.current
        await pilot.press("escape")
        assert not drawer.has_class("-open")
        assert app.screen is screen
        await pilot.press("escape")
        await _settle(pilot)
        assert isinstance(app.screen, MainScreen)


async def test_u_on_a_row_with_one_person_opens_them_and_u_inside_walks_on(
    make_app: Callable[..., ConsoleApp], seeded_db: Path, ids: dict[str, int]
) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await _go_to(pilot, ids["decision"])
        decision = app.query_one(FeedView).current
        assert isinstance(decision, Decision)
        await pilot.press("u")
        screen = await _member_screen(pilot)
        assert screen.profile.member_id == decision.actor_id
        counts = _text(screen, "#member-counts").splitlines()
        assert "requests ALLOW         0" in counts
        assert "requests DENY          1" in counts
        # Inside the view, u on a row opens that row's person over it; Esc comes back.
        feed = screen.query_one("#member-feed", FeedView)
        row = feed.current
        assert row is not None
        await pilot.press("u")
        await _settle(pilot)
        if isinstance(app.screen, PersonChoice):
            await pilot.press("a")
        inner = await _member_screen(pilot)
        assert inner is not screen
        await pilot.press("escape")
        await _settle(pilot)
        assert app.screen is screen


def kicks_by(screen: MemberScreen) -> int:
    """The kicks by them, as the counts box shows them."""
    line = next(line for line in _text(screen, "#member-counts").splitlines() if line.startswith("kicks"))
    return int(line.split()[1].replace(",", ""))


async def test_the_timeline_follows_new_records_about_them(
    make_app: Callable[..., ConsoleApp], seeded_db: Path, ids: dict[str, int]
) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await _go_to(pilot, ids["decision"])
        await pilot.press("u")
        screen = await _member_screen(pilot)
        feed = screen.query_one("#member-feed", FeedView)
        before = feed.snapshot.total
        who = screen.profile.member_id
        for _ in range(2400):  # counted after the first frame
            await pilot.pause(0.05)
            if screen.profile.counts is not None:
                break
        kicked = kicks_by(screen)
        kick = {"id": str(from_ms(FROZEN_MS + 5000)), "action_type": 20, "user_id": str(who), "target_id": "42"}
        elsewhere = {"id": str(from_ms(FROZEN_MS + 6000)), "action_type": 20, "user_id": "43", "target_id": "42"}
        await app.store.add_entries([kick, elsewhere], source="gateway", guild_id=ids["guild"])
        for _ in range(2400):  # the live updates flush within a second; a loaded machine is slower
            await pilot.pause(0.05)
            if feed.snapshot.total != before:
                break
        assert feed.snapshot.total == before + 1
        assert feed.current.id == int(kick["id"])
        # Their counts follow too: one more kick by them.
        for _ in range(2400):
            await pilot.pause(0.05)
            if kicks_by(screen) == kicked + 1:
                break
        assert kicks_by(screen) == kicked + 1


async def test_u_on_a_row_naming_nobody_says_so(
    make_app: Callable[..., ConsoleApp], seeded_db: Path, ids: dict[str, int]
) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await _go_to(pilot, ids["gap"])
        await pilot.press("u")
        await _settle(pilot)
        assert isinstance(app.screen, MainScreen)
        assert any("names no member" in str(n.message) for n in app._notifications)


async def test_U_takes_a_username_or_an_id_as_actor_and_target_do(
    make_app: Callable[..., ConsoleApp], seeded_db: Path, ids: dict[str, int]
) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(pilot)
        name = app.store.name_of("user", ids["member"])
        assert name
        await pilot.press("U")
        await _settle(pilot)
        assert isinstance(app.screen, NamePrompt)
        app.screen.query_one(Input).value = name.upper()  # names match without case, as actor: does
        await pilot.press("enter")
        screen = await _member_screen(pilot)
        assert screen.profile.member_id == ids["member"]
        await pilot.press("escape")
        await _settle(pilot)
        # An id the console has never named works too; a name nobody has is one line, no screen.
        await pilot.press("U")
        await _settle(pilot)
        app.screen.query_one(Input).value = "nobody-by-this-name"
        await pilot.press("enter")
        await _settle(pilot)
        assert isinstance(app.screen, MainScreen)
        assert any("no known user named" in str(n.message) for n in app._notifications)
        await pilot.press("U")
        await _settle(pilot)
        app.screen.query_one(Input).value = "123456789012345678"
        await pilot.press("enter")
        screen = await _member_screen(pilot)
        assert screen.profile.member_id == 123456789012345678
        feed = screen.query_one("#member-feed", FeedView)
        assert feed.snapshot.total == 0
        assert "no names seen" in _text(screen, "#member-who")


async def test_the_palette_opens_the_member_view(
    make_app: Callable[..., ConsoleApp], seeded_db: Path, ids: dict[str, int]
) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await _go_to(pilot, ids["role_change_0"])
        change = app.query_one(FeedView).current
        await pilot.press("ctrl+p")
        await _settle(pilot)
        await pilot.press(*"Member view of the row")
        await _settle(pilot)
        await pilot.press("enter")
        await _settle(pilot)
        assert isinstance(app.screen, PersonChoice)  # a role change: who asked, and for whom
        await pilot.press("t")
        screen = await _member_screen(pilot)
        assert screen.profile.member_id == change.member_id
        timeline = screen.query_one("#member-feed", FeedView)
        assert change.id in {timeline.record_at(i).id for i in range(timeline.snapshot.total)}


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", SIZES, ids=["120x40", "80x24"])
def test_member_view_snapshot(
    snap_compare: Any,
    make_app: Callable[..., ConsoleApp],
    seeded_db: Path,
    ids: dict[str, int],
    size: tuple[int, int],
    theme: str,
) -> None:
    """The member banned by the hostile entry (a hostile username kept in the name history)."""

    async def run(pilot: Pilot[Any]) -> None:
        await _go_to(pilot, ids["hostile"])
        await pilot.press("u", "t")
        await _settle(pilot)

    assert snap_compare(make_app(seeded_db, theme=theme), terminal_size=size, run_before=run)
