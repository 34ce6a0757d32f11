"""Acting from the console against the simulated guild (real hikari client, real store): grant a
role from the dialog and watch it go from pending to confirmed; explain a member; retry and
cancel from the pending pane."""

from __future__ import annotations

import asyncio
import io
from typing import Any

from rich.console import Console

from console.model.filters import Filter
from console.model.naming import person
from console.model.records import Decision
from console.roles.reconciler import Schedule
from console.sim.testing import eventually as wait_until
from console.ui.app import ConsoleApp
from console.ui.rows import record_row
from console.ui.screens.explain import ExplainScreen
from console.ui.screens.role_dialog import RoleDialog
from console.ui.widgets.drawer import DetailDrawer
from console.ui.widgets.feed import FeedView
from console.ui.widgets.pending import PendingPane


async def eventually(predicate: Any, timeout: float = 120.0, what: str = "condition", app: Any = None) -> None:
    def describe() -> str:
        notes = [str(n.message) for n in app._notifications] if app is not None else []
        return f"notices: {notes}; focus {app.focused if app is not None else None}"

    await wait_until(predicate, timeout, what, describe)


async def ready(app: ConsoleApp, d: Any) -> Any:
    await eventually(lambda: app.services is not None and app.services.roles is not None, what="connected")
    sim = d.session.sim  # type: ignore[union-attr]
    await eventually(lambda: sim.guild_id in d.session.collector.guilds, what="guild state")  # type: ignore[union-attr]
    # Shorter retries than production so a dropped change is retried within the test.
    d.session.services.reconciler.schedule = Schedule(first_s=0.3, cap_s=1.0, deadline_s=3600)  # type: ignore[union-attr]
    return sim


def has_role(sim: Any, uid: int, rid: int) -> bool:
    return rid in [int(r) for r in sim.guild.member_object(uid)["roles"]]


async def type_into(pilot: Any, app: ConsoleApp, selector: str, text: str) -> None:
    field = app.screen.query_one(selector)
    field.value = ""
    field.focus()
    await pilot.press(*text)


async def test_grant_from_the_dialog_goes_pending_then_confirmed(demo) -> None:
    app, d = demo
    async with d.run(app) as pilot:
        sim = await ready(app, d)
        verified = sim.guild.role_id("Verified")
        member = next(u for u in sim.guild.regular_ids() if not has_role(sim, u, verified))
        sim.knobs.role_drop_probability = 1.0  # Discord says 204 and does nothing: stays pending

        await pilot.press("g")
        await eventually(lambda: isinstance(app.screen, RoleDialog), what="dialog", app=app)
        await type_into(pilot, app, "#member", str(member))
        who = str(app.screen.query_one("#member-who").content)
        assert who == f"→ {person(app.store.name_of, member)} ({member})", "the dialog says whom the id is"
        await pilot.press("enter")
        assert app.screen.focused.id == "role", "Enter moves to the next field"
        await pilot.press(*"Verified", "enter", *"welcome aboard", "enter")
        await eventually(lambda: not isinstance(app.screen, RoleDialog), what="dialog closed")

        pane = app.query_one(PendingPane)
        await eventually(lambda: pane.changes and pane.changes[0].attempts >= 1, what="pending with an attempt")
        change = pane.changes[0]
        assert (change.member_id, change.role_id, change.op, change.source) == (member, verified, "grant", "TUI")
        assert change.decision_id is not None
        assert not has_role(sim, member, verified)

        sim.knobs.role_drop_probability = 0.0  # the next retry is applied, and seen
        await eventually(lambda: not pane.changes, what="no longer pending")
        final = await app.store.role_change(change.id)
        assert final.state == "confirmed"
        assert final.observed_at is not None
        assert final.attempts >= 2
        assert has_role(sim, member, verified)
        attempts = await app.store.attempts(change.id)
        assert any("accepted" in (a.observed or "") for a in attempts)
        assert any("present" in (a.observed or "") for a in attempts)


