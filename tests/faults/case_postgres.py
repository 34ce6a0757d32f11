"""PostgreSQL going away under a collector: the real ``audit-console collect`` (real hikari against
the simulator) writes to a PostgreSQL cluster of the case's own, through a TCP proxy the case
controls, while the simulator's driver creates entries and role grants are pending.

Two faults, each while ingesting: every connection through the proxy cut (and new ones refused
for a few seconds), then the cluster restarted (``pg_ctl stop -m fast`` + start). The server is
real; only the wire is cut or the server bounced. The console must show DEGRADED, hold what it
receives in memory, acknowledge nothing it did not commit (what the store held at any moment
must still be there at the end), reconnect on its own, store everything the simulator emitted
once, carry out each role request exactly once, and leave a chain ``verify`` finds clean.

Role requests are handed in by ``audit-console role grant --wait 0`` straight to the cluster
(not through the proxy: the operator's own path), just before each fault, so they are pending
(or their call is on its way) when the store goes away.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
from case_disk import Collect
from faultkit import Figure, zero
from tcp_proxy import TcpProxy

from console.sim import SimConfig, SimServer
from console.sim.demo_policy import demo_policy_text
from console.store.postgres.verify import verify_postgres

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pgtest import started_cluster  # noqa: E402

NAME = "postgres"
TITLE = "PostgreSQL cut off and restarted mid-ingest: degraded, nothing lost or doubled, recovery"

RECOVER_TARGET_S = 10.0
DATABASE = "audit"
REQUEST_TAG = re.compile(r"\[request (\d+)\]")


def _cli(workdir: Path, sim: SimServer, db: str, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "console",
        *args,
        "--db",
        db,
        "--rest-url",
        sim.rest_url,
        "--token-file",
        str(workdir / "token"),
        "--config",
        str(workdir / "config.toml"),
        "--policy",
        str(workdir / "policy.toml"),
    ]


def _env(workdir: Path) -> dict[str, str]:
    return {**os.environ, "XDG_STATE_HOME": str(workdir / "state"), "XDG_CONFIG_HOME": str(workdir / "config")}


async def _until(predicate: Any, timeout: float, step: float = 0.1) -> bool:
    """``predicate`` may be a coroutine function; a read that fails (server down) counts as no."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            got = predicate()
            if asyncio.iscoroutine(got):
                got = await got
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            got = False
        if got or time.monotonic() >= deadline:
            return bool(got)
        await asyncio.sleep(step)


class Look:
    """Reads straight from the cluster (not through the proxy), one short connection each."""

    def __init__(self, url: str, guild_id: int) -> None:
        self.url = url
        self.guild_id = guild_id

    async def _fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.url, timeout=5)
        try:
            return await conn.fetch(sql, *args)
        finally:
            await conn.close()

    async def stored(self) -> set[int]:
        return {r[0] for r in await self._fetch("SELECT id FROM audit_entries")}

    async def acknowledged(self, truth: list[int]) -> set[int]:
        """What the store says it holds, in one snapshot: its rows, and every entry of the
        simulator's at or below the high-water mark (the collector's promise: nothing older is
        missing)."""
        conn = await asyncpg.connect(self.url, timeout=5)
        try:
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                hwm = await conn.fetchval("SELECT hwm FROM sync_state WHERE guild_id = $1", self.guild_id) or 0
                rows = {r[0] for r in await conn.fetch("SELECT id FROM audit_entries")}
        finally:
            await conn.close()
        return rows | {i for i in truth if i <= hwm}

    async def ready(self) -> bool:
        rows = await self._fetch(
            "SELECT EXISTS (SELECT 1 FROM guild_state WHERE guild_id = $1)",
            self.guild_id,
        )
        return bool(rows[0][0])

    async def double_links(self) -> int:
        """Chain links beyond the first for one record and revision (a retried commit must not
        link its records again)."""
        rows = await self._fetch(
            "SELECT count(*) - 1 FROM chain GROUP BY guild_id, kind, record_id, revision HAVING count(*) > 1"
        )
        return sum(r[0] for r in rows)

    async def changes(self) -> list[asyncpg.Record]:
        return await self._fetch("SELECT id, member_id, state, error FROM role_changes WHERE source = 'CLI'")


