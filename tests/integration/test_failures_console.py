"""What a real server does to a running console, as the console shows it: Discord closing the
gateway for good, the audit log refused (403 50013) and given back, the bot removed from the
guild and invited back, a guild outage, the application's commands limit. Each is a header
state and one notice; the console stays open to browse; nothing is written that should not be.
The real app under ``run_test``, the real hikari client against the simulator, a real store."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from console.commands.collect import collect
from console.config import Settings
from console.secret import Secret
from console.sim import SimServer
from console.sim.testing import eventually
from console.store import Store
from console.ui.app import ConsoleApp
from console.ui.launch import settling
from console.ui.widgets.status import StatusBar

from .test_ingest import assert_matches_ground_truth
from .test_runtime import Live, notices

CLOSED_4014 = (
    "Discord closed the gateway with 4014 (disallowed intents): enable Server Members Intent under Bot → "
    "Privileged Gateway Intents in the Developer Portal"
)


def settings_for(sim: SimServer, tmp_path: Path) -> Settings:
    return Settings(db=tmp_path / "audit.db", rest_url=sim.rest_url, guild_ids=(sim.guild_id,))


@contextlib.asynccontextmanager
async def console(sim: SimServer, tmp_path: Path) -> AsyncIterator[tuple[ConsoleApp, Live]]:
    settings = settings_for(sim, tmp_path)
    live = Live(settings, Secret(sim.token))
    app = ConsoleApp(
        open_store=lambda: Store.open(settings.db), label="live", connect=settling(live.connect), remember=False
    )
    try:
        async with app.run_test(size=(160, 40)):
            try:
                yield app, live
            finally:
                await live.close()
    finally:
        if app.store is not None and not app.store.closed:
            await app.store.close()


def header(app: ConsoleApp) -> str:
    return app.query_one(StatusBar).render().plain


async def connected(app: ConsoleApp, live: Live) -> None:
    """Connected and the first sync done (its gap closed)."""

    def ready() -> bool:
        c = live.runtime.collector if live.runtime is not None else None
        return c is not None and c.state.gateway == "connected" and bool(c.backfills) and not c.state.backfilling

    await eventually(ready, what="connected and synced")


async def test_refused_at_identify_the_header_says_what_to_click(sim: SimServer, tmp_path: Path) -> None:
    sim.knobs.identify_close_code = 4014
    async with console(sim, tmp_path) as (app, _live):
        await eventually(lambda: "gateway closed" in header(app), what="the header", describe=lambda: header(app))
        assert "gateway closed 4014: enable Server Members Intent (Developer Portal → Bot)" in header(app)
        await eventually(lambda: CLOSED_4014 in notices(app), what="the notice")
        assert notices(app).count(CLOSED_4014) == 1
        assert app.is_running  # the console stays, to browse what is stored
        assert await app.store.gaps() == []  # never connected: nothing may be missing


async def test_closed_while_collecting_the_header_says_what_to_do(sim: SimServer, tmp_path: Path) -> None:
    async with console(sim, tmp_path) as (app, live):
        await connected(app, live)
        gaps = await app.store.gaps()
        await sim.gateway.disconnect_all(4004)
        line = (
            "Discord closed the gateway with 4004 (authentication failed): the token was rejected: reset it in the "
            "Developer Portal (Bot → Reset Token) and put the new one in the token file"
        )
        await eventually(lambda: line in notices(app), what="the notice")
        await eventually(
            lambda: "gateway closed 4004: token rejected" in header(app),
            what="the header",
            describe=lambda: header(app),
        )
        assert sim.gateway.identifies == 1
        assert sim.gateway.resumes == 0
        assert await app.store.gaps() == gaps  # no new gap: nothing will backfill it


async def test_a_refused_audit_log_is_blocked_then_recovered_when_given_back(sim: SimServer, tmp_path: Path) -> None:
    sim.emit_random(10)
    sim.set_audit_log_access(False)  # the bot invited without View Audit Log
    refused = (
        f"the bot may not read the audit log of guild {sim.guild_id} (403 Missing Permissions): give its role "
        "View Audit Log under Server Settings → Roles"
    )
    async with console(sim, tmp_path) as (app, live):
        await eventually(lambda: refused in notices(app), what="the notice")
        assert notices(app).count(refused) == 1
        await eventually(
            lambda: f"audit log refused in {sim.guild.name}: give View Audit Log" in header(app), what="the header"
        )
        [gap] = await app.store.gaps()
        assert (gap.reason, gap.status, gap.error) == ("first-sync", "failed", refused)
        assert await app.store.hwm(sim.guild_id) is None
        sim.emit_random(10)  # Discord does not send these to a bot without the permission
        sim.set_audit_log_access(True)  # an admin gives it: GUILD_ROLE_UPDATE
        back = f"guild {sim.guild.name} ({sim.guild_id}): the audit log can be read again"
        await eventually(lambda: back in notices(app), what="the notice of its return")
        await eventually(lambda: "audit log refused" not in header(app), what="the header cleared")
        assert live.runtime is not None
        assert live.runtime.collector is not None
        await live.runtime.collector.wait_idle()
        # One gap for the whole time it was refused, recovered; every entry stored.
        [after] = await app.store.gaps()
        assert (after.id, after.status, after.recovered) == (gap.id, "recovered", len(sim.guild.audit_log))
        await assert_matches_ground_truth(app.store, sim)


async def test_removed_from_the_guild_then_invited_back(sim: SimServer, tmp_path: Path) -> None:
    async with console(sim, tmp_path) as (app, live):
        await connected(app, live)
        stored = await app.store.count()
        gaps = await app.store.gaps()
        sim.guild_delete(unavailable=False)
        removed = (
            f"the bot was removed from guild {sim.guild.name} ({sim.guild_id}): collecting there stopped; "
            "what is stored is kept"
        )
        await eventually(lambda: removed in notices(app), what="the notice")
        await eventually(
            lambda: f"bot removed from {sim.guild.name}" in header(app), what="the header", describe=lambda: header(app)
        )
        assert await app.store.count() == stored  # the history stays
        assert await app.store.gaps() == gaps  # no gap: nothing is missed that could be recovered
        sim.emit_random(8)  # while the bot is out of the guild
        sim.guild_create()  # invited back
        back = f"the bot is back in guild {sim.guild.name} ({sim.guild_id}): backfilling what it missed"
        await eventually(lambda: back in notices(app), what="the notice of its return")
        await eventually(lambda: "bot removed" not in header(app), what="the header cleared")
        assert live.runtime is not None
        assert live.runtime.collector is not None
        collector = live.runtime.collector
        await eventually(lambda: len(collector.backfills) == 2, what="the backfill")
        await collector.wait_idle()
        await assert_matches_ground_truth(app.store, sim)


async def test_a_guild_outage_records_a_gap_and_backfills_it(sim: SimServer, tmp_path: Path) -> None:
    sim.emit_random(5)  # a history: the outage's gap starts where it ends
    async with console(sim, tmp_path) as (app, live):
        await connected(app, live)
        sim.guild_delete(unavailable=True)
        out = (
            f"guild {sim.guild.name} ({sim.guild_id}) is unavailable (a Discord outage): a gap is open until it "
            "returns, then backfilled"
        )
        await eventually(lambda: out in notices(app), what="the notice")
        await eventually(
            lambda: f"{sim.guild.name} unavailable (outage)" in header(app),
            what="the header",
            describe=lambda: header(app),
        )
        await eventually(lambda: _gap_statuses_are(app, "guild-outage", ["open"]), what="the outage's gap")
        made = sim.emit_random(12)  # during the outage: never dispatched
        sim.guild_create()
        back = f"guild {sim.guild.name} ({sim.guild_id}) is available again: backfilling the outage"
        await eventually(lambda: back in notices(app), what="the notice of its return")
        await eventually(lambda: _gap_statuses_are(app, "guild-outage", ["recovered"]), what="the gap recovered")
        await eventually(lambda: "unavailable" not in header(app), what="the header cleared")
        [gap] = [g for g in await app.store.gaps() if g.reason == "guild-outage"]
        assert gap.recovered == len(made)
        await assert_matches_ground_truth(app.store, sim)


async def _gap_statuses_are(app: ConsoleApp, reason: str, expected: list[str]) -> bool:
    return [g.status for g in await app.store.gaps() if g.reason == reason] == expected


async def test_the_commands_limit_is_one_notice_and_collecting_goes_on(
    sim: SimServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.knobs.commands_refused_code = 30032
    line = (
        f"/audit is not registered in guild {sim.guild_id}: the application has the most commands Discord allows "
        "(100 per guild) (30032): remove commands this application no longer uses; collecting goes on"
    )
    stop = asyncio.Event()
    task = asyncio.create_task(collect(settings_for(sim, tmp_path), Secret(sim.token), stop=stop))
    said: list[str] = []

    def saw(text: str) -> bool:
        said.append(capsys.readouterr().err)
        return text in "".join(said)

    await eventually(lambda: saw("collecting into") or task.done(), what="collecting")
    assert saw(f"audit-console: {line}\n")
    await sim.gateway.send_invalid_session(resumable=False)  # a new session registers again
    await sim.gateway.wait_identified(2)
    sim.emit_random(5)
    db = tmp_path / "audit.db"
    await eventually(lambda: _stored(db) >= len(sim.guild.audit_log), what="collecting goes on")
    stop.set()
    assert await asyncio.wait_for(task, 120) == 0
    saw("")
    assert "".join(said).count(line) == 1  # said once, not at every registration attempt
    assert sim.commands.all() == []


def _stored(db: Path) -> int:
    import sqlite3

    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return int(conn.execute("SELECT count(*) FROM audit_entries").fetchone()[0])
