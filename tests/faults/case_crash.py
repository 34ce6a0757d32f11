"""Crashes: SIGKILL a real ``audit-console collect`` at random (seeded) moments, restart it, let it
recover, stop it cleanly, then check what survived.

Each trial has its own simulated guild (running here, so the case reads its ground truth and turns
its knobs) and its own store. Two kinds alternate:

- ingest: seeded history being backfilled while the driver adds live entries at a high rate; a
  quarter of the kills land anywhere from start-up (imports, migrations, connecting) on, the rest
  once entries are being committed;
- roles: grants and revokes handed in while the collector works — by ``/audit role`` (the
  collector's own path) and by ``audit-console role`` (the CLI hands the request in beside the
  collector) — with the simulator dropping (204, never applied) and delaying role changes.

Committed = readable by a separate sqlite3 connection right before the kill, or in the file right
after it. Every committed entry must be there after the restart with the same content; the store
must then hold exactly the simulator's entries; every request that was acknowledged or committed
must have been applied by the simulator exactly once and end confirmed; ``PRAGMA
integrity_check`` and the hash chain (console/store/chain.py) are checked after each kill and
after each clean stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import random
import re
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import crash_store
from crash_store import Snapshot, entries_lost, snapshot
from faultkit import Figure, zero

from console.config import ConfigError, Settings
from console.sim import SimConfig, SimServer
from console.sim.demo_policy import demo_operator, demo_policy_text
from console.store.verify import verify

NAME = "crash"
TITLE = "SIGKILL during heavy ingest and role changes"

FULL_TRIALS = 50
SHORT_TRIALS = 4
RECOVERY_TIMEOUT_S = 60.0


@dataclass
class Tally:
    trials: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    committed_entries: int = 0
    entries_lost: int = 0
    entries_missing: int = 0
    requests_checked: int = 0
    changes_lost: int = 0
    applied_twice: int = 0
    integrity_failures: int = 0
    chain_failures: int = 0
    checks: int = 0
    unrecovered: int = 0
    problems: list[str] = field(default_factory=list)

    def problem(self, trial: int, text: str) -> None:
        self.problems.append(f"trial {trial + 1}: {text}")
        print(f"# crash: trial {trial + 1}: {text}", file=sys.stderr, flush=True)


def _spawn(sim: SimServer, tdir: Path, n: int) -> subprocess.Popen[bytes]:
    """``collect`` as its own process; the token from a 0600 file, never argv."""
    env = {
        **os.environ,
        "XDG_STATE_HOME": str(tdir / "state"),
        "XDG_CONFIG_HOME": str(tdir / "config"),
        "XDG_DATA_HOME": str(tdir / "data"),
    }
    env.pop("DISCORD_TOKEN", None)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "console",
            "collect",
            "--db",
            str(tdir / "audit.db"),
            "--rest-url",
            sim.rest_url,
            "--token-file",
            str(tdir / "token"),
            "--guild",
            str(sim.guild_id),
            "--policy",
            str(tdir / "policy.toml"),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=(tdir / f"collect-{n}.log").open("wb"),
        env=env,
    )


async def _until(predicate, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> bool:  # noqa: ANN001
    """Poll a (sync, possibly blocking) predicate off the loop; False on timeout or if proc died."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if await asyncio.to_thread(predicate):
            return True
        if proc is not None and proc.poll() is not None:
            return False
        await asyncio.sleep(0.1)
    return False


@dataclass
class Request:
    member: int
    role: int
    op: str
    reason: str
    via: str
    acked: bool = False
    change_id: int | None = None


