"""A new alert in the store shows a toast (plain text, never markup) and is listed on `!`;
Enter there jumps the feed to the record behind it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable

from console.alerts import records
from console.alerts.engine import Alert
from console.ui.alerts import AlertWatch
from console.ui.app import ConsoleApp
from console.ui.screens.alerts import AlertsScreen

from .seed import FROZEN_MS
from .test_pilot import settle


async def test_a_new_alert_toasts_and_is_listed(
    seeded_db: Path, ids: dict[str, int], make_app: Callable[..., ConsoleApp]
) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        assert not app._notifications
        alert = Alert(
            created_at=FROZEN_MS,
            rule="bot_added",
            guild_id=1,
            severity="warning",
            summary="bot [bold]Evil[/bold] (99) added by 42",
            record_ids=(ids["hostile"],),
        )
        await records.save(app.store, alert)
        await app.main_screen.alert_watch.check()
        await settle(pilot)
        toasts = list(app._notifications)
        assert [(t.title, t.message, t.severity, t.markup) for t in toasts] == [
            ("Bot added", "bot [bold]Evil[/bold] (99) added by 42", "warning", False)
        ]

        await pilot.press("exclamation_mark")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, AlertsScreen)
        table = screen.query_one(DataTable)
        assert table.row_count == 1
        row = [str(c) for c in table.get_row_at(0)]
        assert row[1:3] == ["warning", "bot_added"]
        assert "[bold]Evil[/bold]" in row[3]
        assert row[4] == "1", "a guild the console has no name for shows its id"
        # The highlighted alert whole, under the table (its summary column is cut at the width).
        detail = str(screen.query_one("#alert-detail").render())
        assert "bot [bold]Evil[/bold] (99) added by 42" in detail
        assert f"guild 1 · 1 record: {ids['hostile']}" in detail

        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, AlertsScreen)
        assert app.query_one("#feed").current.id == ids["hostile"]


async def test_alerts_from_before_the_start_are_listed_not_toasted(
    seeded_db: Path, make_app: Callable[..., ConsoleApp]
) -> None:
    from console.store import Store

    from .seed import frozen_clock

    store = await Store.open(seeded_db, clock=frozen_clock)
    await records.save(
        store,
        Alert(
            created_at=FROZEN_MS,
            rule="ban_wave",
            guild_id=1,
            severity="error",
            summary="5 bans/kicks within 2 min",
            record_ids=(1, 2, 3, 4, 5),
        ),
    )
    await store.close()
    app = make_app(seeded_db)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        assert await app.main_screen.alert_watch.check() == []
        assert not [t for t in app._notifications if t.title]
        await app.main_screen.action_alerts()
        await settle(pilot)
        assert isinstance(app.screen, AlertsScreen)
        assert app.screen.query_one(DataTable).row_count == 1


async def test_alerts_raised_under_a_dialog_toast_when_it_closes(
    seeded_db: Path, ids: dict[str, int], make_app: Callable[..., ConsoleApp]
) -> None:
    """Toasts drawn over a dialog hid its fields and buttons: they wait for it to close."""
    app = make_app(seeded_db)
    app.alert_bell = True
    rung: list[int] = []
    app.bell = lambda: rung.append(1)  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")  # the help screen
        await settle(pilot)
        await records.save(
            app.store,
            Alert(
                created_at=FROZEN_MS,
                rule="ban_wave",
                guild_id=1,
                severity="error",
                summary="6 bans/kicks within 2 min",
                record_ids=(ids["hostile"],),
            ),
        )
        assert len(await app.main_screen.alert_watch.check()) == 1
        await settle(pilot)
        assert not [t for t in app._notifications if t.title == "Wave of bans/kicks"]
        assert rung == [1], "the bell still rings: it reaches someone reading a dialog"

        await pilot.press("escape")
        await settle(pilot)
        assert await app.main_screen.alert_watch.check() == []
        await settle(pilot)
        assert [t.message for t in app._notifications if t.title == "Wave of bans/kicks"] == [
            "6 bans/kicks within 2 min"
        ]


def _alert(rule: str, severity: str, summary: str, record_ids: tuple[int, ...]) -> Alert:
    return Alert(created_at=FROZEN_MS, rule=rule, guild_id=1, severity=severity, summary=summary, record_ids=record_ids)


async def _own_watch(app: ConsoleApp) -> AlertWatch:
    """A watch the test drives alone: the app's own (on a one-second timer) is stopped, so the
    two never read the same new alerts."""
    app.main_screen.alert_watch.last_id = None
    watch = AlertWatch(app)
    watch.last_id = await records.newest_id(app.store)
    return watch


async def test_alerts_from_a_backfill_come_as_one_summary_and_live_ones_as_before(
    seeded_db: Path, ids: dict[str, int], make_app: Callable[..., ConsoleApp]
) -> None:
    """The first sync raised a toast per alert, covering half the feed: what a backfill collected
    (the seed's history) is summed up in one toast once the backfill stops raising alerts; an
    alert on an entry seen live (the seed's gateway entry) toasts at once, as before."""
    app = make_app(seeded_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        watch = await _own_watch(app)
        away = (ids["role_update"],)
        await records.save(app.store, _alert("bot_added", "warning", "bot Helper (9) added by 42", away))
        await records.save(app.store, _alert("dangerous_permission", "error", "ADMINISTRATOR to @Mods", away))
        await records.save(app.store, _alert("ban_wave", "error", "6 bans/kicks within 2 min", (ids["hostile"],)))
        assert len(await watch.check()) == 3
        await settle(pilot)
        assert [(t.title, t.message) for t in app._notifications] == [
            ("Wave of bans/kicks", "6 bans/kicks within 2 min")
        ]

        # The backfill's next batch raises one more: still nothing, it is not over.
        await records.save(app.store, _alert("dangerous_permission", "error", "ADMINISTRATOR to @Bots", away))
        assert len(await watch.check()) == 1
        await settle(pilot)
        assert len(app._notifications) == 1

        assert await watch.check() == []  # nothing new: the backfill is over
        await settle(pilot)
        summary = [(t.message, t.severity, t.markup) for t in app._notifications if t.title == "Alerts"]
        assert summary == [
            ("3 alerts while away — press ! to list\nBot added, Dangerous permission granted ×2", "error", False)
        ]
        assert await watch.check() == []
        await settle(pilot)
        assert len(app._notifications) == 2, "summed up once"


def test_summary_toast_snapshot(
    snap_compare: Any, seeded_db: Path, ids: dict[str, int], make_app: Callable[..., ConsoleApp]
) -> None:
    """The screen after a first sync that raised three alerts on backfilled entries."""
    app = make_app(seeded_db)

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        watch = await _own_watch(app)
        away = (ids["role_update"],)
        await records.save(app.store, _alert("bot_added", "warning", "bot Helper (9) added by 42", away))
        await records.save(app.store, _alert("dangerous_permission", "error", "ADMINISTRATOR to @Mods", away))
        await records.save(app.store, _alert("ban_wave", "error", "5 bans/kicks within 2 min", away))
        await watch.check()
        await watch.check()
        await settle(pilot)

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)
