"""`audit-console collect` as an operator runs it: against the simulator (its own process),
progress on stderr, SIGTERM flushes and exits 0; `backfill` afterwards finds the gap. Into a SQLite
file and into a PostgreSQL database, as a new user points `--db` at either."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from backends import BOTH, db_arg, query

from console.model.location import StoreLocation

BACKENDS = BOTH


def _rows(db: StoreLocation, sql: str) -> list[tuple[Any, ...]]:
    return asyncio.run(query(db, sql))


def _count(db: StoreLocation) -> int:
    rows = _rows(db, "SELECT count(*) FROM audit_entries")
    return int(rows[0][0]) if rows else 0


def test_collect_then_sigterm_then_backfill(location: StoreLocation) -> None:
    sim = subprocess.Popen(
        [sys.executable, "-m", "console", "sim", "--rate", "40", "--seed", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert sim.stdout is not None
        fields = dict(part.split("=", 1) for part in sim.stdout.readline().split() if "=" in part)
        db = location
        env = {**os.environ, "DISCORD_TOKEN": fields["token"]}
        common = ["--guild", fields["guild_id"], "--rest-url", fields["rest_url"], "--db", db_arg(db)]
        collect = subprocess.Popen(
            [sys.executable, "-m", "console", "collect", *common],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        deadline = time.monotonic() + 300
        while _count(db) < 60 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _count(db) >= 60
        collect.send_signal(signal.SIGTERM)
        out, err = collect.communicate(timeout=300)
        assert collect.returncode == 0, err
        assert "stopped cleanly" in err
        assert "Traceback" not in err
        assert fields["token"] not in err + out
        # Once connected, the process's long-lived objects left the garbage collector's full
        # passes (console.gc_policy: each would otherwise stall the loop).
        log_text = (Path(os.environ["XDG_STATE_HOME"]) / "audit-console" / "console.log").read_text()
        assert "long-lived objects frozen out of the garbage collector's passes" in log_text
        stored = _count(db)
        time.sleep(1.5)  # the simulator keeps going while nobody collects
        result = subprocess.run(
            [sys.executable, "-m", "console", "backfill", *common], capture_output=True, text=True, env=env, timeout=300
        )
        assert result.returncode == 0, result.stderr
        assert "recovered" in result.stdout
        assert _count(db) > stored
        reasons = [r[0] for r in _rows(db, "SELECT reason FROM gaps ORDER BY id")]
        assert reasons == ["first-sync", "manual"]
        # Everything the gateway, the backfills and the rechecks stored is in the integrity chain.
        verify = subprocess.run(
            [sys.executable, "-m", "console", "verify", "--db", db_arg(db)], capture_output=True, text=True, timeout=300
        )
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert "verify: ok" in verify.stdout, verify.stdout + verify.stderr
    finally:
        sim.terminate()
        sim.wait(10)