class RoleTraffic:
    """Hands in grants and revokes, each on its own (member, role) pair, flipping the current
    state, so the simulator applies each exactly once when all goes well."""

    def __init__(self, sim: SimServer, tdir: Path, trial: int, rng: random.Random) -> None:
        self.sim, self.tdir, self.trial, self.rng = sim, tdir, trial, rng
        g = sim.guild
        self.operator = demo_operator(sim)
        # Staff are never the stream's victims (kicks, bans, role updates), so only our requests
        # change their roles; non-staff roles below the bot's top role are ones it may manage.
        members = [u for u in g.staff_ids() if u != self.operator]
        roles = [r for r in g.assignable_role_ids() if g.role_kinds.get(r) != "staff"]
        self.pairs = [(m, r) for m in members for r in roles]
        rng.shuffle(self.pairs)
        self.requests: list[Request] = []
        self.tasks: list[asyncio.Task[None]] = []
        self._cli_turn = asyncio.Lock()
        self.settings = Settings(
            db=tdir / "audit.db",
            rest_url=sim.rest_url,
            guild_ids=(sim.guild_id,),
            operator_id=self.operator,
            policy=tdir / "policy.toml",
        )

    def hand_in(self) -> None:
        if not self.pairs:
            return
        member, role = self.pairs.pop()
        has = role in [int(r) for r in self.sim.guild.member_object(member)["roles"]]
        req = Request(
            member,
            role,
            "revoke" if has else "grant",
            f"crash trial {self.trial} request {len(self.requests)}",
            self.rng.choice(["slash", "cli"]),
        )
        self.requests.append(req)
        self.tasks.append(asyncio.create_task(self._slash(req) if req.via == "slash" else self._cli(req)))

    async def _slash(self, req: Request) -> None:
        inv = self.sim.invoke_command(
            self.operator,
            "audit",
            [
                {
                    "name": "role",
                    "options": [
                        {
                            "name": req.op,
                            "options": [
                                {"name": "member", "value": str(req.member)},
                                {"name": "role", "value": str(req.role)},
                                {"name": "reason", "value": req.reason},
                            ],
                        }
                    ],
                }
            ],
        )
        with contextlib.suppress(TimeoutError, asyncio.TimeoutError):
            content = (await inv.wait_response(8.0))["data"]["content"]
            found = re.search(r"allowed .*Request (\d+)", content)
            if found:
                req.acked, req.change_id = True, int(found[1])

    async def _cli(self, req: Request) -> None:
        from console.commands.role import role_change

        said = io.StringIO()
        try:
            # Its progress lines are not the suite's output. redirect_stderr swaps a global, so
            # hand-ins take turns (overlapping swaps would leave sys.stderr pointing at one).
            async with self._cli_turn:
                with contextlib.redirect_stderr(said):
                    code = await role_change(
                        self.settings,
                        None,
                        op=req.op,
                        guild_id=self.sim.guild_id,
                        member_id=req.member,
                        role_id=req.role,
                        reason=req.reason,
                        wait_s=0,
                    )
        except ConfigError:
            return  # no collector was running (killed): nothing was handed in
        found = re.search(r"request (\d+) pending", said.getvalue())
        if code == 0 and found:
            req.acked, req.change_id = True, int(found[1])

    async def settle(self) -> None:
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def _trial(i: int, kind: str, workdir: Path, tally: Tally) -> None:
    rng = random.Random(f"crash-{i}")
    tdir = workdir / f"trial-{i:02d}"
    (tdir / "config").mkdir(parents=True)
    sim = SimServer(SimConfig(seed=7000 + i, heartbeat_interval_ms=500))
    await sim.start()
    db = tdir / "audit.db"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        token = tdir / "token"
        token.write_text(sim.token)
        token.chmod(0o600)
        (tdir / "policy.toml").write_text(demo_policy_text(sim))
        traffic: RoleTraffic | None = None
        if kind == "ingest":
            sim.seed_history(rng.randint(300, 1500), days_back=30)  # inside Discord's 45 days: all fetchable
            sim.start_driver(rng.choice([150, 250, 400]))
            procs.append(_spawn(sim, tdir, 1))
            if rng.random() < 0.25:
                await asyncio.sleep(rng.uniform(0.2, 2.5))  # anywhere: imports, migrations, connecting…
            else:
                await _until(lambda: bool(crash_store.stored_ids(db)), 30, procs[0])
                await asyncio.sleep(rng.uniform(0.0, 2.5))
        else:
            procs.append(_spawn(sim, tdir, 1))
            ready = await _until(
                lambda: sim.commands.by_name("audit") is not None and crash_store.has_guild_state(db, sim.guild_id),
                30,
                procs[0],
            )
            if not ready:
                tally.problem(i, "the collector never got ready for role changes")
            sim.start_driver(rng.choice([20, 50, 100]))
            k = sim.knobs
            k.role_drop_probability = rng.choice([0.3, 0.5, 0.8])
            k.role_drop_logs_entry = rng.random() < 0.5
            k.role_delay_probability = 0.3
            k.role_delay_s = rng.uniform(0.2, 1.0)
            traffic = RoleTraffic(sim, tdir, i, rng)
            kill_at = asyncio.get_running_loop().time() + rng.uniform(0.1, 3.0)
            while asyncio.get_running_loop().time() < kill_at:
                traffic.hand_in()
                await asyncio.sleep(min(rng.uniform(0.0, 0.5), max(0.0, kill_at - asyncio.get_running_loop().time())))

        # The kill: what a reader sees right before, then what the file holds right after.
        before = await asyncio.to_thread(snapshot, db)
        procs[0].send_signal(signal.SIGKILL)
        await asyncio.to_thread(procs[0].wait, 10)
        after_kill = await asyncio.to_thread(snapshot, db)
        await _check_file(i, db, after_kill.chain_started, tally)
        if traffic is not None:
            await traffic.settle()
            sim.knobs.role_drop_probability = 0.0  # recover without new drops; delays stay
        committed = Snapshot(
            entries={**before.entries, **after_kill.entries}, changes={**before.changes, **after_kill.changes}
        )

        # Restart; the driver goes on a little, then stops so there is one ground truth.
        procs.append(_spawn(sim, tdir, 2))
        await asyncio.sleep(rng.uniform(0.5, 2.0))
        await sim.stop_driver()

        def truth() -> set[int]:  # read each time: the console's own actions (commands, roles) add entries
            return {int(e["id"]) for e in sim.guild.audit_log}

        recovered = await _until(
            lambda: truth() <= crash_store.stored_ids(db) and crash_store.open_changes(db) == 0,
            RECOVERY_TIMEOUT_S,
            procs[1],
        )
        procs[1].send_signal(signal.SIGTERM)
        try:
            code = await asyncio.to_thread(procs[1].wait, 30)
        except subprocess.TimeoutExpired:
            code = None
        if not recovered or code != 0:
            tally.unrecovered += 1
            log = (tdir / "collect-2.log").read_text(errors="replace").strip().splitlines()[-3:]
            tally.problem(i, f"restart {'did not recover' if not recovered else 'recovered'}; exit {code}; {log}")

        final = await asyncio.to_thread(snapshot, db)
        await _check_file(i, db, True, tally)
        lost = entries_lost(committed, final)
        tally.committed_entries += len(committed.entries)
        tally.entries_lost += len(lost)
        if lost:
            tally.problem(i, f"{len(lost)} committed entries lost or changed, e.g. {lost[:3]}")
        stored = set(final.entries)
        missing, extra = truth() - stored, stored - truth()
        tally.entries_missing += len(missing) + len(extra)
        if missing or extra:
            tally.problem(i, f"store vs simulator: {len(missing)} missing, {len(extra)} not in the simulator")
        if traffic is not None:
            _check_roles(i, sim, traffic, committed, final, tally)
        tally.trials += 1
        tally.kinds[kind] = tally.kinds.get(kind, 0) + 1
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(10)
        await sim.stop()


