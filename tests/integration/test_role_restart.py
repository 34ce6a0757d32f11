"""Kill the collecting console (SIGKILL) with role changes pending; start it again: they resume,
none is lost, none is applied twice. The console runs as its own process (`audit-console
collect`); the simulated Discord runs here, so the test can turn its faults on and off. On both
store backends: PostgreSQL's collector takes its lock and writes its changes as SQLite's does."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from backends import BOTH, db_arg, query

from console.model.location import StoreLocation
from console.sim import SimServer
from console.sim.demo_policy import demo_operator, demo_policy_text

from .conftest import eventually
from .test_role_changes import applied_per_request, roles_of

BACKENDS = BOTH


def start_collect(sim: SimServer, tmp: Path, log_name: str, db: StoreLocation | None = None) -> subprocess.Popen:
    """`collect` in its own process into ``db`` (default: audit.db in ``tmp``)."""
    env = {**os.environ, "XDG_STATE_HOME": str(tmp / "state")}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "console",
            "collect",
            "--db",
            db_arg(db or tmp / "audit.db"),
            "--rest-url",
            sim.rest_url,
            "--token-file",
            str(tmp / "token"),
            "--guild",
            str(sim.guild_id),
            "--policy",
            str(tmp / "policy.toml"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=(tmp / log_name).open("w"),
        stdin=subprocess.DEVNULL,
        env=env,
    )


async def states(db: StoreLocation) -> list[tuple[int, str, int]]:
    return await query(db, "SELECT id, state, attempts FROM role_changes ORDER BY id")  # type: ignore[return-value]


async def grant(sim: SimServer, uid: int, role: int) -> None:
    """/audit role grant by the demo's operator, allowed by the policy (a pending request)."""
    options = [
        {"name": "member", "value": str(uid)},
        {"name": "role", "value": str(role)},
        {"name": "reason", "value": "restart test"},
    ]
    inv = sim.invoke_command(
        demo_operator(sim), "audit", [{"name": "role", "options": [{"name": "grant", "options": options}]}]
    )
    assert "allowed" in (await inv.wait_response())["data"]["content"]


def setup_files(sim: SimServer, tmp: Path) -> None:
    (tmp / "token").write_text(sim.token)
    (tmp / "token").chmod(0o600)
    (tmp / "policy.toml").write_text(demo_policy_text(sim))


def applied(sim: SimServer) -> Counter:
    seen: Counter = Counter()
    for e in sim.guild.audit_log:
        if e["action_type"] == 25:
            for ch in e["changes"]:
                for r in ch["new_value"]:
                    seen[(int(e["target_id"]), int(r["id"]))] += 1
    return seen


async def test_sigkill_with_changes_pending_then_resume(
    sim: SimServer, tmp_path: Path, location: StoreLocation
) -> None:
    setup_files(sim, tmp_path)
    db = location
    sim.knobs.role_drop_probability = 1.0  # accepted, never applied: they stay pending
    sim.knobs.role_drop_logs_entry = False

    first = start_collect(sim, tmp_path, "first.log", db)
    try:
        await eventually(lambda: sim.commands.by_name("audit") is not None, what="/audit registered")
        verified = sim.guild.role_id("Verified")
        members = [
            u for u in sim.guild.regular_ids() if verified not in [int(r) for r in sim.guild.member_object(u)["roles"]]
        ][:5]
        for uid in members:
            await grant(sim, uid, verified)

        async def tried() -> bool:
            rows = await states(db)
            return len(rows) == 5 and all(state == "pending" and attempts >= 1 for _, state, attempts in rows)

        await eventually(tried, what="5 pending changes, each tried")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    before = await states(db)
    assert [s for _, s, _ in before] == ["pending"] * 5

    sim.knobs.role_drop_probability = 0.0
    second = start_collect(sim, tmp_path, "second.log", db)
    try:

        async def confirmed() -> bool:
            return [s for _, s, _ in await states(db)] == ["confirmed"] * 5

        await eventually(confirmed, what="all confirmed after the restart")
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0, (tmp_path / "second.log").read_text()

    after = await states(db)
    assert [i for i, _, _ in after] == [i for i, _, _ in before], "the same changes: none lost, none added"
    counts = applied(sim)
    for uid in members:
        assert verified in [int(r) for r in sim.guild.member_object(uid)["roles"]]
        assert counts[(uid, verified)] == 1, "applied exactly once"
    # Killed mid-flight and restarted: the decisions and final states are all in the chain.
    checked = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "console", "verify", "--db", db_arg(db)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert (checked.returncode, checked.stderr) == (0, ""), checked.stdout


