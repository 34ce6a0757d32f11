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
    (tmp_path / "token").write_text(sim.token)
    (tmp_path / "token").chmod(0o600)
    (tmp_path / "policy.toml").write_text(demo_policy_text(sim))
    db = location
    sim.knobs.role_drop_probability = 1.0  # accepted, never applied: they stay pending
    sim.knobs.role_drop_logs_entry = False

    first = start_collect(sim, tmp_path, "first.log", db)
    try:
        await eventually(lambda: sim.commands.by_name("audit") is not None, timeout=30, what="/audit registered")
        verified = sim.guild.role_id("Verified")
        members = [
            u for u in sim.guild.regular_ids() if verified not in [int(r) for r in sim.guild.member_object(u)["roles"]]
        ][:5]
        moderator = demo_operator(sim)
        for uid in members:
            inv = sim.invoke_command(
                moderator,
                "audit",
                [
                    {
                        "name": "role",
                        "options": [
                            {
                                "name": "grant",
                                "options": [
                                    {"name": "member", "value": str(uid)},
                                    {"name": "role", "value": str(verified)},
                                    {"name": "reason", "value": "restart test"},
                                ],
                            }
                        ],
                    }
                ],
            )
            assert "allowed" in (await inv.wait_response(15))["data"]["content"]

        async def tried() -> bool:
            rows = await states(db)
            return len(rows) == 5 and all(state == "pending" and attempts >= 1 for _, state, attempts in rows)

        await eventually(tried, timeout=30, what="5 pending changes, each tried")
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

        await eventually(confirmed, timeout=60, what="all confirmed after the restart")
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
        timeout=60,
    )
    assert (checked.returncode, checked.stderr) == (0, ""), checked.stdout
