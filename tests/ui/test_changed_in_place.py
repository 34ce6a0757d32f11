"""Records that change after they are shown — a pending grant confirmed, a gap closed, an entry's
count bumped by Discord — are redrawn where they are, in the feed and in the open drawer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from console.model.records import Gap, RoleChange
from console.ui.app import ConsoleApp
from console.ui.rows import record_key
from console.ui.widgets.drawer import DetailDrawer
from console.ui.widgets.feed import FeedView

from .seed import FROZEN_MS
from .test_pilot import settle


def _row_text(feed: FeedView, key: tuple[str, int]) -> str:
    for y in range(feed.size.height):
        record = feed.record_at(feed.scroll_offset.y + y)
        if record is not None and record_key(record) == key:
            return feed.render_line(y).text
    raise AssertionError(f"{key} is not on screen")


async def test_a_confirmed_grant_is_redrawn_in_the_feed_and_the_drawer(
    seeded_db: Path, ids: dict[str, int], make_app: Callable[..., ConsoleApp]
) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        feed = app.query_one(FeedView)
        key = ("role_change", ids["role_change_0"])
        assert await feed.jump_to_id(ids["role_change_0"])
        await pilot.press("enter")
        await settle(pilot)
        assert "PENDING" in _row_text(feed, key)
        drawer = app.query_one(DetailDrawer)
        assert drawer.record.state == "pending"  # type: ignore[union-attr]

        change: RoleChange | None = await app.store.role_change(ids["role_change_0"])
        assert change is not None
        assert change.state == "pending"
        await app.store.record_role_change(
            change.with_(state="confirmed", observed_at=FROZEN_MS, next_attempt_at=None, updated_at=FROZEN_MS)
        )
        await pilot.pause(0.3)
        await settle(pilot)

        row = _row_text(feed, key)
        assert "CONFIRMED" in row
        assert "PENDING" not in row
        assert drawer.record.state == "confirmed"  # type: ignore[union-attr]


async def test_a_closed_gap_and_a_bumped_count_are_redrawn(
    seeded_db: Path, ids: dict[str, int], make_app: Callable[..., ConsoleApp]
) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=(220, 40)) as pilot:
        await settle(pilot)
        feed = app.query_one(FeedView)
        gaps = [g for g in await app.store.gaps() if g.id == ids["gap"]]
        gap: Gap = gaps[0]
        assert await feed.jump_to_id(gap.id)
        await settle(pilot)
        before = _row_text(feed, ("gap", gap.id))
        await app.store.close_gap(gap, status="recovered", recovered=4321)
        await pilot.pause(0.3)
        await settle(pilot)
        after = _row_text(feed, ("gap", gap.id))
        assert after != before, after
        assert "4,321" in after or "4321" in after, after

        # MESSAGE_DELETE entries are aggregated by Discord: the same id comes back with a new count.
        entry = {
            "id": str(ids["hostile"] + 7),
            "action_type": 72,
            "user_id": "1",
            "target_id": "2",
            "options": {"channel_id": "3", "count": "1"},
        }
        await app.store.add_entries([entry], source="gateway", guild_id=ids["guild"], received_at=FROZEN_MS)
        await pilot.pause(0.3)
        await settle(pilot)
        assert await feed.jump_to_id(int(entry["id"]))
        await settle(pilot)
        assert "count 1" in _row_text(feed, ("audit", int(entry["id"])))
        await app.store.add_entries(
            [{**entry, "options": {"channel_id": "3", "count": "5"}}],
            source="gateway",
            guild_id=ids["guild"],
            received_at=FROZEN_MS,
        )
        await pilot.pause(0.3)
        await settle(pilot)
        assert "count 5" in _row_text(feed, ("audit", int(entry["id"])))
