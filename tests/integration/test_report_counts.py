"""``audit-console report`` over a store filled by the real ingestion (the hikari client against
the simulator), decisions made by the real gatekeeper, role changes through the store API — and
every count checked against a straightforward count of the same SQLite file written here."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from console.model.actions import action_name
from console.model.permissions import flag_value
from console.model.records import RoleChange
from console.model.snowflake import from_ms
from console.policy.engine import Request
from console.policy.gatekeeper import Gatekeeper
from console.policy.guild import GuildSnapshot
from console.policy.policy_file import PolicyFile
from console.policy.resolver import resolve
from console.sim import SimConfig, SimServer
from console.sim.demo_policy import demo_policy_text

from .conftest import Console


def _ms(iso: str) -> int:
    return int(dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def _report(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "console", "report", "--db", str(db), *args], capture_output=True, text=True, timeout=300
    )


async def _seed(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    sim = SimServer(SimConfig(seed=7, heartbeat_interval_ms=500))
    sim.seed_history(150, days_back=20)  # some of it older than the report's 14 days
    await sim.start()
    console = Console(sim, tmp_path / "audit.db")
    g = sim.guild
    try:
        collector = await console.start()
        sim.emit_random(40)
        store = console.store
        assert store is not None
        from console.sim.testing import eventually

        async def caught_up() -> bool:
            return await store.count() >= len(g.audit_log)

        await eventually(caught_up, what="live entries stored")
        await collector.wait_idle()
        gid = sim.guild_id
        admin = next(u for u in g.staff_ids() if g.role_id("Admin") in [int(r) for r in g.member_object(u)["roles"]])
        mods = [u for u in g.staff_ids() if g.role_id("Moderators") in [int(r) for r in g.member_object(u)["roles"]]]
        regular = g.regular_ids()
        policy = tmp_path / "policy.toml"
        policy.write_text(
            demo_policy_text(sim)
            + "\n".join(
                [
                    "[[overrides]]",
                    f'user = "{mods[0]}"',
                    'capability = "roles.revoke"',
                    'effect = "DENY"',
                    'reason = "under review"',
                    'expires = "2099-01-01T00:00:00Z"',
                    "",
                    "[[overrides]]",
                    f'user = "{regular[0]}"',
                    'capability = "policy.explain"',
                    'effect = "ALLOW"',
                    'reason = "asks a lot"',
                    'expires = "2099-01-01T00:00:00Z"',
                    "",
                ]
            ),
            encoding="utf-8",
        )
        gate = Gatekeeper(store, PolicyFile(policy))
        role = g.assignable_role_ids()[0]
        for uid, cap in [
            (regular[0], "roles.grant"),
            (regular[1], "roles.grant"),
            (regular[1], "console.export"),
            (mods[0], "roles.revoke"),
            (mods[0], "roles.revoke"),
            (mods[0], "roles.grant"),
            (regular[0], "policy.explain"),
        ]:
            await gate.check(gid, Request(uid, cap, "role", role, None, role), "CLI")
        checked, _ = await gate.break_glass(gid, admin, on=True, source="BOT", minutes=10)
        assert checked.allowed
        await gate.check(gid, Request(admin, "roles.grant", "role", role, None, role), "TUI")  # BREAK_GLASS
        now = store.now_ms()
        for n, state in enumerate(("confirmed", "confirmed", "failed", "cancelled", "pending")):
            await store.record_role_change(
                RoleChange(
                    id=store.ids.make(now),
                    guild_id=gid,
                    member_id=regular[n],
                    role_id=role,
                    op="grant" if n % 2 else "revoke",
                    reason="test",
                    requested_by=mods[0],
                    source="CLI",
                    decision_id=None,
                    state=state,
                    created_at=now - n * 1000,
                    updated_at=now,
                    next_attempt_at=None,
                    deadline_at=now + 600_000,
                    attempts=1,
                    observed_at=None,
                    error=None,
                    linked_entry_id=None,
                    message_id=None,
                    cancelled_by=None,
                )
            )
        # One role change far outside the window: must not be counted.
        await store.record_role_change(
            RoleChange(
                id=from_ms(now - 40 * 86_400_000),
                guild_id=gid,
                member_id=regular[0],
                role_id=role,
                op="grant",
                reason="old",
                requested_by=mods[0],
                source="CLI",
                decision_id=None,
                state="confirmed",
                created_at=now - 40 * 86_400_000,
                updated_at=now,
                next_attempt_at=None,
                deadline_at=None,
                attempts=1,
                observed_at=None,
                error=None,
                linked_entry_id=None,
                message_id=None,
                cancelled_by=None,
            )
        )
        return console.db, {"guild": gid, "staff": set(g.staff_ids()) | {g.owner_id}}
    finally:
        await console.stop()
        await sim.stop()


async def test_report_matches_counts_from_the_store(tmp_path: Path) -> None:
    db, ids = await _seed(tmp_path)
    done = _report(db, "--format", "json", "--since", "14d")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["format_version"] == 1
    assert report["format"] == "audit-console-report"
    since, until = _ms(report["since"]), _ms(report["until"])
    assert until - since == 14 * 86_400_000

    con = sqlite3.connect(db)
    # Independent counts: by created_at (the report selects by id range), and in Python.
    entries = con.execute(
        "SELECT actor_id, action_type FROM audit_entries WHERE created_at >= ? AND created_at < ?", (since, until)
    ).fetchall()
    older = con.execute("SELECT count(*) FROM audit_entries WHERE created_at < ?", (since,)).fetchone()[0]
    assert entries, "the seed must put entries on both sides of the window"
    assert older, "the seed must put entries on both sides of the window"
    assert report["totals"]["actions"] == len(entries)
    per_actor = Counter(a for a, _ in entries)
    assert {(p["id"], p["count"]) for p in report["actions_by_moderator"]} == {
        (None if a is None else str(a), n) for a, n in per_actor.items()
    }
    counts = [p["count"] for p in report["actions_by_moderator"]]
    assert counts == sorted(counts, reverse=True)
    per_type = Counter(t for _, t in entries)
    assert {(t["action_type"], t["action"], t["count"]) for t in report["actions_by_type"]} == {
        (t, action_name(t), n) for t, n in per_type.items()
    }

    decisions = con.execute(
        "SELECT actor_id, capability, result, reason_code FROM decisions WHERE created_at >= ? AND created_at < ?",
        (since, until),
    ).fetchall()
    assert report["totals"]["decisions"] == len(decisions) == 9
    denied = [d for d in decisions if d[2] == "DENY"]
    assert denied
    assert report["totals"]["denials"] == len(denied)
    assert {(c["capability"], c["count"]) for c in report["denials_by_capability"]} == set(
        Counter(d[1] for d in denied).items()
    )
    assert {(p["id"], p["count"]) for p in report["denials_by_person"]} == {
        (str(a), n) for a, n in Counter(d[0] for d in denied).items()
    }
    codes = Counter(d[3] for d in decisions)
    assert report["escalations"]["by_reason_code"] == {
        c: codes.get(c, 0) for c in ("BREAK_GLASS", "OVERRIDE_ALLOW", "OVERRIDE_DENY")
    }
    assert all(report["escalations"]["by_reason_code"].values()), "each escalation kind is seeded"
    assert {(p["id"], p["reason_code"], p["count"]) for p in report["escalations"]["by_person"]} == {
        (str(a), c, n)
        for (a, c), n in Counter(
            (d[0], d[3]) for d in decisions if d[3] in ("BREAK_GLASS", "OVERRIDE_ALLOW", "OVERRIDE_DENY")
        ).items()
    }
    sessions = con.execute(
        "SELECT user_id FROM break_glass WHERE started_at >= ? AND started_at < ?", (since, until)
    ).fetchall()
    assert [s["user_id"] for s in report["escalations"]["break_glass_sessions"]] == [str(u) for (u,) in sessions]
    assert len(sessions) == report["totals"]["break_glass_sessions"] == 1

    changes = con.execute(
        "SELECT state, op FROM role_changes WHERE created_at >= ? AND created_at < ?", (since, until)
    ).fetchall()
    assert report["role_changes"]["by_state"] == dict(Counter(s for s, _ in changes))
    assert report["role_changes"]["by_op"] == dict(Counter(o for _, o in changes))
    assert report["totals"]["role_changes"] == len(changes) == 5

    tables = {n for (n,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "alerts" in tables:
        alerts = Counter(
            r
            for (r,) in con.execute("SELECT rule FROM alerts WHERE created_at >= ? AND created_at < ?", (since, until))
        )
        assert report["alerts"]["recorded"] is True
        assert {(a["rule"], a["count"]) for a in report["alerts"]["by_rule"]} == set(alerts.items())
    else:
        assert report["alerts"] == {"recorded": False, "by_rule": []}

    # Inactive staff: members of the stored guild state whose permissions (by the policy's own
    # resolver, Discord's algorithm) include a moderation permission, minus whoever acted or was
    # decided on in the window. The simulator's random role updates can hand ADMINISTRATOR to a
    # plain role, so this is by permission, not by the simulator's "staff" roles.
    acted = {a for a, _ in entries if a is not None} | {d[0] for d in decisions}
    (snapshot,) = con.execute("SELECT snapshot FROM guild_state WHERE guild_id = ?", (ids["guild"],)).fetchone()
    guild = GuildSnapshot.from_rest(json.loads(snapshot))
    wanted = 0
    for name in (
        "ADMINISTRATOR",
        "BAN_MEMBERS",
        "KICK_MEMBERS",
        "MODERATE_MEMBERS",
        "MANAGE_ROLES",
        "MANAGE_MESSAGES",
        "MANAGE_GUILD",
        "MANAGE_CHANNELS",
        "VIEW_AUDIT_LOG",
    ):
        wanted |= flag_value(name)
    bots = {int(m["user"]["id"]) for m in json.loads(snapshot)["members"] if m["user"].get("bot")}
    staff = {
        m.id
        for m in guild.members.values()
        if m.id not in bots and resolve(guild, m.id, now_ms=2**50, explain=False).permissions & wanted
    }
    assert ids["staff"] & staff, "the stored guild state holds the simulator's staff"
    assert staff - acted, "someone is inactive"
    assert {p["id"] for p in report["inactive_staff"]} == {str(u) for u in staff - acted}

    # Markdown: the same numbers in tables.
    md = _report(db, "--since", "14d")
    assert md.returncode == 0, md.stderr
    assert md.stdout.startswith("# Audit report: ")
    assert f"**Summary:** {report['totals']['actions']} actions" in md.stdout
    for section in (
        "## Actions per moderator",
        "### Inactive staff",
        "## Actions per type",
        "## Denials per capability",
        "## Denials per person",
        "## Break-glass and overrides",
        "## Alerts",
        "## Role changes per final state",
    ):
        assert section in md.stdout
