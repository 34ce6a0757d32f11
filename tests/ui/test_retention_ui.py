"""The feed says how far back the store reaches once retention has removed something."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from console.model.retention import DAY_MS, Retention
from console.store import Store
from console.store.verify import verify
from console.ui.app import ConsoleApp
from console.ui.widgets.feed import FeedView

from .seed import FROZEN_MS, frozen_clock
from .test_pilot import settle


async def test_the_feed_border_shows_since_when_after_a_prune(
    make_app: Callable[..., ConsoleApp], seeded_db: Path
) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        assert "since" not in (app.query_one(FeedView).border_subtitle or "")
    # Four weeks on, a 30-day retention cuts the seed's history (3 days back) two days before "now".
    later = FROZEN_MS + 28 * DAY_MS
    store = await Store.open(seeded_db, clock=lambda: later)
    try:
        assert sum(r.total for r in await store.prune(Retention(30))) > 0
    finally:
        await store.close()
    assert verify(seeded_db).problems == []
    cutoff = time.strftime("%Y-%m-%d", time.gmtime((later - 30 * DAY_MS) / 1000))
    app = make_app(seeded_db)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        assert f"since {cutoff}" in (app.query_one(FeedView).border_subtitle or "")
    assert frozen_clock() == FROZEN_MS
