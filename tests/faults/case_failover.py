"""Collectors that fail over: two real ``audit-console collect`` processes (real hikari against
the simulator) on a PostgreSQL cluster of the case's own, each reaching it through a TCP proxy of
its own, while the simulator's driver creates entries and role grants are pending with Discord
dropping some of the calls (answered 204, never applied: the reconciler must retry).

Each SIGKILL trial kills the active collector at a random moment; the standby takes the lock,
bumps the epoch and backfills; the killed one is started again and must stand by. The network
cut trial aborts every connection of the active collector and refuses new ones for a while: the
server ends its lock session at once (the proxy closes the server side), so the standby takes
over; when the wire returns, the cut-off one must commit nothing, say it was deposed and stand by.

What is observed, against the simulator's own log and the database read directly:
- entries lost or stored twice (the chain's links per record and revision), ``verify`` after each
  trial;
- role changes applied twice (the simulator's applied ops per request tag) and requests left
  undone at the end;
- writes by a deposed collector: an attempt row whose epoch is older than an epoch this case had
  already seen in ``leadership`` before the row's own time (the fence forbids any such commit;
  only attempts carry an epoch, the other records are idempotent by id and cannot tell);
- takeover time: from the SIGKILL (or the cut) to the new epoch in ``leadership``, and to the new
  leader's "collecting into" line.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import asyncpg
from case_disk import Collect
from case_postgres import DATABASE, REQUEST_TAG, Look, _caught_up, _cli, _env, _until
from faultkit import Figure, zero
from tcp_proxy import TcpProxy

from console.model.snowflake import to_ms
from console.model.times import wall_clock_ms
from console.roles.reconciler import new_change
from console.sim import SimConfig, SimServer
from console.sim.demo_policy import demo_policy_text
from console.store.postgres.leadership import HEARTBEAT_S, LOCK_SETTINGS, STANDBY_POLL_S
from console.store.postgres.store import PgStore
from console.store.postgres.verify import verify_postgres

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pgtest import started_cluster  # noqa: E402

NAME = "failover"
TITLE = "The active collector SIGKILLed or cut off: the standby takes over, nothing lost or doubled"

TAKEOVER_TARGET_S = 15.0  # issue #20: takeover after SIGKILL ≤ 15 s median
DROP_PROBABILITY = 0.3


class Slot:
    """One collector's place: its proxy to the cluster and the process running there now."""

    def __init__(self, proxy: TcpProxy) -> None:
        self.proxy = proxy
        self.url = f"postgresql://postgres@127.0.0.1:{proxy.port}/{DATABASE}"
        self.proc: Collect | None = None
        self.ended: list[Collect] = []


