"""What a real server does to a new setup, as `collect` and `backfill` say it: Discord closing
the gateway for good (4004, 4010, 4011, 4013, 4014) and refusing the audit log (403 50013).
Each is one line on stderr and exit code 2 (a setup mistake), never a traceback, and nothing is
written to the store that should not be. The real CLI in a subprocess; the simulator in this
test's loop (so the test can change it while the command runs)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from pathlib import Path

import pytest

from console.sim import SimServer
from console.sim.testing import eventually

FIXES = {
    4004: "authentication failed): the token was rejected: reset it in the Developer Portal (Bot → Reset Token)"
    " and put the new one in the token file",
    4010: "invalid shard): Discord refused the shard asked for: start the console again (it asks Discord for the"
    " shard count at each start)",
    4011: "sharding required): the bot is in more guilds than one connection may serve: give the console a bot"
    " application of its own, in your guilds only",
    4013: "invalid intents): Discord does not accept the intents this audit-console asks for: upgrade it",
    4014: "disallowed intents): enable Server Members Intent under Bot → Privileged Gateway Intents in the"
    " Developer Portal",
}


def closed_line(code: int) -> str:
    return f"audit-console: Discord closed the gateway with {code} ({FIXES[code]}"


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    if not db.exists():
        return []
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return list(conn.execute(sql))


def count(db: Path, table: str) -> int:
    found = rows(db, f"SELECT count(*) FROM {table}")
    return int(found[0][0]) if found else 0  # type: ignore[call-overload]


async def start(sim: SimServer, db: Path, command: str) -> asyncio.subprocess.Process:
    args = [command, "--guild", str(sim.guild_id), "--rest-url", sim.rest_url, "--db", str(db)]
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "console",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "DISCORD_TOKEN": sim.token},
    )


async def finish(proc: asyncio.subprocess.Process) -> tuple[int, list[str]]:
    _, err = await asyncio.wait_for(proc.communicate(), 300)
    assert proc.returncode is not None
    return proc.returncode, err.decode().splitlines()


@pytest.mark.parametrize("code", sorted(FIXES))
async def test_collect_refused_at_identify_is_one_line_and_exit_2(sim: SimServer, tmp_path: Path, code: int) -> None:
    sim.knobs.identify_close_code = code
    db = tmp_path / "audit.db"
    rc, err = await finish(await start(sim, db, "collect"))
    assert (rc, err) == (2, [closed_line(code)])
    assert sim.gateway.identifies == 0
    # Never connected: nothing to record, no gap opened, no "live until" mark.
    assert count(db, "audit_entries") == count(db, "gaps") == count(db, "sync_state") == 0


async def test_collect_closed_later_says_so_and_exits_2(sim: SimServer, tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    sim.emit_random(5)
    proc = await start(sim, db, "collect")
    assert proc.stderr is not None
    lines: list[str] = []
    while not any("collecting into" in line for line in lines):
        lines.append((await asyncio.wait_for(proc.stderr.readline(), 120)).decode().rstrip("\n"))
    synced = [("first-sync", "recovered")]
    await eventually(lambda: rows(db, "SELECT reason, status FROM gaps") == synced, what="the first sync")
    await sim.gateway.disconnect_all(4014)  # the portal toggle turned off while collecting
    rc, rest = await finish(proc)
    assert rc == 2
    assert closed_line(4014) in rest
    assert rest[-1].startswith("audit-console: stopped: the gateway is closed; ")
    assert not any("Traceback" in line or "ERROR" in line for line in lines + rest)
    # What was collected stays; no gap is opened for a connection Discord will not take back.
    assert count(db, "audit_entries") == len(sim.guild.audit_log)
    assert rows(db, "SELECT reason, status FROM gaps") == synced


async def test_backfill_refused_by_the_audit_log_is_one_line_and_exit_2(sim: SimServer, tmp_path: Path) -> None:
    sim.emit_random(5)
    sim.set_audit_log_access(False)
    db = tmp_path / "audit.db"
    rc, err = await finish(await start(sim, db, "backfill"))
    assert (rc, err) == (
        2,
        [
            f"audit-console: the bot may not read the audit log of guild {sim.guild_id} (403 Missing Permissions):"
            " give its role View Audit Log under Server Settings → Roles"
        ],
    )
    # The gap is recorded (what may be missing, and why it is not recovered); nothing else.
    assert count(db, "audit_entries") == 0
    assert rows(db, "SELECT reason, status FROM gaps") == [("first-sync", "failed")]
    assert rows(db, "SELECT count(*) FROM sync_state WHERE hwm IS NOT NULL") == [(0,)]
