"""``z``: the console shows its times in the ``timezone`` setting's zone, or in UTC; the header says
which; the feed's rows and the drawer follow."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from textual.widgets import Static

from console.model import times
from console.model.snowflake import to_ms
from console.ui.app import ConsoleApp
from console.ui.widgets.drawer import DetailDrawer
from console.ui.widgets.feed import FeedView
from console.ui.widgets.status import StatusBar

from .test_pilot import first_audit_row, settle

TOKYO = times.zone("Asia/Tokyo")  # UTC+9, no summer time: the same offset whatever the date


def _header(app: ConsoleApp) -> str:
    return app.query_one(StatusBar).render().plain


def _row_text(app: ConsoleApp) -> str:
    feed = app.query_one(FeedView)
    return feed.render_line(feed.cursor - feed.scroll_offset.y).text


async def test_z_toggles_between_the_zone_and_utc(make_app: Callable[..., ConsoleApp], seeded_db: Path) -> None:
    app = make_app(seeded_db, zone=TOKYO)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        row = await first_audit_row(pilot)
        at = to_ms(row.id)
        in_tokyo, in_utc = times.clock(at, TOKYO), times.clock(at, None)
        assert in_tokyo != in_utc
        assert _header(app).endswith(" · times Asia/Tokyo")
        assert in_tokyo in _row_text(app)
        await pilot.press("enter")  # the drawer: its local time is Tokyo's
        await settle(pilot)
        assert app.query_one(DetailDrawer).record == row
        assert times.local_time(at, TOKYO) in _static_text(app, "#detail-body")

        await pilot.press("z")
        await settle(pilot)
        assert _header(app).endswith(" · times UTC (z: Asia/Tokyo)")
        assert in_utc in _row_text(app)
        assert in_tokyo not in _row_text(app)
        assert times.local_time(at, None) in _static_text(app, "#detail-body")

        await pilot.press("z")
        await settle(pilot)
        assert _header(app).endswith(" · times Asia/Tokyo")
        assert in_tokyo in _row_text(app)


async def test_a_utc_console_says_nothing_of_zones(make_app: Callable[..., ConsoleApp], seeded_db: Path) -> None:
    """The tests pin the system's zone to UTC: the header (and so every snapshot) is as it was."""
    app = make_app(seeded_db)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        assert "times" not in _header(app)
        await pilot.press("z")
        await settle(pilot)
        assert "times" not in _header(app)


async def test_the_report_and_alerts_screens_follow_the_zone(
    make_app: Callable[..., ConsoleApp], seeded_db: Path
) -> None:
    from textual.widgets import DataTable

    app = make_app(seeded_db, zone=TOKYO)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        await pilot.press("R")
        await settle(pilot)
        head = _static_text(app, "#report-body").splitlines()[0]
        until = times.minute_in(app.clock(), TOKYO)
        assert head.endswith(f"→ {until} Asia/Tokyo")
        await pilot.press("escape", "z", "R")
        await settle(pilot)
        assert _static_text(app, "#report-body").splitlines()[0].endswith(f"→ {times.minute_in(app.clock(), None)} UTC")
        await pilot.press("escape", "z", "exclamation_mark")
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        assert str(table.ordered_columns[0].label) == "time (Asia/Tokyo)"


def _static_text(app: ConsoleApp, selector: str) -> str:
    """A Static's content as plain text, rendered the way the Static would."""
    console = Console(width=200, record=True, color_system=None, file=io.StringIO())
    console.print(app.screen.query_one(selector, Static).content)  # type: ignore[arg-type]
    return console.export_text()