class Epochs:
    """Polls ``leadership`` (directly, every 50 ms): when each epoch was first seen, wall ms."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.seen: dict[int, int] = {}
        self.at: dict[int, float] = {}  # epoch → monotonic time first seen
        self._task: asyncio.Task[None] | None = None

    async def _poll(self) -> None:
        conn = await asyncpg.connect(self.url, timeout=5)
        try:
            while True:
                epoch = await conn.fetchval("SELECT epoch FROM leadership WHERE id = 1")
                if epoch is not None and epoch not in self.seen:
                    self.seen[epoch] = wall_clock_ms()
                    self.at[epoch] = time.monotonic()
                await asyncio.sleep(0.05)
        finally:
            await conn.close()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._poll())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task

    @property
    def current(self) -> int:
        return max(self.seen, default=0)

    async def after(self, epoch: int, timeout: float) -> int | None:
        """The first epoch above ``epoch`` once seen (None after ``timeout``)."""
        if await _until(lambda: self.current > epoch, timeout, 0.02):
            return self.current
        return None

    def deposed_writes(self, attempts: list[tuple[int, int]]) -> int:
        """Attempt rows (epoch, at ms) committed by an epoch after a newer one was seen: the
        newer epoch's bump committed before that moment, and the fence makes any later commit
        of an older epoch fail."""
        return sum(1 for epoch, at in attempts if any(e > epoch and seen < at for e, seen in self.seen.items()))


async def _start(slot: Slot, workdir: Path, sim: SimServer) -> Collect:
    proc = await asyncio.create_subprocess_exec(
        *_cli(workdir, sim, slot.url, "collect", "--guild", str(sim.guild_id)),
        env=_env(workdir),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    slot.proc = Collect(proc)
    return slot.proc


async def _said(c: Collect, pattern: str, after: float, timeout: float) -> float | None:
    await _until(lambda: c.first(pattern, after=after) is not None, timeout, 0.05)
    return c.first(pattern, after=after)


async def _undone(look: Look, requested: list[int]) -> int:
    """Requests not carried out: neither seen applied (confirmed, or reverted by the simulator's
    crowd afterwards) nor refused because the member left (the crowd comes and goes)."""
    done = 0
    for state, error in await look._fetch(
        "SELECT state, error FROM role_changes WHERE id = ANY($1::bigint[])", requested
    ):
        done += state in ("confirmed", "reverted") or (state == "failed" and "Unknown Member" in (error or ""))
    return len(requested) - done


async def _explain_twice(look: Look, sim: SimServer, change_id: int, member: int, kills: list[int]) -> None:
    """On stderr, what happened to a request applied more than once: the SIGKILLs (wall ms), the
    member's entries in the simulator's log (who changed the role when), the change's attempts."""
    print(f"applied twice: request {change_id}, member {member}; SIGKILLs at {kills}", file=sys.stderr)
    for e in sim.guild.audit_log:
        if e.get("target_id") == str(member):
            said = f"type {e['action_type']} by {e.get('user_id')}: {e.get('changes')} {e.get('reason')!r}"
            print(f"  entry at {to_ms(int(e['id']))}: {said}", file=sys.stderr)
    for r in await look._fetch(
        "SELECT at, epoch, status, observed, error FROM role_change_attempts WHERE change_id = $1 ORDER BY id",
        change_id,
    ):
        print(f"  attempt: {tuple(r)}", file=sys.stderr)


