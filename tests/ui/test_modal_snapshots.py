"""The dialogs and lists that open over the feed: alerts (`!`), explain (`w`), export (`e`),
grant/revoke (`g`) and the saved-filter name prompt, at 120×40 in the default theme.
Deterministic like test_snapshots.py: seeded store, frozen clock, no blinking cursor."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from console.alerts import records
from console.alerts.engine import Alert
from console.store import Store
from console.ui.app import ConsoleApp
from console.ui.screens.role_dialog import RoleDialog

from .seed import FROZEN_MS, frozen_clock
from .test_snapshots import _settle

SIZE = (120, 40)


async def _steady(pilot: Pilot[Any]) -> None:
    await _settle(pilot)
    for box in pilot.app.screen.query(Input):
        box.cursor_blink = False
    await _settle(pilot)


async def _seed_alerts(db: Path, ids: dict[str, int]) -> None:
    store = await Store.open(db, clock=frozen_clock)
    try:
        for i, (rule, severity, summary) in enumerate(
            [
                ("ban_wave", "error", "6 bans/kicks within 2 min by Raid Mod (210000000000000027)"),
                ("dangerous_permission", "error", "ADMINISTRATOR granted to @[bold]Helpers[/bold] by 42"),
                ("bot_added", "warning", "bot Evil\\x1b]52;c;eA==\\x07 (99) added by 42"),
            ]
        ):
            await records.save(
                store,
                Alert(
                    created_at=FROZEN_MS - 60_000 * (3 - i),
                    rule=rule,
                    guild_id=ids["guild"],
                    severity=severity,
                    summary=summary,
                    record_ids=(ids["hostile"],),
                ),
            )
    finally:
        await store.close()


def test_alerts_list(
    snap_compare: Any, make_app: Callable[..., ConsoleApp], seeded_db: Path, ids: dict[str, int]
) -> None:
    import asyncio

    asyncio.run(_seed_alerts(seeded_db, ids))

    async def run(pilot: Pilot[Any]) -> None:
        await _settle(pilot)
        await pilot.press("exclamation_mark")
        await _steady(pilot)

    assert snap_compare(make_app(seeded_db), terminal_size=SIZE, run_before=run)


def test_explain_without_a_policy(snap_compare: Any, make_app: Callable[..., ConsoleApp], seeded_db: Path) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await _settle(pilot)
        await pilot.press("w")
        await _steady(pilot)

    assert snap_compare(make_app(seeded_db), terminal_size=SIZE, run_before=run)


def test_export_dialog(
    snap_compare: Any, make_app: Callable[..., ConsoleApp], seeded_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The dialog shows the folder it writes to: a fixed one, so the picture does not move.
    monkeypatch.setenv("XDG_DATA_HOME", "/tmp/audit-console-snapshot/data")

    async def run(pilot: Pilot[Any]) -> None:
        await _settle(pilot)
        await pilot.press("m")  # a bookmark, so "bookmarks" is offered
        await pilot.press("e")
        await _steady(pilot)

    assert snap_compare(make_app(seeded_db), terminal_size=SIZE, run_before=run)


def test_role_dialog(
    snap_compare: Any, make_app: Callable[..., ConsoleApp], seeded_db: Path, ids: dict[str, int]
) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await _settle(pilot)
        app: ConsoleApp = pilot.app  # type: ignore[assignment]
        # Offline there is no reconciler, so `g` says so (tests/ui/test_acting.py drives it live);
        # the dialog itself is the same screen.
        app.push_screen(
            RoleDialog(
                member_id=ids["member"],
                roles=lambda: app.store.names("role"),
                users=lambda: app.store.names("user"),
                operator="Head Mod",
            )
        )
        await _steady(pilot)

    assert snap_compare(make_app(seeded_db), terminal_size=SIZE, run_before=run)


def test_save_filter_name_prompt(snap_compare: Any, make_app: Callable[..., ConsoleApp], seeded_db: Path) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await _settle(pilot)
        app: ConsoleApp = pilot.app  # type: ignore[assignment]
        await pilot.press("slash")
        box = app.query_one("#search-input", Input)
        box.value = "category:moderation since:30d"
        await pilot.press("enter")
        await _settle(pilot)
        app.main_screen.action_save_filter()
        await _steady(pilot)

    assert snap_compare(make_app(seeded_db), terminal_size=SIZE, run_before=run)