async def test_denied_in_the_dialog_says_why(demo) -> None:
    app, d = demo
    async with d.run(app) as pilot:
        sim = await ready(app, d)
        # The operator (a moderator) may not grant a role above their own: the Discord gate.
        await pilot.press("g")
        await eventually(lambda: isinstance(app.screen, RoleDialog), what="dialog", app=app)
        await type_into(pilot, app, "#member", str(sim.guild.regular_ids()[0]))
        await type_into(pilot, app, "#role", "Admin")
        await type_into(pilot, app, "#reason", "testing")
        await pilot.press("enter")
        await eventually(
            lambda: any("DISCORD_GATE_DENIED" in str(n.message) for n in app._notifications), what="a denial notice"
        )
        assert not app.query_one(PendingPane).changes

        # The decision is in the feed: the DENY filter finds it, and the drawer shows its path.
        await app.main_screen.apply_filter(Filter(results=frozenset({"DENY"})))
        feed = app.query_one(FeedView)
        await eventually(lambda: isinstance(feed.current, Decision), what="the decision row")
        assert (feed.current.reason_code, feed.current.source) == ("DISCORD_GATE_DENIED", "TUI")
        await pilot.press("enter")
        drawer = app.query_one(DetailDrawer)
        await eventually(lambda: drawer.record is feed.current, what="the drawer")
        console = Console(width=120, record=True, file=io.StringIO(), color_system=None)
        console.print(drawer._render_record())
        shown = console.export_text()
        assert "Decision path" in shown
        assert "discord_gate → " in shown
        assert "◀ decided" in shown
        assert "is below @Admin" in shown or "is @Admin itself" in shown


async def test_explain_shows_the_path(demo) -> None:
    app, d = demo
    async with d.run(app) as pilot:
        sim = await ready(app, d)
        trial = next(u for u in sim.guild.staff_ids() if has_role(sim, u, sim.guild.role_id("Trial Mod")))
        await pilot.press("w")
        await eventually(lambda: isinstance(app.screen, ExplainScreen), what="explain")
        await type_into(pilot, app, "#member", str(trial))
        await pilot.press("enter")
        body = app.screen.query_one("#answer-body")
        await eventually(lambda: "DISCORD_GATE_DENIED" in str(body.content), what="the answer")
        assert "→ discord_gate: lacks MANAGE_ROLES guild-wide" in str(body.content)
        await pilot.press("escape")
        assert not isinstance(app.screen, ExplainScreen)


async def test_retry_and_cancel_from_the_pending_pane(demo) -> None:
    app, d = demo
    async with d.run(app) as pilot:
        sim = await ready(app, d)
        services = d.session.services
        services.reconciler.schedule = Schedule(first_s=60, cap_s=60, deadline_s=600)  # no retry on its own
        sim.knobs.role_drop_probability = 1.0
        verified = sim.guild.role_id("Verified")
        member = next(u for u in sim.guild.regular_ids() if not has_role(sim, u, verified))
        done = await services.roles.request(
            sim.guild_id, app.operator_id, member, verified, "grant", reason="r", source="TUI"
        )
        pane = app.query_one(PendingPane)
        await eventually(lambda: pane.changes and pane.changes[0].attempts == 1, what="first attempt")
        pane.focus()
        await pilot.press("r")
        await eventually(lambda: pane.changes and pane.changes[0].attempts == 2, what="retried now")
        await pilot.press("x")
        await eventually(lambda: not pane.changes, what="cancelled")
        final = await app.store.role_change(done.change.id)
        assert final.state == "cancelled"
        assert final.cancelled_by == app.operator_id


async def test_export_is_checked_by_the_policy_when_acting(demo) -> None:
    from console.ui.screens.export_dialog import ExportDialog

    app, d = demo
    async with d.run(app) as pilot:
        sim = await ready(app, d)
        helpers = sim.guild.role_id("Helpers")
        moderator = app.operator_id
        app.operator_id = next(u for u in sim.guild.staff_ids() if has_role(sim, u, helpers))  # no export grant
        await pilot.press("e")
        await eventually(
            lambda: any("Export denied: NO_GRANT" in str(n.message) for n in app._notifications),
            what="the denial",
            app=app,
        )
        assert not isinstance(app.screen, ExportDialog)
        app.operator_id = moderator  # the demo policy lets moderators export
        await pilot.press("e")
        await eventually(lambda: isinstance(app.screen, ExportDialog), what="the export dialog", app=app)
        rows = await app.store.reader.execute_fetchall(
            "SELECT result, reason_code, source FROM decisions WHERE capability = 'console.export' ORDER BY id"
        )
        assert [tuple(r) for r in rows] == [("DENY", "NO_GRANT", "TUI"), ("ALLOW", "RBAC_GRANT_ALLOW", "TUI")]