async def run(short: bool, workdir: Path) -> list[Figure]:
    rate = 50.0
    trials = 2 if short else 20
    rng = random.Random(4242)
    cluster, direct = await started_cluster("ac-faults-failover-", DATABASE)
    slots = [Slot(TcpProxy("127.0.0.1", cluster.port)), Slot(TcpProxy("127.0.0.1", cluster.port))]
    for slot in slots:
        await slot.proxy.start()
        slot.url = f"postgresql://postgres@127.0.0.1:{slot.proxy.port}/{DATABASE}"

    sim = SimServer(SimConfig(seed=91, heartbeat_interval_ms=500))
    await sim.start()
    sim.knobs.role_drop_probability = DROP_PROBABILITY
    (workdir / "token").write_text(sim.token)
    (workdir / "token").chmod(0o600)
    (workdir / "policy.toml").write_text(demo_policy_text(sim))
    (workdir / "config.toml").write_text(f'operator_id = "{sim.guild.owner_id}"\n')
    look = Look(direct, sim.guild_id)
    epochs = Epochs(direct)
    verified = sim.guild.role_id("Verified")
    requested: list[int] = []
    members: dict[int, int] = {}  # request → member
    takeovers: list[float] = []  # SIGKILL → new epoch, s
    kills: list[int] = []  # wall ms of each SIGKILL
    collecting: list[float] = []  # SIGKILL → the new leader's "collecting into", s
    verify_failed: list[str] = []
    problems: list[str] = []
    cut_takeover: float | None = None
    cut_not_standby = 0
    hand_in_store: PgStore | None = None

    async def hand_in() -> None:
        # What `role grant --wait 0` commits (the policy is not under test here): a pending
        # request in the store, for whichever collector leads to carry out.
        assert hand_in_store is not None
        # A member here now, without the role, not asked for before (the crowd comes and goes).
        asked = set(members.values())
        uid = next(
            u
            for u in sim.guild.regular_ids()
            if u not in asked and verified not in [int(r) for r in sim.guild.member_object(u)["roles"]]
        )
        change = new_change(
            hand_in_store,
            sim.guild_id,
            uid,
            verified,
            "grant",
            reason="failover trial",
            requested_by=sim.guild.owner_id,
            source="CLI",
            decision_id=None,
            deadline_s=600,
        )
        await hand_in_store.record_role_change(change)
        requested.append(change.id)
        members[change.id] = uid

    async def check_trial(label: str) -> None:
        truth = {int(e["id"]) for e in sim.guild.audit_log}
        if not await _until(lambda: _caught_up(look, truth), 60, 0.1):
            problems.append(f"{label}: entries not caught up")
        report = await asyncio.to_thread(verify_postgres, direct)
        if not report.ok:
            verify_failed.append(f"{label}: {'; '.join(report.problems)[:80]}")

    try:
        first = await _start(slots[0], workdir, sim)
        if await _said(first, r"collecting into", 0.0, 60) is None:
            raise AssertionError("the first collector did not start:\n" + first.text())
        epochs.start()
        second = await _start(slots[1], workdir, sim)
        if await _said(second, r"^audit-console: standing by: ", 0.0, 60) is None:
            raise AssertionError("the second collector did not stand by:\n" + second.text())
        hand_in_store = await PgStore.open(direct, collector_lock=False)
        if not await _until(look.ready, 30):
            raise AssertionError("collect kept no guild state:\n" + first.text())
        sim.start_driver(rate)
        active, standby = slots
        for n in range(trials):
            await hand_in()
            await asyncio.sleep(rng.uniform(1.0, 2.5) if short else rng.uniform(2.0, 6.0))
            assert active.proc is not None
            assert standby.proc is not None
            before = epochs.current
            killed_at = time.monotonic()
            active.proc.proc.kill()
            kills.append(wall_clock_ms())
            new = await epochs.after(before, 60)
            if new is None:
                problems.append(f"trial {n}: no takeover")
                break
            takeovers.append(epochs.at[new] - killed_at)
            on = await _said(standby.proc, r"collecting into", killed_at, 60)
            collecting.append(float("inf") if on is None else on - killed_at)
            await active.proc.stop()
            active.ended.append(active.proc)
            restarted = await _start(active, workdir, sim)
            if await _said(restarted, r"^audit-console: standing by: ", 0.0, 60) is None:
                problems.append(f"trial {n}: the restarted collector did not stand by")
            active, standby = standby, active
            await check_trial(f"trial {n}")

        # The network cut: every connection of the active one aborted, new ones refused.
        await hand_in()
        await asyncio.sleep(rng.uniform(1.0, 2.5))
        assert active.proc is not None
        assert standby.proc is not None
        cut_off = active.proc
        before = epochs.current
        cut_at = time.monotonic()
        active.proxy.down = True
        active.proxy.cut()
        new = await epochs.after(before, 60)
        if new is None:
            problems.append("cut: no takeover")
        else:
            cut_takeover = epochs.at[new] - cut_at
        await _said(standby.proc, r"collecting into", cut_at, 60)
        await asyncio.sleep(2.0 if short else 5.0)  # both sides of the cut go on for a while
        back_at = time.monotonic()
        active.proxy.down = False
        deposed_line = await _said(cut_off, r"^audit-console: deposed: ", back_at - 30, 30)
        standing = await _said(cut_off, r"^audit-console: standing by: ", back_at, 30)
        cut_not_standby = int(deposed_line is None or standing is None or cut_off.proc.returncode is not None)
        active, standby = standby, active
        await check_trial("cut")

        await asyncio.sleep(1.0)
        await sim.stop_driver()
        truth = {int(e["id"]) for e in sim.guild.audit_log}
        await _until(lambda: _caught_up(look, truth), 60, 0.1)

        async def settled() -> bool:
            return await _undone(look, requested) == 0

        await _until(settled, 90, 0.2)
    finally:
        await epochs.stop()
        if hand_in_store is not None:
            await hand_in_store.close()
        codes = []
        for slot in slots:
            if slot.proc is not None:
                codes.append(await slot.proc.stop())
        await sim.stop_driver()
        await sim.stop()
        for slot in slots:
            await slot.proxy.stop()
    try:
        truth = {int(e["id"]) for e in sim.guild.audit_log}
        stored = await look.stored()
        missing = len(truth - stored)
        doubled = await look.double_links() + len(stored - truth)
        undone = await _undone(look, requested)
        if os.environ.get("FAULTS_VERBOSE"):
            for r in await look._fetch(
                "SELECT c.id, c.state, c.attempts, c.error, a.epoch, a.at, a.observed, a.error FROM role_changes c"
                " LEFT JOIN role_change_attempts a ON a.change_id = c.id ORDER BY c.id, a.id"
            ):
                print("change:", tuple(r), file=sys.stderr)
        applied = Counter(
            int(m[1]) for *_, reason in sim.role_ops_applied if (m := REQUEST_TAG.search(reason or "")) is not None
        )
        twice = sum(max(0, c - 1) for c in applied.values())
        for change_id in (c for c, k in applied.items() if k > 1):
            await _explain_twice(look, sim, change_id, members[change_id], kills)
        attempts = await look._fetch("SELECT epoch, at FROM role_change_attempts WHERE epoch IS NOT NULL")
        deposed_writes = epochs.deposed_writes([(r[0], r[1]) for r in attempts])
        report = await asyncio.to_thread(verify_postgres, direct)
        if not report.ok:
            verify_failed.append(f"end: {'; '.join(report.problems)[:80]}")
    finally:
        await asyncio.to_thread(cluster.stop, "immediate")
        shutil.rmtree(cluster.folder, ignore_errors=True)
    everyone = [c for slot in slots for c in slot.ended] + [s.proc for s in slots if s.proc is not None]
    text = "\n---\n".join(c.text() for c in everyone)
    if os.environ.get("FAULTS_VERBOSE"):
        print(text, file=sys.stderr)
    if any(code != 0 for code in codes):
        problems.append(f"collect exit codes at the end {codes}")
    if "Traceback" in text:
        problems.append("a traceback on collect's stderr")
    median = statistics.median(takeovers) if takeovers else float("inf")
    worst = max(takeovers, default=float("inf"))
    to_collect = statistics.median(collecting) if collecting else float("inf")
    keepalive = (
        f"keepalives {LOCK_SETTINGS['tcp_keepalives_idle']}+{LOCK_SETTINGS['tcp_keepalives_interval']}"
        f"×{LOCK_SETTINGS['tcp_keepalives_count']} s, tcp_user_timeout {LOCK_SETTINGS['tcp_user_timeout']} ms"
    )
    note = (
        f"{trials} SIGKILL trials + 1 network cut at {rate:.0f} entries/s, {len(requested)} role requests,"
        f" {DROP_PROBABILITY:.0%} of role calls dropped"
    )
    return [
        zero(NAME, "entries missing", missing, f"{note}; vs the simulator's {len(truth)} entries"),
        zero(NAME, "entries stored twice", doubled, "double chain links, and rows the simulator never sent"),
        zero(NAME, "role changes applied twice", twice, "the simulator's applied ops per request"),
        zero(
            NAME,
            "role requests not carried out",
            undone,
            f"{len(requested)} handed in; confirmed (or reverted later), or failed as the member left",
        ),
        zero(
            NAME,
            "writes by a deposed collector",
            deposed_writes,
            f"attempt rows of an epoch committed after a newer one was seen; {len(attempts)} rows",
        ),
        zero(NAME, "verify problems", len(verify_failed), "; ".join(verify_failed)[:120] or "after each trial"),
        zero(
            NAME, "cut-off collector not deposed and standing by", cut_not_standby, "its stderr once the wire is back"
        ),
        zero(NAME, "other problems", len(problems), "; ".join(problems)[:120] or "exit codes, tracebacks, restarts"),
        Figure(
            NAME,
            "takeover after SIGKILL, median",
            f"{median:.1f} s",
            f"≤ {TAKEOVER_TARGET_S:.0f} s",
            median <= TAKEOVER_TARGET_S,
            f"worst {worst:.1f} s; to the new epoch; standby polls every {STANDBY_POLL_S:.0f} s"
            f" (the kernel closes a killed process's socket: the lock is free at once)",
        ),
        Figure(
            NAME,
            "takeover after SIGKILL, until collecting",
            f"{to_collect:.1f} s",
            "report",
            True,
            "median, to the new leader's 'collecting into' (its gateway connected)",
        ),
        Figure(
            NAME,
            "takeover after a network cut",
            "∞" if cut_takeover is None else f"{cut_takeover:.1f} s",
            f"≤ {TAKEOVER_TARGET_S:.0f} s",
            cut_takeover is not None and cut_takeover <= TAKEOVER_TARGET_S,
            f"the proxy aborts the server side; a silent loss waits for {keepalive}; heartbeat {HEARTBEAT_S:.0f} s",
        ),
    ]
