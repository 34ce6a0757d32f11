"""The header says how far a backfill across guilds has got, and nothing once it is done."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from console.ingest.state import CollectorState
from console.ui.app import ConsoleApp
from console.ui.widgets.status import StatusBar


async def test_the_header_shows_backfill_progress_across_guilds(
    seeded_db: Path, make_app: Callable[..., ConsoleApp]
) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.1)
        running = CollectorState(
            gateway="connected",
            backfilling=frozenset(range(38)),
            backfill_done=12,
            backfill_total=50,
            backfill_entries=61_000,
        )
        app.collector_state(running)
        await pilot.pause(0.4)  # the header is redrawn at most four times a second
        header = app.query_one(StatusBar).render().plain
        assert "gateway connected (backfill 12/50 guilds · 61,000 entries) ·" in header, header

        app.collector_state(running._replace(backfilling=frozenset({7}), backfill_total=1, backfill_done=0))
        await pilot.pause(0.4)
        assert "gateway connected (backfilling · 61,000 entries) ·" in app.query_one(StatusBar).render().plain

        app.collector_state(running._replace(backfilling=frozenset(), backfill_done=50))
        await pilot.pause(0.4)
        header = app.query_one(StatusBar).render().plain
        assert "backfill" not in header, header
        assert "gateway connected ·" in header