async def _check_file(i: int, db: Path, chain: bool, tally: Tally) -> None:
    """integrity_check, then the hash chain (once the store has started it)."""
    if not db.exists():
        return
    tally.checks += 1
    problem = await asyncio.to_thread(crash_store.integrity_problem, db)
    if problem is not None:
        tally.integrity_failures += 1
        tally.problem(i, f"integrity_check: {problem}")
    if chain:
        report = await asyncio.to_thread(verify, db, integrity_check=False)
        if report.problems:
            tally.chain_failures += 1
            tally.problem(i, f"hash chain: {report.problems[:2]}")


def _check_roles(
    i: int, sim: SimServer, traffic: RoleTraffic, committed: Snapshot, final: Snapshot, tally: Tally
) -> None:
    """Against the simulator's own record of the role changes it applied (dropped ones are not)."""
    applied: dict[int, int] = {}
    for _member, _role, _add, reason in sim.role_ops_applied:
        found = re.search(r"\[request (\d+)\]", reason or "")
        if found:
            applied[int(found[1])] = applied.get(int(found[1]), 0) + 1
    by_reason: dict[str, list[int]] = {}
    for cid, (_m, _r, _op, reason, _s) in final.changes.items():
        by_reason.setdefault(reason or "", []).append(cid)
    committed_reasons = {c[3] for c in committed.changes.values()}
    for req in traffic.requests:
        ids = by_reason.get(req.reason, [])
        if not ids:
            if req.acked or req.reason in committed_reasons:
                tally.requests_checked += 1
                tally.changes_lost += 1
                tally.problem(i, f"{req.via} request {req.reason!r} (acked={req.acked}) is gone from the store")
            continue  # else it never got in (the collector was already dead): nothing to carry out
        tally.requests_checked += 1
        if len(ids) > 1:
            tally.applied_twice += 1
            tally.problem(i, f"{req.via} request {req.reason!r} stored {len(ids)} times")
            continue
        cid = ids[0]
        _m, _r, op, _reason, state = final.changes[cid]
        times = applied.get(cid, 0)
        member_roles = [int(r) for r in sim.guild.member_object(req.member)["roles"]]
        in_place = (req.role in member_roles) == (req.op == "grant")
        if state != "confirmed" or times == 0 or not in_place or op != req.op:
            tally.changes_lost += 1
            tally.problem(
                i,
                f"{req.via} request {cid} ({req.op}, acked={req.acked}): state {state}, applied "
                f"{times}x, {'in place' if in_place else 'not in place'}",
            )
        elif times > 1:
            tally.applied_twice += 1
            tally.problem(i, f"{req.via} request {cid} applied {times} times")


