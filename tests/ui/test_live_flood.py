"""A console following another process's collector through a flood (PostgreSQL): what it draws
is what a console opened afterwards on the same store draws — its rows, prepared ahead of the
frame, and its scrollbar, repainted only when the thumb moves — and a gap recorded meanwhile still
reaches its header although entries alone no longer make it read the side panes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from console.store import watching
from console.store.postgres.store import PgStore
from console.ui.app import ConsoleApp
from console.ui.widgets.feed import FeedView
from console.ui.widgets.status import StatusBar

from .seed import frozen_clock
from .test_live_pg import GUILD, entries, until

SIZE = (120, 30)


def feed_lines(app: ConsoleApp) -> list[str]:
    """The feed as drawn (its border, rows and scrollbar), cell by cell, styles included."""
    feed = app.query_one(FeedView)
    region = feed.region
    strips = app.screen._compositor.render_strips()
    return [repr(list(strip.crop(region.x, region.right))) for strip in strips[region.y : region.bottom]]


def scrollbar(app: ConsoleApp) -> tuple[str, ...]:
    """The feed's scrollbar column as drawn."""
    bar = app.query_one(FeedView).vertical_scrollbar
    if not bar.display or not bar.region:
        return ()
    strips = app.screen._compositor.render_strips()
    x, region = bar.region.x, bar.region
    return tuple(repr(list(strip.crop(x, x + 1))) for strip in strips[region.y : region.bottom])


def console(url: str) -> ConsoleApp:
    return ConsoleApp(
        open_store=lambda: PgStore.open(url, readonly=True, clock=frozen_clock),
        label="browse",
        clock=frozen_clock,
        remember=False,
    )


@contextlib.asynccontextmanager
async def following(pg_url: str, monkeypatch: Any) -> AsyncIterator[tuple[PgStore, ConsoleApp, Any]]:
    """Another process's collector (its store), with 5 entries, and a console following it
    (showing them): only the notifications bring rows, no polling."""
    monkeypatch.setattr(watching, "POLL_S", 3600.0)
    collector = await PgStore.open(pg_url, clock=frozen_clock)
    try:
        await collector.add_entries(entries(0, 5), source="gateway", guild_id=GUILD)
        app = console(pg_url)
        async with app.run_test(size=SIZE) as pilot:
            feed = app.query_one(FeedView)
            await until(pilot, lambda: feed.snapshot.total == 5)
            yield collector, app, pilot
    finally:
        await collector.close()


async def test_a_console_that_followed_a_flood_draws_what_a_fresh_one_draws(pg_url: str, monkeypatch: Any) -> None:
    total = 5 + 40 * 30
    looks = set()
    async with following(pg_url, monkeypatch) as (collector, app, pilot):
        feed = app.query_one(FeedView)
        # From a page that fits to many screens: the thumb shrinks (it must be repainted), then
        # stays one cell at the top (it need not be).
        for batch in range(40):
            await collector.add_entries(entries(100 + batch * 30, 30), source="gateway", guild_id=GUILD)
            await pilot.pause(0.02)
            looks.add(scrollbar(app))
        await until(pilot, lambda: feed.snapshot.total == total)
        await pilot.pause(0.3)
        assert feed.following
        assert feed.vertical_scrollbar.window_virtual_size == total
        live = feed_lines(app)
    assert len(looks) > 3  # the thumb was drawn shrinking

    fresh = console(pg_url)
    async with fresh.run_test(size=SIZE) as pilot:
        feed = fresh.query_one(FeedView)
        await until(pilot, lambda: feed.snapshot.total == total and not feed.approximate)
        await pilot.pause(0.3)
        assert feed_lines(fresh) == live


async def test_a_gap_recorded_elsewhere_reaches_the_header_during_a_flood(pg_url: str, monkeypatch: Any) -> None:
    async with following(pg_url, monkeypatch) as (collector, app, pilot):
        feed = app.query_one(FeedView)
        header = app.query_one(StatusBar)
        await until(pilot, lambda: "gaps 0" in header.render().plain)
        for batch in range(5):
            await collector.add_entries(entries(100 + batch * 10, 10), source="gateway", guild_id=GUILD)
        await until(pilot, lambda: feed.snapshot.total == 55)
        assert "gaps 0" in header.render().plain
        await collector.open_gap(GUILD, "gateway resumed after a cut", from_id=None, started_at=None)
        await collector.add_entries(entries(300, 10), source="gateway", guild_id=GUILD)
        await until(pilot, lambda: "gaps 1" in header.render().plain)
