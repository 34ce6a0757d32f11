"""The report screen (``R``): the same numbers as the command, drawn from a worker; hostile names
shown literally; one small snapshot (120×40, default theme, frozen clock, seeded store)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Static

from console.model.records import Decision
from console.model.snowflake import from_ms
from console.reports.compute import compute
from console.store import Store
from console.ui.app import ConsoleApp
from console.ui.screens.report import ReportScreen

from .seed import FROZEN_MS, HOSTILE, frozen_clock

HOSTILE_ACTOR = 987654321098765432


async def _add_escalations(db: Path, guild_id: int) -> None:
    """A denial by someone known only by a hostile name, and an override use."""
    store = await Store.open(db, clock=frozen_clock)
    try:
        for n, (result, code, name) in enumerate(
            (("DENY", "NO_GRANT", HOSTILE["markup"]), ("ALLOW", "OVERRIDE_ALLOW", HOSTILE["escapes"]))
        ):
            at = FROZEN_MS - 3_600_000 * (n + 1)
            await store.record_decision(
                Decision(
                    id=from_ms(at) | 7,
                    guild_id=guild_id,
                    created_at=at,
                    actor_id=HOSTILE_ACTOR + n,
                    actor_name=name,
                    actor_roles=[],
                    actor_admin=False,
                    actor_owner=False,
                    capability="roles.grant",
                    resource_type="role",
                    resource_id=1,
                    source="BOT",
                    result=result,
                    reason_code=code,
                    path=[],
                    policy_version="sha256:4f2a9c",
                )
            )
    finally:
        await store.close()


async def _open_report(pilot: Pilot[Any]) -> None:
    for _ in range(3):
        await pilot.pause(0.05)
        await pilot.app.workers.wait_for_complete()
    await pilot.press("R")
    for _ in range(3):
        await pilot.pause(0.05)
        await pilot.app.workers.wait_for_complete()
        await pilot.app.screen.workers.wait_for_complete()
    await pilot.pause(0.05)


async def test_report_screen_shows_the_commands_numbers_and_hostile_names_literally(
    make_app: Callable[..., ConsoleApp], seeded_db: Path, ids: dict[str, int]
) -> None:
    await _add_escalations(seeded_db, ids["guild"])
    app = make_app(seeded_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await _open_report(pilot)
        screen = app.screen
        assert isinstance(screen, ReportScreen)
        assert screen.report is not None
        expected = await compute(
            app.store,
            since_ms=FROZEN_MS - 7 * 86_400_000,
            until_ms=FROZEN_MS,
            name_of=app.store.name_of,
            now_ms=FROZEN_MS,
        )
        assert screen.report == expected
        assert expected.denials_total == 2
        assert len(expected.denials_by_person) == 2
        assert expected.escalations["OVERRIDE_ALLOW"] == 1
        body = screen.query_one("#report-body", Static)
        text = "".join(seg.text for line in range(body.size.height) for seg in body.render_line(line))
        assert "[@click=app.quit]click me[/]" in text
        assert "<U+202E>" in text
        assert "\\x1b" in text
        assert not any(ch in text for ch in "\x1b\x9b\u202e\u200b\x07")
        for line in range(body.size.height):
            for seg in body.render_line(line):
                assert "@click" not in (seg.style.meta if seg.style else {})
        await pilot.press("escape")
        assert not isinstance(app.screen, ReportScreen)
        assert app.is_running


def test_report_screen_snapshot(
    snap_compare: Any, make_app: Callable[..., ConsoleApp], seeded_db: Path, ids: dict[str, int]
) -> None:
    asyncio.run(_add_escalations(seeded_db, ids["guild"]))
    app = make_app(seeded_db, theme="console-dark")
    assert snap_compare(app, terminal_size=(120, 40), run_before=_open_report)