async def _hand_in(workdir: Path, sim: SimServer, db: str, member: int, role: int, reason: str) -> None:
    cli = await asyncio.create_subprocess_exec(
        *_cli(
            workdir,
            sim,
            db,
            "role",
            "grant",
            "--guild",
            str(sim.guild_id),
            "--member",
            str(member),
            "--role",
            str(role),
            "--reason",
            reason,
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


async def run(short: bool, workdir: Path) -> list[Figure]:
    rate = 30.0 if short else 100.0
    down_s = 2.0 if short else 5.0
    ingest_s = 2.0 if short else 8.0  # ingesting before each fault, and after the last
    # Its own folder (not under workdir, which may be closed to the server's user).
    cluster, direct = await started_cluster("ac-faults-pg-", DATABASE)
    proxy = TcpProxy("127.0.0.1", cluster.port)
    await proxy.start()
    proxied = f"postgresql://postgres@127.0.0.1:{proxy.port}/{DATABASE}"

    sim = SimServer(SimConfig(seed=73, heartbeat_interval_ms=500))
    await sim.start()
    calls: Counter[int] = Counter()  # request id → role PUT/DELETE calls Discord (the sim) received
    original = sim.rest._role_op

    holding = False  # answer role calls only once the fault has begun (a slow Discord)
    fault_started = asyncio.Event()

    async def counted(request: Any, *, add: bool) -> Any:
        found = REQUEST_TAG.search(_unquote(request.headers.get("X-Audit-Log-Reason", "")))
        if found:
            calls[int(found[1])] += 1
        answer = await original(request, add=add)
        if holding:
            # Applied now (the member update goes out), answered while the store is gone: the
            # console must not call again for a change whose attempt it could not record.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(fault_started.wait(), 15)
            await asyncio.sleep(0.3)
        return answer

    sim.rest._role_op = counted  # type: ignore[method-assign]
    (workdir / "token").write_text(sim.token)
    (workdir / "token").chmod(0o600)
    (workdir / "policy.toml").write_text(demo_policy_text(sim))
    # The owner acts: the activity stream changes the moderators' permissions now and then, and
    # a hand-in the gate then denies would be right, but no test of the store.
    (workdir / "config.toml").write_text(f'operator_id = "{sim.guild.owner_id}"\n')
    look = Look(direct, sim.guild_id)

    acknowledged: set[int] = set()
    watching = True

    async def watch_acknowledged() -> None:
        # Every half second, what the store claims to hold; a read that fails (the server being
        # restarted) is simply skipped.
        while watching:
            with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                acknowledged.update(await look.acknowledged([int(e["id"]) for e in sim.guild.audit_log]))
            await asyncio.sleep(0.5)

    proc = await asyncio.create_subprocess_exec(
        *_cli(workdir, sim, proxied, "collect", "--guild", str(sim.guild_id)),
        env=_env(workdir),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    collect = Collect(proc)
    watcher: asyncio.Task[None] | None = None
    not_shown = not_cleared = missing = unconfirmed = 0
    recover_times: list[float] = []
    requested: list[int] = []
    faults: list[str] = []
    exit_code: int | None = None
    try:
        if not await _until(lambda: collect.first(r"collecting into") is not None, 60):
            raise AssertionError("collect did not start:\n" + collect.text())
        # Set up: the guild's state (what a hand-in is checked against) kept.
        if not await _until(look.ready, 30):
            raise AssertionError("collect kept no guild state:\n" + collect.text())
        watcher = asyncio.get_running_loop().create_task(watch_acknowledged())
        sim.start_driver(rate)
        verified = sim.guild.role_id("Verified")
        candidates = [
            u for u in sim.guild.regular_ids() if verified not in [int(r) for r in sim.guild.member_object(u)["roles"]]
        ]
        for n, kind in enumerate(("cut", "restart")):
            await asyncio.sleep(ingest_s)
            holding = True
            fault_started.clear()
            before = sum(calls.values())
            for uid in candidates[n * 2 : n * 2 + 2]:
                await _hand_in(workdir, sim, direct, uid, verified, f"postgres fault {kind}")
                requested.append(uid)
            # The fault strikes once the collector has taken a request on and called Discord
            # (it looks for hand-ins every 2 s), before Discord has answered.
            await _until(lambda before=before: sum(calls.values()) > before, 10, 0.05)
            fault_at = time.monotonic()
            fault_started.set()
            if kind == "cut":
                proxy.down = True
                proxy.cut()
                await asyncio.sleep(down_s)
                proxy.down = False
            else:
                await asyncio.to_thread(cluster.stop, "fast")
                await asyncio.sleep(down_s)
                await asyncio.to_thread(cluster.start)
            holding = False
            faults.append(kind)
            back_at = time.monotonic()
            truth = {int(e["id"]) for e in sim.guild.audit_log}
            shown = collect.first(r"DEGRADED", after=fault_at)
            not_shown += shown is None

            if await _until(lambda truth=truth: _caught_up(look, truth), 60, 0.05):
                recover_times.append(time.monotonic() - back_at)
            else:
                recover_times.append(float("inf"))
            cleared = await _until(
                lambda shown=shown: (
                    shown is not None
                    and any(t > shown and "DEGRADED" not in line and "gateway" in line for t, line in collect.lines)
                ),
                20,
            )
            not_cleared += not cleared
        await asyncio.sleep(ingest_s)
        await sim.stop_driver()
        truth = {int(e["id"]) for e in sim.guild.audit_log}
        await _until(lambda: _caught_up(look, truth), 60, 0.1)

        async def settled() -> int:
            done = 0
            for _cid, uid, state, error in await look.changes():
                member = sim.guild.members.get(uid)
                if (
                    state == "confirmed"
                    and (member is None or verified in [int(r) for r in sim.guild.member_object(uid)["roles"]])
                    or state == "failed"
                    and "Unknown Member" in (error or "")
                ):
                    done += 1
            return done

        await _until(lambda: _settled_all(settled, len(requested)), 40, 0.2)
        unconfirmed = len(requested) - await settled()
        if os.environ.get("FAULTS_VERBOSE"):
            for row in await look._fetch(
                "SELECT pid, application_name, state, wait_event_type, wait_event, left(query, 120)"
                " FROM pg_stat_activity WHERE datname = $1",
                DATABASE,
            ):
                print("activity:", tuple(row), file=sys.stderr)
    finally:
        watching = False
        if watcher is not None:
            with contextlib.suppress(Exception):
                await watcher
        exit_code = await collect.stop()
        await sim.stop_driver()
        await sim.stop()
        await proxy.stop()
    try:
        truth = {int(e["id"]) for e in sim.guild.audit_log}
        stored = await look.stored()
        lost = len(acknowledged - stored)
        missing = len(truth - stored)
        doubled = await look.double_links()
        applied = Counter(
            int(m[1]) for *_, reason in sim.role_ops_applied if (m := REQUEST_TAG.search(reason or "")) is not None
        )
        twice = sum(max(0, c - 1) for c in calls.values()) + sum(max(0, c - 1) for c in applied.values())
        report = await asyncio.to_thread(verify_postgres, direct)
    finally:
        await asyncio.to_thread(cluster.stop, "immediate")
        shutil.rmtree(cluster.folder, ignore_errors=True)
    text = collect.text()
    if os.environ.get("FAULTS_VERBOSE"):
        print(text, file=sys.stderr)
    problems = list(report.problems)
    if exit_code != 0:
        problems.append(f"collect exited {exit_code}")
    if "Traceback" in text:
        problems.append("a traceback on collect's stderr")
    # The last "stored this run" the console claimed against what the database holds (it was empty).
    claimed = re.findall(r"stopped cleanly; (\d+) entries stored", text)
    if not claimed or int(claimed[-1]) > len(stored):
        lost += 1 if not claimed else int(claimed[-1]) - len(stored)
    worst = max(recover_times) if recover_times else float("inf")
    note = f"{' + '.join(faults)} ({down_s:.0f} s down each) at {rate:.0f} entries/s, {len(requested)} role requests"
    return [
        zero(NAME, "committed entries lost", lost, f"{note}; {len(acknowledged)} acknowledged entries checked"),
        zero(NAME, "entries missing after recovery", missing, f"vs the simulator's {len(truth)} entries"),
        zero(NAME, "entries stored twice", doubled, "double chain links for one record and revision"),
        zero(NAME, "role changes applied twice", twice, "the simulator's role calls per request, and applied ops"),
        zero(NAME, "role requests not carried out after recovery", unconfirmed, f"{len(requested)} handed in"),
        zero(NAME, "degraded state not shown", not_shown, f"collect's stderr, {len(faults)} faults"),
        zero(NAME, "degraded state not cleared", not_cleared, f"collect's stderr, {len(faults)} faults"),
        zero(NAME, "hash-chain problems after recovery", len(problems), "; ".join(problems)[:120] or "verify"),
        Figure(
            NAME,
            "time to recover after the server is back",
            "∞" if worst == float("inf") else f"{worst:.1f} s",
            f"≤ {RECOVER_TARGET_S:.0f} s",
            worst <= RECOVER_TARGET_S,
            "until every entry emitted so far is stored (worst)",
        ),
    ]


async def _caught_up(look: Look, truth: set[int]) -> bool:
    return not truth - await look.stored()


async def _settled_all(settled: Any, n: int) -> bool:
    return await settled() == n


def _unquote(text: str) -> str:
    import urllib.parse

    return urllib.parse.unquote(text)
