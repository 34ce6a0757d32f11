"""A new alert in the store shows a toast (plain text, never markup) and is listed on `!`;
Enter there jumps the feed to the record behind it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.widgets import DataTable

from console.alerts import records
from console.alerts.engine import Alert
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