async def run(short: bool, workdir: Path) -> list[Figure]:
    n = SHORT_TRIALS if short else FULL_TRIALS
    tally = Tally()
    loop = asyncio.get_running_loop()
    for i in range(n):
        kind = "ingest" if i % 2 == 0 else "roles"
        started = loop.time()
        await _trial(i, kind, workdir, tally)
        print(f"# crash: trial {i + 1}/{n} ({kind}) done in {loop.time() - started:.1f} s", file=sys.stderr, flush=True)
    kinds = ", ".join(f"{v} {k}" for k, v in sorted(tally.kinds.items()))
    note = f"{tally.trials} SIGKILL trials: {kinds}"
    return [
        zero(
            NAME,
            "committed entries lost",
            tally.entries_lost,
            f"{note}; {tally.committed_entries:,} committed entries checked",
        ),
        zero(NAME, "entries missing or extra after recovery vs the simulator", tally.entries_missing, note),
        zero(
            NAME,
            "committed role changes lost",
            tally.changes_lost,
            f"{tally.requests_checked} requests acknowledged or in the store; 204-drops and delays on",
        ),
        zero(NAME, "role changes applied twice", tally.applied_twice, "by the simulator's record of applied role ops"),
        zero(
            NAME,
            "integrity_check failures",
            tally.integrity_failures,
            f"{tally.checks} checks: after each kill and each clean stop",
        ),
        zero(
            NAME,
            "hash-chain verification failures",
            tally.chain_failures,
            f"{tally.checks} checks: after each kill and each clean stop",
        ),
        zero(
            NAME,
            "restarts that did not recover and stop cleanly",
            tally.unrecovered,
            f"{tally.trials} restarts, {RECOVERY_TIMEOUT_S:.0f} s each at most",
        ),
    ]
