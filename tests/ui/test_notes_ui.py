"""Notes from the console (``n``), against the simulated guild (real hikari client, real store,
the demo's policy): a moderator writes one and the row and the drawer show it; edits and removals
go through the same dialog; ``n`` in the member view writes one about that member, shown there
and in its drawer; a member the policy does not allow is told why, and the denial is on
record; a console that cannot act says so instead of opening the dialog."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from textual.widgets import RadioSet, Static, TextArea

from console.model.notes import current
from console.ui.app import ConsoleApp
from console.ui.rows import record_key
from console.ui.screens.member import MemberScreen, PersonChoice
from console.ui.screens.note_dialog import NoteDialog
from console.ui.widgets.drawer import DetailDrawer
from console.ui.widgets.feed import FeedView

from .test_acting import eventually, has_role, ready
from .test_pilot import settle


def _drawer_text(drawer: DetailDrawer) -> str:
    console = Console(width=200, record=True, file=io.StringIO(), color_system=None)
    console.print(drawer._render_record())
    return console.export_text()


def _notices(app: ConsoleApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def _off_gaps(pilot: Any, feed: FeedView) -> None:
    """Once the demo's backfill is done (no rows move any more), down to the first record a note
    may be on (the demo's first rows are its gaps)."""
    store = feed.store

    async def backfilled() -> bool:
        return await store.open_gap_count() == 0

    await eventually(backfilled, what="the backfill done")
    await settle(pilot)
    while record_key(feed.current)[0] == "gap":
        await pilot.press("down")
        await settle(pilot)


async def _on_a_record(pilot: Any, app: ConsoleApp, d: Any) -> FeedView:
    """The demo ready, its cursor on the first row a note may be on; the feed."""
    await ready(app, d)
    feed = app.query_one(FeedView)
    await eventually(lambda: feed.current is not None, what="a row")
    await _off_gaps(pilot, feed)
    return feed


async def _write(pilot: Any, app: ConsoleApp, text: str) -> None:
    await pilot.press("n")
    await eventually(lambda: isinstance(app.screen, NoteDialog), what="the note dialog", app=app)
    app.screen.query_one("#text", TextArea).text = text
    await pilot.press("ctrl+s")
    await eventually(lambda: not isinstance(app.screen, NoteDialog), what="the dialog closed", app=app)


async def test_a_note_shows_on_the_row_and_in_the_drawer(demo) -> None:
    app, d = demo
    async with d.run(app) as pilot:
        feed = await _on_a_record(pilot, app, d)
        record = feed.current
        kind, rid = record_key(record)
        await _write(pilot, app, "Warned twice in DMs\x1b]0;pwned\x07 [b]first[/b]")
        await eventually(lambda: any(n.startswith("Note") for n in _notices(app)), what="the answer", app=app)
        assert any(n.startswith("Note added") for n in _notices(app)), _notices(app)
        await eventually(lambda: (kind, rid) in feed.noted, what="the row's marker", app=app)
        (note,) = (await app.store.notes([rid]))[rid]
        assert (note.actor_id, note.action, note.record_kind) == (app.operator_id, "add", kind)
        assert note.decision_id is not None
        assert any("Note added" in n for n in _notices(app))

        await pilot.press("enter")
        drawer = app.query_one(DetailDrawer)
        await settle(pilot)
        shown = _drawer_text(drawer)
        # Sanitised and plain: the escape is shown, not sent; the markup stays text.
        assert "Notes (1)" in shown
        assert "Warned twice in DMs\\x1b]0;pwned\\x07 [b]first[/b]" in shown

        # An edit supersedes it (a new note), a removal removes it: both from the same dialog.
        await pilot.press("n")
        await eventually(lambda: isinstance(app.screen, NoteDialog), what="the dialog again", app=app)
        dialog = app.screen
        assert isinstance(dialog, NoteDialog)
        dialog.query_one("#which", RadioSet).query("RadioButton").last().value = True
        await settle(pilot)
        assert dialog.query_one("#text", TextArea).text == note.text
        dialog.query_one("#text", TextArea).text = "Warned three times"
        await pilot.press("ctrl+s")
        await eventually(
            lambda: "Warned three times" in _drawer_text(drawer),
            what="the drawer follows the edit",
            app=app,
        )
        await pilot.press("n")
        await eventually(lambda: isinstance(app.screen, NoteDialog), what="the dialog a third time", app=app)
        app.screen.query_one("#which", RadioSet).query("RadioButton").last().value = True
        await settle(pilot)
        await pilot.click("#remove")
        await eventually(lambda: (kind, rid) not in feed.noted, what="the marker gone", app=app)
        stored = (await app.store.notes([rid]))[rid]
        assert [n.action for n in stored] == ["add", "edit", "remove"]
        assert stored[-1].text == "Warned three times"  # the removed text is kept
        assert current(stored) == []


async def test_n_in_the_member_view_writes_a_note_about_them(demo) -> None:
    app, d = demo
    async with d.run(app) as pilot:
        await _on_a_record(pilot, app, d)
        await pilot.press("u")
        await settle(pilot)
        if isinstance(app.screen, PersonChoice):
            await pilot.press("a")
        await eventually(lambda: isinstance(app.screen, MemberScreen), what="the member view", app=app)
        screen = app.screen
        assert isinstance(screen, MemberScreen)
        member = screen.profile.member_id
        timeline = screen.query_one("#member-feed", FeedView)
        await eventually(lambda: timeline.current is not None, what="a timeline row", app=app)
        await settle(pilot)
        notes_box = screen.query_one("#member-notes", Static)
        assert not notes_box.display  # no notes about them yet: no box
        kind, rid = record_key(timeline.current)
        await _write(pilot, app, "Same story as last month [b]x[/b]\x1b[2J")
        await eventually(lambda: any(n.startswith("Note") for n in _notices(app)), what="the answer", app=app)
        assert any(n.startswith("Note added") for n in _notices(app)), _notices(app)
        (note,) = (await app.store.notes([rid]))[rid]
        assert (note.record_kind, note.member_id, note.actor_id) == (kind, member, app.operator_id)
        # The row's marker, the notes above the timeline (plain, sanitised), the drawer.
        await eventually(lambda: (kind, rid) in timeline.noted, what="the timeline row's marker", app=app)
        await eventually(lambda: bool(notes_box.display), what="the notes about them", app=app)
        listed = str(notes_box.render())
        assert "Same story as last month [b]x[/b]\\x1b[2J" in listed
        assert f"(record {rid})" in listed
        assert notes_box.border_title == "Notes about them (1)"
        assert await app.store.member_notes(int(note.guild_id), member) == [note]
        await pilot.press("enter")
        await settle(pilot)
        drawer = screen.query_one("#member-drawer", DetailDrawer)
        shown = _drawer_text(drawer)
        assert "Notes (1)" in shown
        assert "Same story as last month" in shown


async def test_a_note_the_policy_denies_is_recorded_and_not_written(demo) -> None:
    app, d = demo
    async with d.run(app) as pilot:
        sim = await ready(app, d)
        helpers = sim.guild.role_id("Helpers")
        app.operator_id = next(u for u in sim.guild.staff_ids() if has_role(sim, u, helpers))  # no notes grant
        feed = app.query_one(FeedView)
        await eventually(lambda: feed.current is not None, what="a row")
        await _off_gaps(pilot, feed)
        kind, rid = record_key(feed.current)
        await _write(pilot, app, "should not be kept")
        await eventually(lambda: any("Note denied: NO_GRANT" in n for n in _notices(app)), what="the denial", app=app)
        assert await app.store.notes([rid]) == {}
        rows = await app.store.reader.execute_fetchall(
            "SELECT result, reason_code, source, actor_id FROM decisions WHERE capability = 'notes.write'"
        )
        assert [tuple(r) for r in rows] == [("DENY", "NO_GRANT", "TUI", app.operator_id)]
        assert (kind, rid) not in feed.noted


async def test_offline_the_console_says_why_it_cannot_write_a_note(
    make_app: Callable[..., ConsoleApp], seeded_db: Path
) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert not isinstance(app.screen, NoteDialog)
        assert any("operator_id" in n for n in _notices(app)), _notices(app)


async def test_the_dialog_refuses_empty_and_too_long_text(make_app: Callable[..., ConsoleApp], seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        dialog = NoteDialog(about="MEMBER_BAN_ADD by someone", operator="Head Mod")
        app.push_screen(dialog)
        await settle(pilot)
        assert dialog.read() == (None, "Cannot save: a note needs some text.")
        dialog.query_one("#text", TextArea).text = "x" * 2001
        await settle(pilot)
        assert "at most 2,000 characters" in dialog.read()[1]
        assert str(dialog.query_one("#count").render()) == "2,001 / 2,000"
        await pilot.press("ctrl+s")
        assert app.screen is dialog  # still open, saying why
        dialog.query_one("#text", TextArea).text = "x" * 2000
        form, _ = dialog.read()
        assert form is not None
        assert len(form.text) == 2000


async def test_minus_note_in_the_search_bar_leaves_out_what_a_note_marks(demo) -> None:
    """``-note:handled`` in the search bar: the row the team noted as handled leaves the feed;
    ``note:handled`` shows it alone."""
    from .test_exclusions import _search

    app, d = demo
    async with d.run(app) as pilot:
        feed = await _on_a_record(pilot, app, d)
        noted = record_key(feed.current)
        await _write(pilot, app, "Handled: warned in DMs")
        await eventually(lambda: noted in feed.noted, what="the row's marker", app=app)

        def shown() -> list[tuple[str, int]]:
            rows = [feed.record_at(i) for i in range(min(feed.snapshot.total, 90))]
            return [record_key(r) for r in rows if r is not None]

        await _search(pilot, "-note:handled")
        assert app.main_screen.filter.exclude.note_words == {"handled"}
        await eventually(lambda: len(shown()) == min(feed.snapshot.total, 90) > 10, what="the rows read", app=app)
        assert noted not in shown()
        await _search(pilot, "note:handled")
        await eventually(lambda: shown() == [noted], what="the noted row alone", app=app)