async def killed_after_its_call_then_undone(sim: SimServer, tmp: Path, db: StoreLocation) -> tuple[int, int, int]:
    """A collector killed right after its PUT; Discord applies the grant late, and a moderator
    removes the role while no collector runs. (change id, member, the undo's entry id)"""
    setup_files(sim, tmp)
    verified = sim.guild.role_id("Verified")
    uid = next(u for u in sim.guild.regular_ids() if verified not in roles_of(sim, u))
    sim.knobs.role_drop_probability = 1.0  # accepted and not applied yet: applied below, late
    sim.knobs.role_drop_logs_entry = False
    first = start_collect(sim, tmp, "first.log", db)
    try:
        await eventually(lambda: sim.commands.by_name("audit") is not None, what="/audit registered")
        await grant(sim, uid, verified)

        async def called() -> bool:
            return [(s, a >= 1) for _, s, a in await states(db)] == [("pending", True)]

        await eventually(called, what="the grant called once")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    [(change_id, _, _)] = await states(db)
    sim.knobs.role_drop_probability = 0.0
    sim.member_role_change(uid, verified, add=True, reason=f"restart test [request {change_id}]")
    moderator = next(m for m in sim.guild.staff_ids() if m != sim.bot_id)
    sim.member_role_change(uid, verified, add=False, reason="not yet", actor=moderator)
    undo = sim.guild.audit_log[-1]
    assert (int(undo["user_id"]), undo["changes"][0]["key"]) == (moderator, "$remove")
    return change_id, uid, int(undo["id"])


async def run_until_final(sim: SimServer, tmp: Path, db: StoreLocation) -> None:
    """The next collector, until the inherited change is final."""
    second = start_collect(sim, tmp, "second.log", db)
    try:

        async def final() -> bool:
            return [s for _, s, _ in await states(db)] != ["pending"]

        await eventually(final, what="the inherited change final")
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0, (tmp / "second.log").read_text()


async def test_a_call_applied_and_undone_while_no_collector_ran_is_reverted_not_called_again(
    sim: SimServer, tmp_path: Path, location: StoreLocation
) -> None:
    """The next collector inherits the change pending with one attempt: it waits for its start
    backfill (slow here: each audit-log page takes 2 s) to store the moderator's undo, then finds
    it, so the change ends reverted, linked to that entry, applied once. It used to look at the
    member before the backfill had stored the undo, find the role gone and no reason why, and
    call again: the grant applied a second time."""
    change_id, uid, undo_id = await killed_after_its_call_then_undone(sim, tmp_path, location)
    sim.knobs.audit_log_delay_s = 2.0
    await run_until_final(sim, tmp_path, location)

    rows = await query(location, "SELECT state, linked_entry_id FROM role_changes")
    assert [(s, int(e) if e is not None else None) for s, e in rows] == [("reverted", undo_id)]
    assert applied_per_request(sim)[change_id] == 1, "applied once: not called again after the undo"
    assert sim.guild.role_id("Verified") not in roles_of(sim, uid), "the moderator's removal stands"


async def test_an_inherited_change_goes_on_when_the_start_backfill_fails_and_says_so(
    sim: SimServer, tmp_path: Path, location: StoreLocation
) -> None:
    """The audit log refused at the next start (403): its backfill fails, and the inherited change
    is not held until it expires. It goes on without the undo (called again, as before this
    check), and its member fetch's attempt says the audit log since the last collector was not
    read, and why."""
    change_id, _, _ = await killed_after_its_call_then_undone(sim, tmp_path, location)
    sim.knobs.audit_log_forbidden = {sim.guild_id}
    await run_until_final(sim, tmp_path, location)

    assert [s for _, s, _ in await states(location)] == ["confirmed"]
    attempts = await query(location, f"SELECT observed, error FROM role_change_attempts WHERE change_id = {change_id}")
    fetch_errors = [e for observed, e in attempts if observed == "member fetch: role absent"]
    [error] = fetch_errors
    assert error.startswith("the audit log since the last collector was not read (the bot may not read"), error
    assert "403 Missing Permissions" in error
    assert "go on without the audit log since then" in (tmp_path / "second.log").read_text()
