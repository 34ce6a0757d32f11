"""Work deferred until the console has drawn (the launcher turns the garbage collector back on)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from console.ui.app import ConsoleApp
from console.ui.widgets.feed import FeedView

from .test_pilot import settle


async def test_after_first_frame_hooks_run_once_after_the_feed_is_drawn(
        make_app: Callable[..., ConsoleApp], seeded_db: Path) -> None:
    app = make_app(seeded_db)
    calls: list[int] = []
    app.after_first_frame.append(lambda: calls.append(app.query_one(FeedView).snapshot.total))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.pause(0.1)
        await pilot.press("down", "up")
        await settle(pilot)
    assert len(calls) == 1
    assert calls[0] > 0  # the feed had its records by then
