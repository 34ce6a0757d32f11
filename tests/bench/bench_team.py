"""Team benchmark for issue #20's budgets (not collected by pytest). Run it as a file::

    python tests/bench/bench_team.py      # --url postgresql://postgres@127.0.0.1:5432 (the server)

It makes databases of its own on that server (``ac_bench_team_*``, dropped afterwards). In one run:

- L: notification → row drawn in other consoles while 1,000 entries/s are ingested into the
  PostgreSQL store, with 1 and with 20 consoles listening. The ingest is the collector's write
  path: its ``BatchWriter`` over a collecting ``PgStore`` (leadership, fenced transactions, one
  NOTIFY per commit), fed 10 entries every 10 ms. Each console is the real app under
  ``App.run_test()`` in a process of its own, opened read-only on the store as ``open`` opens it;
  the feed's ``render_line`` notes when a newer row than any before is drawn. A commit counts as
  drawn when a row at least as new as its newest entry is in the feed's rendered lines
  (``time.time()`` in both processes); every commit of every measured console is counted. Budget
  p95 ≤ 250 ms.

  In a team each console runs on its moderator's machine; here they share two cores. So one
  console is measured (``--measured``) and the others run at the lowest CPU priority, standing in
  for consoles on other machines: they LISTEN, read at every notification and draw, as the real
  app does, with whatever CPU the measured console, the server and the ingest leave them. What
  they did (their own latency, how often they read) is printed beside it, and ``--measured 20``
  measures all 20 at one priority (what two cores can do for 20 consoles).
- G: event-loop lag in those consoles while they follow: a probe task sleeping 10 ms records its
  overshoot. Budget p99 ≤ 10 ms.
- T: takeover after SIGKILL of the active ``collect`` (real hikari against the simulator at 50
  entries/s, a standby running), to the new epoch in ``leadership``: budget median ≤ 15 s. Then
  a silent network stall (``TcpProxy.stalled``: bytes dropped both ways, no RST) between the
  active one and the server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
for p in (str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "bench"), str(ROOT / "tests" / "faults")):
    if p not in sys.path:
        sys.path.insert(0, p)

import asyncpg  # noqa: E402
from bench_pg import _drop_db, _fresh_db  # noqa: E402
from bench_store import DAY, HEADER, Line, all_names, generate, ms, p95, pct  # noqa: E402
from case_failover import Epochs, Slot, _said, _start  # noqa: E402
from pgtest import Cluster  # noqa: E402
from tcp_proxy import TcpProxy  # noqa: E402

from console import gc_policy, logs  # noqa: E402
from console.ingest.writer import BatchWriter  # noqa: E402
from console.sim import SimConfig, SimServer  # noqa: E402
from console.sim.demo_policy import demo_policy_text  # noqa: E402
from console.store.postgres import leadership  # noqa: E402
from console.store.postgres.store import PgStore  # noqa: E402

#: How often the lag probe sleeps (its overshoot is the lag).
PROBE_S = 0.010

# -- L, G: a console following the store, in a process of its own ---------------------------------


async def _console(url: str, size: tuple[int, int] = (160, 50)) -> dict[str, Any]:
    """The app on the store, as ``open`` runs it; says ``ready`` once its feed shows rows, then
    notes rows drawn and loop lag until a line comes on stdin."""
    from console.ui.app import ConsoleApp
    from console.ui.widgets.feed import FeedView

    app = ConsoleApp(
        open_store=lambda: PgStore.open(url, readonly=True, names=False), label="bench team", remember=False
    )
    app.after_first_frame.append(lambda: app.set_timer(1.0, gc_policy.settle, name="gc-settle"))
    drawn: list[tuple[float, int]] = []  # (wall time, id) each time a newer row than before is drawn
    lags: list[tuple[float, float]] = []

    async def probe() -> None:
        while True:
            t = time.perf_counter()
            await asyncio.sleep(PROBE_S)
            lags.append((time.time(), max(0.0, time.perf_counter() - t - PROBE_S)))

    async with app.run_test(size=size):
        feed = app.query_one(FeedView)
        while not feed._pages:
            await asyncio.sleep(0.01)
        original = feed.render_line

        def timed(y: int) -> Any:
            strip = original(y)
            position = feed.scroll_offset.y + y
            if position < feed.snapshot.total:
                record = feed.record_at(position)
                if record is not None and (not drawn or record.id > drawn[-1][1]):
                    drawn.append((time.time(), record.id))
            return strip

        feed.render_line = timed  # type: ignore[method-assign]
        reads: list[float] = []  # when each refresh read the store
        read = feed.refresh_data

        async def counted(*args: Any, **kw: Any) -> None:
            reads.append(time.time())
            await read(*args, **kw)

        feed.refresh_data = counted  # type: ignore[method-assign]
        await asyncio.sleep(1.5)  # past gc_policy.settle
        task = asyncio.get_running_loop().create_task(probe())
        print("ready", flush=True)
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.to_thread(sys.stdin.readline)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        task.cancel()
        following = feed.following
    return {"drawn": drawn, "lags": lags, "following": following, "cpu": cpu / wall, "reads": reads}


async def _ingest(url: str, rate: int, seconds: float) -> list[tuple[float, int]]:
    """``rate`` entries/s for ``seconds`` through the collector's writer into a collecting store:
    (wall time after COMMIT, newest id) per committed transaction."""
    store = await PgStore.open(url)
    commits: list[tuple[float, int]] = []

    class Timed:  # the writer's store, noting when each of its transactions returned
        async def add_entries(self, raws: list[Any], **kw: Any) -> Any:
            result = await store.add_entries(raws, **kw)
            commits.append((time.time(), max(int(r["id"]) for r in raws)))
            return result

    writer = BatchWriter(Timed())  # type: ignore[arg-type]
    writer.start()
    n = int(rate * seconds)
    now = int(time.time() * 1000)
    entries = [
        e for batch in generate(n, seed=5, start_ms=now, end_ms=now + int(seconds * 1000), first=1 << 20) for e in batch
    ]
    step = 10
    t0 = time.perf_counter()
    try:
        for i in range(0, n, step):
            delay = t0 + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            for raw, gid in entries[i : i + step]:
                writer.submit(gid, raw)
        await writer.flush(30)
    finally:
        await writer.stop()
        await store.close()
    return commits


async def _seed(url: str) -> None:
    """Names and a day of history, so the consoles open on a store with a full first page."""
    store = await PgStore.open(url)
    try:
        for kind, items in all_names():
            await store.upsert_names(None, kind, items)
        now = int(time.time() * 1000)
        for batch in generate(5000, seed=3, start_ms=now - DAY, end_ms=now - 60_000):
            by_guild: dict[int, list[Any]] = {}
            for raw, gid in batch:
                by_guild.setdefault(gid, []).append(raw)
            for gid, raws in by_guild.items():
                await store.add_entries(raws, source="backfill", guild_id=gid)
    finally:
        await store.close()


#: The collector and the server run on machines of their own in a team; here they share two cores
#: with the consoles (and with whatever else runs), so they go ahead of them: otherwise 20 consoles
#: starve the ingest and what is measured is a collector falling behind.
AHEAD = -5
#: Their terminals: a laptop's. A read costs the server the same at any size (a page of records),
#: and smaller screens leave them the CPU to read as often as consoles on machines of their own.
OTHERS_SIZE = "80x24"


@contextlib.contextmanager
def _ahead(pid: int = 0) -> Iterator[None]:
    """``pid`` (this process: 0) scheduled ahead of the consoles while in the block."""
    was = os.getpriority(os.PRIO_PROCESS, pid)
    os.setpriority(os.PRIO_PROCESS, pid, AHEAD)
    try:
        yield
    finally:
        os.setpriority(os.PRIO_PROCESS, pid, was)


@contextlib.contextmanager
def _on(cpus: set[int] | None) -> Iterator[None]:
    """This process on ``cpus`` (None: where it was) while in the block."""
    was = os.sched_getaffinity(0)
    if cpus is not None:
        os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, was)


def _cpus() -> tuple[set[int], set[int]] | None:
    """(this machine, the others) when there are cores to split: a measured console gets the first
    core to itself, as a moderator's console has a machine; the server, the ingest and the other
    consoles share the rest, the consoles behind them (SCHED_IDLE)."""
    cpus = sorted(os.sched_getaffinity(0))
    return ({cpus[0]}, set(cpus[1:])) if len(cpus) >= 2 else None


def _cpu_s(pids: list[int], children: bool = False) -> float:
    """CPU seconds (user + system) used so far by ``pids`` that still run; with ``children``, also
    by the children they have reaped (a server's backends that ended)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
            if children:
                total += int(fields[13]) + int(fields[14])
    return total / os.sysconf("SC_CLK_TCK")


def _children(parent: int) -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == parent:
                pids.append(int(stat.parent.name))
    return pids


def _server_cpu_s(postmaster: int) -> float:
    """CPU seconds of the bench cluster so far: the postmaster, its running backends and those that
    ended (reaped by it)."""
    return _cpu_s([postmaster], children=True) + _cpu_s(_children(postmaster))


def _latencies(commits: list[tuple[float, int]], found: list[dict[str, Any]]) -> tuple[list[float], int]:
    """Commit → drawn for every commit in every console of ``found``, and how many were never drawn."""
    latencies, undrawn = [], 0
    for console in found:
        drawn = console["drawn"]
        for at, newest in commits:
            shown = next((t for t, i in drawn if i >= newest), None)  # drawn ids only grow
            if shown is None:
                undrawn += 1
            else:
                latencies.append(shown - at)
    return latencies, undrawn


def bench_live(
    server: str, consoles: int, measured: int, rate: int, seconds: float, postmaster: int | None, lines: list[Line]
) -> None:
    name = f"ac_bench_team_live{consoles}"
    url = asyncio.run(_fresh_db(server, name))
    procs: list[subprocess.Popen[str]] = []
    measured = min(measured, consoles)
    split = _cpus() if measured < consoles or consoles == 1 else None

    def place(n: int) -> Callable[[], None] | None:
        if n < measured:
            return None if split is None else lambda: os.sched_setaffinity(0, split[0])

        def elsewhere() -> None:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
            if split is not None:
                os.sched_setaffinity(0, split[1])

        return elsewhere

    try:
        asyncio.run(_seed(url))
        for n in range(consoles):
            procs.append(
                subprocess.Popen(
                    [sys.executable, __file__, "--console", url, "--size", "160x50" if n < measured else OTHERS_SIZE],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                    preexec_fn=place(n),
                )
            )
        for proc in procs:
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "ready":
                raise SystemExit("a console did not start")
        time.sleep(1.0)
        cpu0 = (0.0 if postmaster is None else _server_cpu_s(postmaster)), time.process_time()
        started = time.time()
        with _ahead(), _on(None if split is None else split[1]):
            commits = asyncio.run(_ingest(url, rate, seconds))
        ended = time.time()
        server_cpu = None if postmaster is None else (_server_cpu_s(postmaster) - cpu0[0]) / (ended - started)
        ingest_cpu = (time.process_time() - cpu0[1]) / (ended - started)
        time.sleep(5.0)  # the last commits drawn (a starved console is late)
        found = []
        for proc in procs:
            out, _ = proc.communicate("stop\n", timeout=60)
            found.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        asyncio.run(_drop_db(server, name))
    latencies, undrawn = _latencies(commits, found[:measured])
    lags = [lag for console in found[:measured] for t, lag in console["lags"] if started <= t <= ended]
    what = f"{consoles} console{'s' if consoles > 1 else ''}"
    if measured < consoles:
        what += f", {measured} measured"
    astray = sum(not c["following"] for c in found)  # scrolled away: would not draw the new rows
    note = f"{len(commits)} commits × {measured}; {undrawn} never drawn; {astray} not following"

    def reads(group: list[dict[str, Any]]) -> str:  # store reads a second while ingesting, median
        each = [sum(started <= t <= ended for t in c["reads"]) / (ended - started) for c in group]
        return f"{statistics.median(each):.1f}/s"

    def cpu(group: list[dict[str, Any]]) -> str:
        return f"{statistics.median(c['cpu'] for c in group):.0%}"

    def info(what: str, value: str, more: str = "") -> Line:
        return Line("L", "  " + what, value, more, "", "info", None)

    added = [
        Line("L", f"commit -> row drawn p95, {what}", ms(p95(latencies)), "", "", "<= 250 ms", p95(latencies) <= 0.250),
        info("p50 / max", ms(statistics.median(latencies)), ms(max(latencies))),
        Line("L", f"  {note}", "", "", "", "info", None if undrawn == astray == 0 else False),
        info("measured: CPU of a core / store reads", cpu(found[:measured]), reads(found[:measured])),
    ]
    if split is not None:
        server_on = "server, " if postmaster is not None else ""  # a --url server runs where it runs
        added.append(info(f"measured on cpu {min(split[0])}; {server_on}ingest, others on the rest", ""))
    if measured < consoles:
        others, missed = _latencies(commits, found[measured:])
        added += [
            info(
                f"the other {consoles - measured} ({OTHERS_SIZE}, SCHED_IDLE): p95 / p50",
                ms(p95(others)),
                ms(statistics.median(others)),
            ),
            info(
                f"the others: CPU / store reads; {missed} never drawn", cpu(found[measured:]), reads(found[measured:])
            ),
        ]
    if server_cpu is not None:
        added.append(
            info("server (all its processes) / ingest: CPU of a core", f"{server_cpu:.0%}", f"{ingest_cpu:.0%}")
        )
    added += [
        Line("G", f"loop lag p99, {what} following", ms(pct(lags, 0.99)), "", "", "<= 10 ms", pct(lags, 0.99) <= 0.010),
        Line("G", "  max", ms(max(lags)), "", "", "info", None),
    ]
    lines += added
    for line in added:
        print(line.render(), flush=True)


# -- T: takeover ----------------------------------------------------------------------------------


async def bench_takeover(server: str, trials: int, stalls: int, work: Path, lines: list[Line]) -> None:
    name = "ac_bench_team_failover"
    direct = await _fresh_db(server, name)
    host_port = server.split("@", 1)[-1].split("/", 1)[0]
    host, port = host_port.rsplit(":", 1)
    slots = [Slot(TcpProxy(host, int(port))), Slot(TcpProxy(host, int(port)))]
    for slot in slots:
        await slot.proxy.start()
        slot.url = f"postgresql://postgres@127.0.0.1:{slot.proxy.port}/{name}"
    sim = SimServer(SimConfig(seed=7, heartbeat_interval_ms=500))
    await sim.start()
    (work / "token").write_text(sim.token)
    (work / "token").chmod(0o600)
    (work / "policy.toml").write_text(demo_policy_text(sim))
    (work / "config.toml").write_text(f'operator_id = "{sim.guild.owner_id}"\n')
    epochs = Epochs(direct)
    killed: list[float] = []
    collecting: list[float] = []
    stalled: list[float] = []
    try:
        first = await _start(slots[0], work, sim)
        if await _said(first, r"collecting into", 0.0, 60) is None:
            raise SystemExit("the first collector did not start:\n" + first.text())
        epochs.start()
        second = await _start(slots[1], work, sim)
        if await _said(second, r"^audit-console: standing by: ", 0.0, 60) is None:
            raise SystemExit("the second collector did not stand by:\n" + second.text())
        sim.start_driver(50)
        active, standby = slots
        rng = random.Random(20)
        for n in range(trials + stalls):
            await asyncio.sleep(rng.uniform(2.0, 5.0))  # any moment of the standby's poll and the heartbeat
            assert active.proc is not None
            assert standby.proc is not None
            before = epochs.current
            at = time.monotonic()
            if n < trials:
                active.proc.proc.kill()
            else:
                active.proxy.stalled = True  # the wire goes silent; the process runs on
            new = await epochs.after(before, 90)
            if new is None:
                raise SystemExit(f"no takeover in trial {n}:\n{active.proc.text()}\n---\n{standby.proc.text()}")
            (killed if n < trials else stalled).append(epochs.at[new] - at)
            on = await _said(standby.proc, r"collecting into", at, 60)
            if n < trials:
                collecting.append(float("inf") if on is None else on - at)
            print(f"  trial {n} ({'SIGKILL' if n < trials else 'stall'}): {epochs.at[new] - at:.2f} s", flush=True)
            if n >= trials:  # the stalled one too: standing by again after a cut is case_failover's
                active.proc.proc.kill()
            await active.proc.stop()
            active.proxy.stalled = False
            restarted = await _start(active, work, sim)
            if await _said(restarted, r"^audit-console: standing by: ", 0.0, 60) is None:
                raise SystemExit("the restarted collector did not stand by:\n" + restarted.text())
            active, standby = standby, active
    finally:
        await epochs.stop()
        for slot in slots:
            if slot.proc is not None:
                await slot.proc.stop()
        await sim.stop_driver()
        await sim.stop()
        for slot in slots:
            await slot.proxy.stop()
        await _drop_db(server, name)
    med = statistics.median(killed)
    lines.append(
        Line("T", f"takeover after SIGKILL, median of {len(killed)}", f"{med:.2f} s", "", "", "<= 15 s", med <= 15.0)
    )
    lines.append(Line("T", "  max", f"{max(killed):.2f} s", "", "", "info", None))
    lines.append(
        Line(
            "T", "  until the new one collects, median", f"{statistics.median(collecting):.2f} s", "", "", "info", None
        )
    )
    if stalled:
        m = statistics.median(stalled)
        lines.append(
            Line(
                "T",
                f"takeover after a silent stall, median of {len(stalled)}",
                f"{m:.2f} s",
                "",
                "",
                "<= 15 s",
                m <= 15,
            )
        )
        lines.append(Line("T", "  max", f"{max(stalled):.2f} s", "", "", "info", None))
    for line in lines[-5:]:
        print(line.render(), flush=True)


# -- main -----------------------------------------------------------------------------------------


async def _server_version(url: str) -> str:
    db = await asyncpg.connect(url)
    try:
        return str(await db.fetchval("SHOW server_version"))
    finally:
        await db.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", help="a server to use (any database) instead of a cluster of the bench's own")
    ap.add_argument("--rate", type=int, default=1000, help="entries/s ingested (default 1,000)")
    ap.add_argument("--seconds", type=float, default=20.0, help="seconds of ingest per console count")
    ap.add_argument("--consoles", default="1,20", help="console counts to measure (default 1,20)")
    ap.add_argument(
        "--measured",
        type=int,
        default=1,
        help="consoles measured; the others stand in for consoles on other machines (default 1)",
    )
    ap.add_argument("--trials", type=int, default=10, help="SIGKILL trials (default 10)")
    ap.add_argument("--stalls", type=int, default=3, help="silent stall trials (default 3)")
    ap.add_argument("--only", default="L,T", help="L (with G), T")
    ap.add_argument("--console", metavar="URL", help=argparse.SUPPRESS)
    ap.add_argument("--size", default="160x50", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    logs.setup(None)
    if args.console:
        gc_policy.own_process()  # the console's own process, as the command is
        width, height = (int(n) for n in args.size.split("x"))
        print(json.dumps(asyncio.run(_console(args.console, (width, height)))))
        return 0
    only = set(args.only.split(","))
    lines: list[Line] = []
    t0 = time.perf_counter()
    load = os.getloadavg()[0]  # the machine is shared: say how busy it was
    with tempfile.TemporaryDirectory(prefix="bench-team-") as tmp:
        cluster = None if args.url else Cluster(Path(tempfile.mkdtemp(prefix="bench-team-pg-")))
        postmaster = None
        if cluster is not None:
            # Each console holds up to 5 connections (a pool of 4 and its listener): 20 of them
            # and two collectors are past the default max_connections of 100.
            cluster.init()
            with (cluster.data / "postgresql.auto.conf").open("a") as conf:
                conf.write("max_connections = 300\n")
            cluster.start()
            # Its backends are forked by the postmaster and start at its priority.
            postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
            os.setpriority(os.PRIO_PROCESS, postmaster, AHEAD)
            split = _cpus()
            if split is not None:  # the server has a machine of its own in a team: off the first core
                for pid in [postmaster, *_children(postmaster)]:
                    os.sched_setaffinity(pid, split[1])
        server = args.url or cluster.url  # type: ignore[union-attr]
        try:
            if "L" in only:
                for n in (int(c) for c in args.consoles.split(",")):
                    bench_live(server, n, args.measured, args.rate, args.seconds, postmaster, lines)
            if "T" in only:
                asyncio.run(bench_takeover(server, args.trials, args.stalls, Path(tmp), lines))
            version = asyncio.run(_server_version(server))
        finally:
            if cluster is not None:
                cluster.stop("immediate")
                shutil.rmtree(cluster.folder, ignore_errors=True)
    print()
    print(
        f"PostgreSQL {version} ({'--url' if args.url else 'a cluster of its own, fsync off'}) · python"
        f" {sys.version.split()[0]} · {os.cpu_count()} cpus, load {load:.1f} → {os.getloadavg()[0]:.1f}"
        f" · {time.perf_counter() - t0:.0f} s · standby poll {leadership.STANDBY_POLL_S:.0f} s, heartbeat"
        f" {leadership.HEARTBEAT_S:.0f} s (answered within {leadership.HEARTBEAT_TIMEOUT_S:.0f} s),"
        f" lock connection {leadership.LOCK_SETTINGS}"
    )
    print(HEADER)
    for line in lines:
        print(line.render())
    return 1 if any(line.ok is False for line in lines) else 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
