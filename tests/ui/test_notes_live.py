"""A note written by another console shows in this one as it commits, on both backends: the row
gains its ✎ and an open drawer shows the note. On PostgreSQL the writer's notification names the
record; on SQLite this console, browsing read-only, learns of the commit from the file and reads
the notes of the rows on screen again."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from backends import BOTH
from rich.console import Console

from console.model.location import PgLocation, StoreLocation
from console.model.notes import Note
from console.model.snowflake import from_ms
from console.store import watching
from console.store.opening import open_store
from console.ui.app import ConsoleApp
from console.ui.rows import record_key
from console.ui.widgets.drawer import DetailDrawer
from console.ui.widgets.feed import FeedView

from .seed import FROZEN_MS, frozen_clock
from .test_live_pg import until

BACKENDS = BOTH
GUILD = 1_000_000_000_000_001
MOD = 2_000_000_000_000_001


def drawer_text(app: ConsoleApp) -> str:
    console = Console(width=200, record=True, file=io.StringIO(), color_system=None)
    console.print(app.query_one(DetailDrawer)._render_record())
    return console.export_text()


def note(record_id: int, text: str, low: int, **changes: Any) -> Note:
    at = FROZEN_MS - 1000 + low
    return Note(from_ms(at) | low, GUILD, "audit", record_id, None, MOD, "mod", at, "add", None, text, None)._replace(
        **changes
    )


async def test_another_consoles_note_shows_live(
    location: StoreLocation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watching, "POLL_S", 0.05)
    writer = await open_store(location, clock=frozen_clock)
    entries = [
        {"id": str(from_ms(FROZEN_MS - 60_000 + i)), "action_type": 22, "user_id": "1", "target_id": "2"}
        for i in range(3)
    ]
    await writer.add_entries(entries, source="gateway", guild_id=GUILD, received_at=FROZEN_MS)
    app = ConsoleApp(
        open_store=lambda: open_store(location, readonly=True, clock=frozen_clock),
        label="browse",
        clock=frozen_clock,
        remember=False,
    )
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            feed = app.query_one(FeedView)
            await until(pilot, lambda: feed.snapshot.total == 3)
            await pilot.press("down", "enter")
            await until(pilot, lambda: app.query_one(DetailDrawer).record is not None)
            key = record_key(feed.current)
            assert key not in feed.noted

            first = note(key[1], "seen in three raids", 1)
            await writer.add_note(first)
            await until(pilot, lambda: key in feed.noted)
            await until(pilot, lambda: "seen in three raids" in drawer_text(app))
            if isinstance(location, PgLocation):
                assert app.store._follower.received >= 1  # type: ignore[attr-defined]

            await writer.add_note(note(key[1], "seen in four raids", 2, action="edit", supersedes=first.id))
            await until(pilot, lambda: "seen in four raids" in drawer_text(app))
            assert "seen in three raids" not in drawer_text(app)
    finally:
        await writer.close()
