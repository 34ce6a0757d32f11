"""A team on one store (issue #20, "Done when"): two real ``collect`` processes (one active, one
standing by) and two consoles with their own PostgreSQL logins: a moderator's, opened as ``run``
opens it, and a viewer's, as ``open`` does; neither collects. What the simulator sends appears in both consoles; a grant
asked for in the moderator's role dialog is a request the active collector carries out, its
attempts show in the viewer's pending pane, the standby finishes it when the active collector
is killed, and it ends confirmed once (Discord applied it once, one confirmed row); an alert
the collector raises is toasted in both consoles."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from console.commands.screens import demo_options, live_options, open_options
from console.config import Settings
from console.model.location import PgLocation
from console.secret import Secret
from console.sim import SimServer
from console.sim.demo_policy import demo_operator, demo_policy_text
from console.store.postgres.store import PgStore
from console.store.team_access import team_command
from console.ui.launch import Console, prepare_console
from console.ui.screens.role_dialog import RoleDialog
from console.ui.widgets.feed import FeedView
from console.ui.widgets.pending import PendingPane

from .collect_process import Collect, kill_left, no_tracebacks, start_collect, until
from .team_logins import as_login, make_team
from .test_role_cli import guild_state_stored, has_role


def feed_has(console: Console, record_id: int) -> bool:
    feed = console.app.query_one(FeedView)
    shown = (feed.record_at(i) for i in range(min(feed.snapshot.total, 50)))
    return any(getattr(r, "id", None) == record_id for r in shown)


def toasted(console: Console, title: str) -> bool:
    return any(n.title == title for n in console.app._notifications)


async def request_grant(pilot: Any, console: Console, member: int, reason: str) -> None:
    """Grant Verified to ``member`` in the console's role dialog, as a moderator types it."""
    await pilot.press("g")
    await until(lambda: isinstance(console.app.screen, RoleDialog), 10, "no role dialog")
    console.app.screen.query_one("#member").focus()
    await pilot.press(*str(member), "enter", *"Verified", "enter", *reason, "enter")
    await until(lambda: not isinstance(console.app.screen, RoleDialog), 10, "the dialog stayed open")


async def heartbeat_after(db: asyncpg.Connection, ms: int) -> bool:
    return bool(await db.fetchval("SELECT heartbeat > $1 FROM leadership WHERE id = 1", ms))


def settings_of(db: str, policy: Path) -> Settings:
    return Settings(db=PgLocation(db), policy=policy)


