"""Full disk: the real ``audit-console collect`` (real hikari against the simulator) runs as its own
process; the test takes its file-size limit away (``prlimit`` RLIMIT_FSIZE = 0: every write to
any file fails with EFBIG, which SQLite reports as a disk I/O error; Python ignores SIGXFSZ) and
gives it back, while the process keeps running.

While the disk is "full": the sim keeps emitting entries, the gateway session is invalidated (so
entries are missed and only a backfill can bring them back), and requests for role changes are
handed in by ``audit-console role`` (a separate process with no limit, the way an operator would).
The console must show DEGRADED, call nothing on Discord, acknowledge nothing it did not commit
(the high-water mark, the "stored" count), and once space returns recover everything through
backfill and carry out the requests. A pilot run of the real TUI checks the header shows it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import resource
import sqlite3
import sys
import time
from pathlib import Path

from faultkit import Figure, zero

from console.sim import SimConfig, SimServer
from console.sim.demo_policy import demo_operator, demo_policy_text
from console.store.verify import verify

NAME = "disk"
TITLE = "Full disk: degraded mode, no role changes, nothing acknowledged unwritten, recovery by backfill"

UNLIMITED = (resource.RLIM_INFINITY, resource.RLIM_INFINITY)
FULL = (0, resource.RLIM_INFINITY)
RECOVER_TARGET_S = 10.0


class Collect:
    """``audit-console collect`` as a child process; its stderr lines with the time they came."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[tuple[float, str]] = []
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        async for raw in self.proc.stderr:
            self.lines.append((time.monotonic(), raw.decode(errors="replace").rstrip("\n")))

    def first(self, pattern: str, after: float = 0.0) -> float | None:
        rx = re.compile(pattern)
        return next((t for t, line in self.lines if t >= after and rx.search(line)), None)

    def text(self) -> str:
        return "\n".join(line for _, line in self.lines)

    def set_fsize(self, limit: tuple[int, int]) -> None:
        resource.prlimit(self.proc.pid, resource.RLIMIT_FSIZE, limit)

    async def stop(self) -> int:
        if self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._reader, 5)
        return self.proc.returncode  # type: ignore[return-value]


def _cli(tmp: Path, sim: SimServer, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "console",
        *args,
        "--db",
        str(tmp / "audit.db"),
        "--rest-url",
        sim.rest_url,
        "--token-file",
        str(tmp / "token"),
        "--config",
        str(tmp / "config.toml"),
        "--policy",
        str(tmp / "policy.toml"),
    ]


def _env(tmp: Path) -> dict[str, str]:
    return {**os.environ, "XDG_STATE_HOME": str(tmp / "state"), "XDG_CONFIG_HOME": str(tmp / "config")}


