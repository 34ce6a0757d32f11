"""Scheduled reports (``[reports]`` in collect): due once per complete week or month, written
atomically to the folder, summarised in a channel of the simulator through the real hikari REST
client (no pings) — and never posted twice, even across a restart. The clock is ours to move."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import hikari
import pytest

from console.discord.role_api import HikariRoleApi
from console.model.snowflake import from_ms
from console.reports.schedule import ReportSchedule, ReportScheduler, last_period
from console.sim import SimConfig, SimServer
from console.store import Store


def _ms(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp() * 1000)


WED = _ms("2026-11-18T15:00:00")  # week 47; the last complete week is 2026-11-09 → 2026-11-16


class Clock:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    server = SimServer(SimConfig(seed=3, heartbeat_interval_ms=500))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def api(sim: SimServer) -> AsyncIterator[HikariRoleApi]:
    app = hikari.RESTApp(url=sim.rest_url)
    await app.start()
    try:
        async with app.acquire(sim.token, hikari.TokenType.BOT) as client:
            yield HikariRoleApi(client)
    finally:
        await app.close()


async def _store(path: Path, clock: Clock) -> Store:
    store = await Store.open(path, clock=clock)
    await store.upsert_names(1, "user", [(42, "@everyone <@&1> Mod")])
    # Four bans in week 46 (the last complete week on WED), one in week 47.
    await store.add_entries(
        [
            {"id": str(from_ms(_ms(f"2026-11-1{d}T10:00:00"))), "action_type": 22, "user_id": "42", "target_id": "7"}
            for d in (0, 1, 2, 3, 7)
        ],
        source="gateway",
        guild_id=1,
    )
    return store


def test_periods_are_complete_weeks_and_months() -> None:
    assert last_period("weekly", WED) == (_ms("2026-11-09T00:00:00"), _ms("2026-11-16T00:00:00"), "2026-W46")
    assert last_period("weekly", _ms("2026-11-16T00:00:00"))[1] == _ms("2026-11-16T00:00:00")
    assert last_period("monthly", WED) == (_ms("2026-10-01T00:00:00"), _ms("2026-11-01T00:00:00"), "2026-10")
    assert last_period("monthly", _ms("2027-01-01T00:00:01"))[2] == "2026-12"


async def test_due_once_written_and_posted_then_not_again_even_after_a_restart(
    sim: SimServer, api: HikariRoleApi, tmp_path: Path
) -> None:
    clock = Clock(WED)
    channel = sim.guild.channel_ids(0)[0]
    folder = tmp_path / "reports"
    schedule = ReportSchedule("weekly", folder, channel)
    store = await _store(tmp_path / "audit.db", clock)
    try:
        scheduler = ReportScheduler(store, schedule, post=api.post_message, clock=clock)
        assert await scheduler.tick() == [f"wrote {folder / 'audit-report-2026-W46'}.md", "posted"]
        assert sorted(p.name for p in folder.iterdir()) == ["audit-report-2026-W46.json", "audit-report-2026-W46.md"]
        assert "| 4 |" in (folder / "audit-report-2026-W46.md").read_text(encoding="utf-8")
        posted = [m for m in sim.guild.messages if m["channel_id"] == str(channel)]
        assert len(posted) == 1
        text = posted[0]["content"]
        assert text.startswith("📊 Audit report 2026-W46 (2026-11-09 → 2026-11-16 UTC)")
        assert "4 actions by 1 person" in text
        assert "Full report: audit-report-2026-W46.md" in text
        assert "<@" not in text
        assert "@everyone" not in text
        clock.ms += 3_600_000  # later the same week: nothing is due
        assert await scheduler.tick() == []
    finally:
        await store.close()

    # A restart (a new process: a new store and scheduler) does not post the same week again.
    store = await Store.open(tmp_path / "audit.db", clock=clock)
    try:
        scheduler = ReportScheduler(store, schedule, post=api.post_message, clock=clock)
        assert await scheduler.tick() == []
        assert len([m for m in sim.guild.messages if m["channel_id"] == str(channel)]) == 1
        clock.ms = _ms("2026-11-23T00:05:00")  # the next week has ended
        done = await scheduler.tick()
        assert done == [f"wrote {folder / 'audit-report-2026-W47'}.md", "posted"]
        assert len([m for m in sim.guild.messages if m["channel_id"] == str(channel)]) == 2
        assert "1 actions by 1 person" in sim.guild.messages[-1]["content"]
        assert not list(folder.glob("*.part"))
    finally:
        await store.close()


async def test_a_failed_post_is_retried_not_skipped(sim: SimServer, api: HikariRoleApi, tmp_path: Path) -> None:
    clock = Clock(WED)
    store = await _store(tmp_path / "audit.db", clock)
    try:
        gone = 123456789012345678  # not a channel of the guild: the simulator answers 404
        scheduler = ReportScheduler(store, ReportSchedule("weekly", None, gone), post=api.post_message, clock=clock)
        first = await scheduler.tick()
        assert len(first) == 1
        assert first[0].startswith("post failed")
        assert (await scheduler.tick())[0].startswith("post failed")  # tried again
        channel = sim.guild.channel_ids(0)[0]
        scheduler.schedule = ReportSchedule("weekly", None, channel)
        assert await scheduler.tick() == ["posted"]
        assert await scheduler.tick() == []
    finally:
        await store.close()
