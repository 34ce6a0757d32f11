"""Collectors that fail over (PostgreSQL): two real ``audit-console collect`` processes on one
store against the simulator. The second stands by and says who is active; SIGKILL the active one
while the simulator keeps sending, the standby takes over (a new epoch), backfills from the stored
high-water mark, and every entry the simulator sent is stored once; the chain verifies."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import asyncpg

from console.sim import SimConfig, SimServer
from console.store.postgres.verify import verify_postgres

from .collect_process import Collect, start_collect, until


async def _standby_info(db: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "console", "collect", "--standby-info", "--db", db],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_standby_info_on_sqlite_is_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "console", "collect", "--standby-info", "--db", str(tmp_path / "audit.db")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "--standby-info needs a PostgreSQL store" in result.stderr


async def test_a_standby_takes_over_after_sigkill_and_backfills_the_gap(pg_url: str, tmp_path: Path) -> None:
    sim = SimServer(SimConfig(seed=23, heartbeat_interval_ms=500))
    await sim.start()
    env = {
        **os.environ,
        "DISCORD_TOKEN": sim.token,
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    args = ["--guild", str(sim.guild_id), "--rest-url", sim.rest_url, "--db", pg_url]

    async def start() -> Collect:
        return await start_collect(args, env)

    db = await asyncpg.connect(pg_url)
    procs: list[Collect] = []
    try:
        active = await start()
        procs.append(active)
        await until(lambda: active.said("collecting into"), 30, "the first collector did not start", active)
        standby = await start()
        procs.append(standby)
        await until(lambda: standby.said("^audit-console: standing by: "), 30, "no standby line", standby)
        assert standby.said(rf"standing by: .* pid {active.proc.pid} \(epoch 1\) is active since ")
        assert not standby.said("collecting into")

        sim.start_driver(20)
        await asyncio.sleep(1.5)
        active.proc.send_signal(signal.SIGKILL)
        await asyncio.sleep(1.5)  # the simulator goes on while nobody collects
        await until(lambda: standby.said("collecting into"), 30, "the standby did not take over", standby)
        await asyncio.sleep(1.0)
        await sim.stop_driver()
        sent = {int(e["id"]) for e in sim.guild.audit_log}

        async def all_stored() -> bool:
            stored = {r["id"] for r in await db.fetch("SELECT id FROM audit_entries WHERE guild_id = $1", sim.guild_id)}
            return sent <= stored

        await until(all_stored, 30, "entries the simulator sent are missing", standby)
        row = await db.fetchrow("SELECT epoch, pid FROM leadership")
        assert (row["epoch"], row["pid"]) == (2, standby.proc.pid)
        # Stored once each (the id is the key), and nothing but what the simulator sent.
        assert await db.fetchval("SELECT count(*) FROM audit_entries") == len(sent)
        # The takeover's start backfill covered the gap from the old high-water mark, recorded.
        gaps = await db.fetch("SELECT reason, status FROM gaps WHERE guild_id = $1 ORDER BY id", sim.guild_id)
        assert [tuple(g) for g in gaps] == [("first-sync", "recovered"), ("start", "recovered")]
        assert standby.said(r"^audit-console: taking over: epoch 2$")
        info = await _standby_info(pg_url, env)
        assert info.returncode == 0, info.stderr
        assert re.search(rf"active collector .* pid {standby.proc.pid}, epoch 2, since .*UTC", info.stdout), info.stdout
        assert await standby.end() == 0
        info = await _standby_info(pg_url, env)
        assert "no collector is active; the last was" in info.stdout
        assert active.proc.returncode == -signal.SIGKILL
        for p in procs:
            assert not any("Traceback" in line for line in p.lines), "\n".join(p.lines)
        report = await asyncio.to_thread(verify_postgres, pg_url)
        assert report.ok, report.problems
    finally:
        for p in procs:
            if p.proc.returncode is None:
                p.proc.kill()
                await p.proc.wait()
        await db.close()
        await sim.stop()


async def test_a_deposed_collector_stands_by_again_and_takes_over_later(pg_url: str, tmp_path: Path) -> None:
    """The active collector stalls (SIGSTOP) and its lock session ends, as when its machine hangs
    and the server's keepalives give up: the standby takes over. Resumed, the old one writes
    nothing (deposed), says so and stands by; when the new one dies, it takes over again."""
    sim = SimServer(SimConfig(seed=29, heartbeat_interval_ms=500))
    await sim.start()
    env = {
        **os.environ,
        "DISCORD_TOKEN": sim.token,
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    args = ["--guild", str(sim.guild_id), "--rest-url", sim.rest_url, "--db", pg_url]
    db = await asyncpg.connect(pg_url)
    procs: list[Collect] = []
    try:
        first = await start_collect(args, env)
        procs.append(first)
        await until(lambda: first.said("collecting into"), 30, "the first collector did not start", first)
        second = await start_collect(args, env)
        procs.append(second)
        await until(lambda: second.said("standing by: "), 30, "no standby line", second)
        sim.start_driver(20)
        first.proc.send_signal(signal.SIGSTOP)
        holder = await db.fetchval(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND database ="
            " (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        assert await db.fetchval("SELECT pg_terminate_backend($1, 5000)", holder)
        await until(lambda: second.said("collecting into"), 30, "the standby did not take over", second)
        first.proc.send_signal(signal.SIGCONT)
        await until(lambda: first.said("standing by again"), 30, "the deposed one did not stand by", first)
        assert first.said(r"^audit-console: deposed: another collector took over .*epoch 1\) writes nothing more$")
        await until(
            lambda: first.said(rf"standing by: .* pid {second.proc.pid} \(epoch 2\)"), 30, "no standby line", first
        )
        assert first.proc.returncode is None
        second.proc.send_signal(signal.SIGKILL)
        await until(lambda: first.said(r"^audit-console: taking over: epoch 3$"), 30, "no second takeover", first)
        await sim.stop_driver()
        sent = {int(e["id"]) for e in sim.guild.audit_log}

        async def all_stored() -> bool:
            stored = {r["id"] for r in await db.fetch("SELECT id FROM audit_entries WHERE guild_id = $1", sim.guild_id)}
            return sent <= stored

        await until(all_stored, 30, "entries the simulator sent are missing", first)
        assert await db.fetchval("SELECT count(*) FROM audit_entries") == len(sent)
        third = await start_collect(args, env)  # stopped while standing by: a clean end
        procs.append(third)
        await until(lambda: third.said("standing by: "), 30, "no standby line", third)
        assert await third.end() == 0
        assert third.said("^audit-console: stopped while standing by")
        assert await first.end() == 0
        assert not any("Traceback" in line for line in first.lines), "\n".join(first.lines)
        report = await asyncio.to_thread(verify_postgres, pg_url)
        assert report.ok, report.problems
    finally:
        for p in procs:
            if p.proc.returncode is None:
                p.proc.send_signal(signal.SIGCONT)
                p.proc.kill()
                await p.proc.wait()
        await db.close()
        await sim.stop()