def _read(db: Path, sql: str, args: tuple = ()) -> list[tuple]:
    """A plain read-only look from this (unlimited) process, beside the collector."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def _unacknowledged(db: Path, sim: SimServer) -> int:
    """Entries the store says it holds (id ≤ the high-water mark) that it does not hold."""
    row = _read(db, "SELECT hwm FROM sync_state WHERE guild_id = ?", (sim.guild_id,))
    hwm = row[0][0] if row and row[0][0] is not None else 0
    stored = {r[0] for r in _read(db, "SELECT id FROM audit_entries WHERE guild_id = ?", (sim.guild_id,))}
    return sum(1 for e in sim.guild.audit_log if int(e["id"]) <= hwm and int(e["id"]) not in stored)


def _missing(db: Path, truth: set[int]) -> int:
    stored = {r[0] for r in _read(db, "SELECT id FROM audit_entries")}
    return len(truth - stored)


async def _until(predicate, timeout: float, step: float = 0.1) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(step)
    return bool(predicate())


async def run(short: bool, workdir: Path) -> list[Figure]:
    episodes = 1 if short else 3
    full_s = 6.0 if short else 15.0
    rate = 10.0 if short else 30.0
    sim = SimServer(SimConfig(seed=71, heartbeat_interval_ms=500))
    await sim.start()
    calls: list[float] = []  # when Discord (the sim) received each role PUT/DELETE, whatever it answered
    original = sim.rest._role_op

    async def counted(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(time.monotonic())
        return await original(*args, **kwargs)

    sim.rest._role_op = counted  # type: ignore[method-assign]
    db = workdir / "audit.db"
    (workdir / "token").write_text(sim.token)
    (workdir / "token").chmod(0o600)
    (workdir / "policy.toml").write_text(demo_policy_text(sim))
    (workdir / "config.toml").write_text(f'operator_id = "{demo_operator(sim)}"\n')
    proc = await asyncio.create_subprocess_exec(
        *_cli(workdir, sim, "collect", "--guild", str(sim.guild_id)),
        env=_env(workdir),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    collect = Collect(proc)
    unacked = violations_calls = not_shown = unconfirmed = 0
    recover_times: list[float] = []
    missing = 0
    requested: list[int] = []
    exit_code: int | None = None
    problems: list[str] = []
    try:
        if not await _until(lambda: collect.first(r"collecting into") is not None, 30):
            raise AssertionError("collect did not start:\n" + collect.text())
        await _until(lambda: bool(_read(db, "SELECT hwm FROM sync_state WHERE hwm IS NOT NULL")), 15)
        sim.start_driver(rate)
        verified = sim.guild.role_id("Verified")
        candidates = [
            u for u in sim.guild.regular_ids() if verified not in [int(r) for r in sim.guild.member_object(u)["roles"]]
        ]
        for episode in range(episodes):
            await asyncio.sleep(1.5)
            unacked += _unacknowledged(db, sim)
            full_at = time.monotonic()
            collect.set_fsize(FULL)
            shown = await _until(lambda: collect.first(r"DEGRADED", after=full_at) is not None, 5)  # noqa: B023
            degraded_at = collect.first(r"DEGRADED", after=full_at) if shown else time.monotonic()
            not_shown += 0 if shown else 1
            # A new session while full: its start backfill cannot be stored, and what the sim
            # emits before the client identifies again never reaches it live.
            await sim.gateway.send_invalid_session(resumable=False)
            sim.emit_random(15)
            # Requests handed in beside the collector (this process has no limit).
            members = candidates[episode * 2 : episode * 2 + 2]
            for uid in members:
                cli = await asyncio.create_subprocess_exec(
                    *_cli(
                        workdir,
                        sim,
                        "role",
                        "grant",
                        "--guild",
                        str(sim.guild_id),
                        "--member",
                        str(uid),
                        "--role",
                        str(verified),
                        "--reason",
                        f"disk episode {episode}",
                        "--wait",
                        "0",
                    ),
                    env=_env(workdir),
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.PIPE,
                )
                _, err = await cli.communicate()
                if cli.returncode != 0:
                    raise AssertionError(f"role hand-in failed: {err.decode(errors='replace')}")
                requested.append(uid)
            # Long enough after the last hand-in for the collector to take it on (it looks every 2 s).
            await asyncio.sleep(max(3.0, full_s - (time.monotonic() - full_at)))
            unacked += _unacknowledged(db, sim)
            await sim.stop_driver()
            truth = {int(e["id"]) for e in sim.guild.audit_log}
            lift_at = time.monotonic()
            violations_calls += sum(1 for t in calls if degraded_at <= t < lift_at)
            if os.environ.get("FAULTS_VERBOSE"):
                print(
                    f"full {full_at:.2f} degraded {degraded_at:.2f} lift {lift_at:.2f} calls {calls}", file=sys.stderr
                )
            collect.set_fsize(UNLIMITED)
            back = await _until(lambda: _missing(db, truth) == 0, 30 if short else 60, 0.05)  # noqa: B023
            recover_times.append(time.monotonic() - lift_at if back else float("inf"))
            missing += _missing(db, truth)
            unacked += _unacknowledged(db, sim)
            if episode + 1 < episodes:
                sim.start_driver(rate)

        def settled() -> int:
            # Confirmed (and the sim agrees), or failed because the member left meanwhile (the
            # simulated guild's stream kicks and bans people too).
            done = 0
            for state, uid, error in _read(db, "SELECT state, member_id, error FROM role_changes WHERE source = 'CLI'"):
                member = sim.guild.members.get(uid)
                if (
                    state == "confirmed"
                    and (member is None or verified in [int(r) for r in sim.guild.member_object(uid)["roles"]])
                    or state == "failed"
                    and "Unknown Member" in (error or "")
                ):
                    done += 1
            return done

        await _until(lambda: settled() == len(requested), 20, 0.2)
        unconfirmed = len(requested) - settled()
    finally:
        with contextlib.suppress(Exception):
            collect.set_fsize(UNLIMITED)
        exit_code = await collect.stop()
        await sim.stop()
    if os.environ.get("FAULTS_VERBOSE"):
        print(collect.text(), file=sys.stderr)
    # The last "stored this run" the console claimed against what the file holds (a fresh store).
    claimed = re.findall(r"stopped cleanly; (\d+) entries stored", collect.text())
    held = _read(db, "SELECT count(*) FROM audit_entries")[0][0]
    if claimed:
        unacked += max(0, int(claimed[-1]) - held)
    else:
        unacked += 1  # it did not say what it stored: counted as not shown correctly
    report = verify(db)
    problems = list(report.problems) + ([f"collect exited {exit_code}"] if exit_code != 0 else [])
    tui_ok, tui_note = await tui_shows_degraded(workdir / "tui.db")
    not_shown += 0 if tui_ok else 1
    worst = max(recover_times) if recover_times else float("inf")
    note = f"{episodes} × {full_s:.0f} s full at {rate:.0f} entries/s, {len(requested)} role requests"
    return [
        zero(NAME, "entries acknowledged but not written", unacked, note + "; hwm and stored count vs the file"),
        zero(NAME, "role-change calls made on Discord while degraded", violations_calls, note),
        zero(NAME, "entries missing after space returns and recovery", missing, "vs the simulator's ground truth"),
        zero(NAME, "degraded state not shown", not_shown, "collect's stderr and the TUI header; " + tui_note),
        zero(NAME, "role requests not carried out after recovery", unconfirmed, f"{len(requested)} handed in"),
        zero(
            NAME,
            "integrity or hash-chain problems after recovery",
            len(problems),
            "; ".join(problems)[:120] or "verify",
        ),
        Figure(
            NAME,
            "time to recover after space returns",
            "∞" if worst == float("inf") else f"{worst:.1f} s",
            f"≤ {RECOVER_TARGET_S:.0f} s",
            worst <= RECOVER_TARGET_S,
            "until every entry is stored (worst)",
        ),
    ]


async def tui_shows_degraded(db: Path) -> tuple[bool, str]:
    """The real app on the demo (sim + collector in process): a real SQLITE_FULL from SQLite
    (``max_page_count`` pinned at the file's size) must show DEGRADED in the header, and space
    given back must clear it."""
    from console.config import Settings
    from console.demo import DemoSession
    from console.store import Store
    from console.ui.app import ConsoleApp
    from console.ui.widgets.status import StatusBar

    holder: dict[str, DemoSession] = {}

    async def connect(app: ConsoleApp) -> None:
        holder["s"] = DemoSession(app.store, Settings(db=db), seed=5, rate=0)
        await holder["s"].connect(app)

    app = ConsoleApp(open_store=lambda: Store.open(db), label="demo", connect=connect, remember=False)
    shown = cleared = False
    try:
        async with app.run_test(size=(160, 30)) as pilot:
            try:
                await _until(
                    lambda: (
                        "s" in holder and holder["s"].collector is not None and bool(holder["s"].collector.backfills)
                    ),
                    30,
                )
                session = holder["s"]
                writer = app.store._w  # the store's own writing connection
                assert writer is not None
                pages = (await (await writer.execute("PRAGMA page_count")).fetchone())[0]
                await writer.execute(f"PRAGMA max_page_count = {pages}")
                session.sim.emit_random(400)  # far more than fits in the pages the file has
                bar = app.query_one(StatusBar)

                def header() -> str:
                    return bar.render().plain

                shown = await _until(lambda: "DEGRADED" in header(), 10)
                await pilot.pause()
                await writer.execute("PRAGMA max_page_count = 1073741823")
                cleared = await _until(lambda: "DEGRADED" not in header(), 10)
            finally:
                if "s" in holder:
                    await holder["s"].close()
    finally:
        if app.store is not None and not app.store.closed:
            await app.store.close()
    return shown and cleared, f"TUI {'shown' if shown else 'NOT shown'}, {'cleared' if cleared else 'NOT cleared'}"