async def test_two_consoles_and_two_collectors_on_one_store(
    sim: SimServer, pg_url: str, logins: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    moderator, viewer, unmapped, collector_login = logins
    operator = demo_operator(sim)
    await make_team(pg_url, moderator, viewer, unmapped, operator)
    await team_command(PgLocation(pg_url), "add", login=collector_login, kind="collector", discord_id=None)
    policy = tmp_path / "policy.toml"
    policy.write_text(demo_policy_text(sim))
    env = {**os.environ, "DISCORD_TOKEN": sim.token}
    args = ["--guild", str(sim.guild_id), "--rest-url", sim.rest_url, "--policy", str(policy)]
    args += ["--db", as_login(pg_url, collector_login)]
    procs: list[Collect] = []
    consoles: list[Console] = []
    db = await asyncpg.connect(pg_url)
    try:
        active = await start_collect(args, env)
        procs.append(active)
        await until(lambda: active.said("collecting into"), 30, "the first collector did not start", active)
        standby = await start_collect(args, env)
        procs.append(standby)
        await until(lambda: standby.said("standing by: "), 30, "no standby line", standby)
        await until(lambda: guild_state_stored(PgLocation(pg_url), sim.guild_id), 30, "no guild state", active)

        # Console 1 as `audit-console run` opens it, console 2 as `audit-console open` does.
        settings = settings_of(as_login(pg_url, moderator), policy)
        first = await prepare_console(settings.db, **live_options(settings, Secret(sim.token)))
        consoles.append(first)
        settings = settings_of(as_login(pg_url, viewer), policy)
        second = await prepare_console(settings.db, **open_options(settings))
        consoles.append(second)
        assert first.session is None  # neither collects: the collectors do
        assert second.session is None
        assert (first.app.operator_id, first.app.browse_only) == (operator, None)
        assert second.app.operator_id is None
        assert "viewer" in (second.app.browse_only or "")
        async with first.app.run_test(size=(160, 45)) as pilot, second.app.run_test(size=(160, 45)):
            entry = int(sim.emit(22)["id"])  # a ban
            await until(lambda: feed_has(first, entry) and feed_has(second, entry), 30, "entry not in both", active)

            verified = sim.guild.role_id("Verified")
            member = next(u for u in sim.guild.regular_ids() if not has_role(sim, u, verified))
            sim.knobs.role_drop_probability = 1.0  # Discord says 204 and does nothing: it stays pending
            await request_grant(pilot, first, member, "team test")

            pane = second.app.query_one(PendingPane)
            await until(lambda: pane.changes and pane.changes[0].attempts >= 1, 30, "no attempt in console 2", active)
            change = pane.changes[0]
            assert (change.member_id, change.role_id, change.op, change.source) == (member, verified, "grant", "TUI")
            assert change.requested_by == operator  # the moderator's login's Discord user
            assert first.app.query_one(PendingPane).changes[0].id == change.id

            # The active collector dies with the request in hand: the standby takes over and
            # carries it out (Discord applies the next call).
            active.proc.send_signal(signal.SIGKILL)
            sim.knobs.role_drop_probability = 0.0
            await until(lambda: standby.said("collecting into"), 60, "the standby did not take over", standby)
            await until(lambda: not pane.changes, 60, "still pending in console 2", standby)
            await until(lambda: not first.app.query_one(PendingPane).changes, 30, "still pending in console 1")
            rows = await db.fetch("SELECT id, state FROM role_changes")
            assert [tuple(r) for r in rows] == [(change.id, "confirmed")]
            # Applied once by Discord (a dropped call still logs an entry, so the entries are not counted).
            assert [op[:3] for op in sim.role_ops_applied] == [(member, verified, True)]
            assert has_role(sim, member, verified)
            epochs = {r[0] for r in await db.fetch("SELECT epoch FROM role_change_attempts")}
            assert epochs <= {1, 2}

            sim.emit(28)  # a bot added: the collector raises an alert, both consoles toast it
            await until(
                lambda: toasted(first, "Bot added") and toasted(second, "Bot added"), 30, "no alert toast", standby
            )

            # A second grant, cancelled in console 1 while the collector retries it: the row is
            # cancelled in the store (the moderator's login may cancel its own request), both panes
            # drop it, and the collector stops: Discord applying calls again changes nothing.
            other = next(u for u in sim.guild.regular_ids() if u != member and not has_role(sim, u, verified))
            sim.knobs.role_drop_probability = 1.0
            await request_grant(pilot, first, other, "second")
            await until(lambda: pane.changes and pane.changes[0].attempts >= 1, 30, "no attempt", standby)
            cancelled = pane.changes[0]
            assert cancelled.member_id == other
            await pilot.press("x")
            await until(lambda: not pane.changes, 30, "still pending after the cancel", standby)
            sim.knobs.role_drop_probability = 0.0
            beat = await db.fetchval("SELECT heartbeat FROM leadership WHERE id = 1")
            # Three heartbeats of the collector: past its next retry (2 s ± 25%) and its next
            # reading of the store (every 2 s).
            await until(lambda: heartbeat_after(db, beat + 6000), 30, "the collector's heartbeat stopped", standby)
            stored = await db.fetchrow("SELECT state, cancelled_by FROM role_changes WHERE id = $1", cancelled.id)
            assert tuple(stored) == ("cancelled", operator)
            assert not has_role(sim, other, verified)
            assert [op[:3] for op in sim.role_ops_applied] == [(member, verified, True)]
        for p in procs[1:]:
            assert await p.end() == 0
        no_tracebacks(procs)
    finally:
        for console in consoles:
            await console.close()
        await kill_left(procs)
        await db.close()


async def test_a_persons_console_never_takes_the_collector_lock(pg_url: str, logins: list[str], tmp_path: Path) -> None:
    """``open``, ``run`` and ``demo`` with a moderator's or a viewer's login beside the active
    collector: none collects, takes the lock or waits for it; the collector stays the leader
    (no new epoch, not deposed). A moderator's console writes (its requests), a viewer's reads."""
    moderator, viewer, unmapped, collector_login = logins
    await make_team(pg_url, moderator, viewer, unmapped, 4242)
    await team_command(PgLocation(pg_url), "add", login=collector_login, kind="collector", discord_id=None)
    collector = await PgStore.open(as_login(pg_url, collector_login))  # the active collector
    try:
        assert collector.leadership is not None
        epoch = collector.leadership.epoch
        for login, writes in ((moderator, True), (viewer, False)):
            settings = settings_of(as_login(pg_url, login), tmp_path / "policy.toml")
            for options in (
                open_options(settings),
                live_options(settings, Secret("token")),
                demo_options(settings.db, seed=1, rate=1.0),
            ):
                console = await prepare_console(settings.db, **options)
                try:
                    assert console.session is None, options["label"]
                    assert console.store.readonly is not writes, options["label"]
                    assert getattr(console.store, "leadership", None) is None
                finally:
                    await console.close()
        await collector.check_leading()  # still the leader: no DeposedError
        assert (collector.leadership.epoch, collector.leadership.deposed) == (epoch, None)
        assert await collector.fetchval("SELECT epoch FROM leadership WHERE id = 1") == epoch
    finally:
        await collector.close()