async def test_role_changes_pause_while_the_store_cannot_be_written(demo, fill_disk) -> None:
    """A grant allowed just before the disk fills is not sent to Discord; the header says role
    changes are paused, and when space returns the grant goes through and the header clears.
    (tests/faults/case_disk.py does the same with a real full disk, against `collect`.)"""
    from console.ui.widgets.status import StatusBar

    app, d = demo
    async with d.run(app):
        sim = await ready(app, d)
        services = d.session.services  # type: ignore[union-attr]
        services.reconciler.schedule = Schedule(first_s=1.0, cap_s=1.0, deadline_s=3600)
        verified = sim.guild.role_id("Verified")
        member = next(u for u in sim.guild.regular_ids() if not has_role(sim, u, verified))
        sim.knobs.role_drop_probability = 1.0  # the first call is answered 204 and not applied
        done = await services.roles.request(
            sim.guild_id, app.operator_id, member, verified, "grant", reason="before the disk filled", source="TUI"
        )
        await eventually(lambda: app.store.role_change(done.change.id), what="intent committed")
        await asyncio.sleep(0.3)  # the first (dropped) call is made
        disk = fill_disk(app.store)
        sim.knobs.role_drop_probability = 0.0  # from now on, any call would apply the role
        sim.emit_random(5)  # the collector's next commit fails too: the console is degraded
        header = app.query_one(StatusBar)
        await eventually(lambda: "ROLE CHANGES PAUSED" in header.render().plain, what="paused shown", app=app)
        assert "DEGRADED" in header.render().plain
        assert any("Role changes paused" in str(n.message) for n in app._notifications)
        await asyncio.sleep(2.5)  # two retry intervals: no call goes out while paused
        assert not has_role(sim, member, verified)
        disk.full = False
        await eventually(lambda: "ROLE CHANGES PAUSED" not in header.render().plain, what="resumed", app=app)
        await eventually(lambda: has_role(sim, member, verified), what="granted after space returned", app=app)
        final = await app.store.role_change(done.change.id)
        assert final is not None
        assert final.state in ("pending", "confirmed")


async def test_a_person_is_named_alike_in_the_header_and_on_their_decision(demo) -> None:
    """The operator read as their username in the header and as their display name on their own
    decision row: one rule names a person everywhere, display name and username where they differ."""
    from console.ui.widgets.status import StatusBar

    app, d = demo
    async with d.run(app):
        sim = await ready(app, d)
        operator = app.operator_id
        username = sim.guild.users[operator]["username"]
        # The names the guild came with are stored first (else they would land over the nick).
        await eventually(lambda: app.store.name_of("member", operator) is not None, what="names stored")
        # A nick set in Discord (its audit entry and GUILD_MEMBER_UPDATE): what the guild shows.
        sim.emit(
            {
                "action_type": 24,
                "user_id": operator,
                "target_id": operator,
                "changes": [{"key": "nick", "new_value": "Salty Nebula"}],
            }
        )
        await eventually(lambda: app.store.name_of("member", operator) == "Salty Nebula", what="nick learnt")
        label = f"Salty Nebula ({username})"

        verified = sim.guild.role_id("Verified")
        member = next(u for u in sim.guild.regular_ids() if not has_role(sim, u, verified))
        done = await d.session.services.roles.request(  # type: ignore[union-attr]
            sim.guild_id, operator, member, verified, "grant", reason="named alike", source="TUI"
        )
        assert done.checked.decision.actor_name == "Salty Nebula", "the policy saw the display name"
        feed = app.query_one(FeedView)

        def decision_line() -> str | None:
            lines = [feed.render_line(y).text for y in range(feed.size.height)]
            return next((line for line in lines if "ALLOW roles.grant" in line), None)

        await eventually(decision_line, what="the decision row", app=app)
        assert "Salty Nebula (" in (decision_line() or ""), decision_line()
        # The whole row, as the feed draws it (the line on screen is cut at the feed's width).
        row = "".join(text for text, _style in record_row(done.checked.decision, feed.context).parts)
        assert f"{label} ({operator})" in row, row
        header = app.query_one(StatusBar)
        await eventually(lambda: label in header.render().plain, what=f"{label} in the header", app=app)
        assert f"operator {label} (" in header.render().plain  # then the id, cut at the header's width


async def test_an_unmapped_login_browses_and_says_so(demo) -> None:
    """A team store's login mapped to no Discord user (the launcher sets ``browse_only``): the
    header says the console has no operator, and an act attempt says why instead of a dialog."""
    from console.ui.widgets.status import StatusBar

    app, d = demo
    async with d.run(app) as pilot:
        await ready(app, d)
        app.operator_id = None
        app.browse_only = "login mod_x is not mapped to a Discord user on this team store: browse only"
        app.screen.live.render_status()
        header = app.query_one(StatusBar)
        await eventually(lambda: "operator none (browse only)" in header.render().plain, what="header", app=app)
        await pilot.press("g")
        await eventually(
            lambda: any("login mod_x is not mapped" in str(n.message) for n in app._notifications), what="notice"
        )
        assert not isinstance(app.screen, RoleDialog)
