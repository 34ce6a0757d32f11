"""Locked or corrupt database, a second console on the same file: clear messages, no damage.

Every variant is a real file next to a real store the console wrote (``backfill`` against the
simulator): pages overwritten in the middle, truncated, not SQLite, empty, another program's
SQLite file, a store from a newer schema, a store another process holds a write transaction on
(longer than the console's 5 s busy timeout), a read-only file, a read-only folder. Each real
command runs against it as a subprocess (the screens ``open``, ``run`` and ``demo`` in a
pseudo-terminal) and the case measures what a person saw and what was left on disk. Then two
consoles on one file: a collector runs while a second one (by the same path and through a
symlink), ``backfill``, ``run`` and ``demo`` try the file, ``prune`` and readers work beside it;
afterwards the hash chain and ``integrity_check`` must pass and nothing the simulator logged may
be missing. Last, a collector started while another program holds the write lock must say so and
recover everything once the lock goes.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from database_procs import (
    Result,
    changed_bytes,
    command,
    run_plain,
    run_screen,
    run_until,
    snapshot,
)
from faultkit import Figure, zero

from console.sim import SimConfig, SimServer
from console.sim.demo_policy import demo_policy_text
from console.store.schema import SCHEMA_VERSION

NAME = "database"
TITLE = "Locked or corrupt database, a second console on the same file"

READERS = ("export", "report", "verify", "open")
WRITERS = ("backfill", "collect", "run", "demo")
SCREENS = {"open", "run", "demo"}
#: The other program holds its write transaction this long: longer than the 5 s busy timeout.
HOLD_S = 9.0


@dataclass
class Env:
    sim: SimServer
    work: Path
    env: dict[str, str]
    token: Path
    policy: Path

    def args(self, cmd: str, db: Path, out_dir: Path) -> list[str]:
        remote = ["--guild", str(self.sim.guild_id), "--rest-url", self.sim.rest_url, "--token-file", str(self.token)]
        return {
            "export": command("export", "--format", "jsonl", "--out", str(out_dir / "out.jsonl"), "--db", str(db)),
            "report": command("report", "--format", "json", "--out", str(out_dir / "report.json"), "--db", str(db)),
            "verify": command("verify", "--db", str(db)),
            "open": command("open", "--db", str(db)),
            "backfill": command("backfill", *remote, "--db", str(db)),
            "collect": command("collect", *remote, "--policy", str(self.policy), "--db", str(db)),
            "run": command("run", *remote, "--policy", str(self.policy), "--db", str(db)),
            "demo": command("demo", "--rate", "0", "--db", str(db)),
        }[cmd]


async def run_command(e: Env, cmd: str, db: Path, out_dir: Path, *, unprivileged: bool = False) -> Result:
    args = e.args(cmd, db, out_dir)
    if cmd in SCREENS:
        # "Feed": the feed's border title, drawn with the first frame. Lingering 3 s lets the
        # store check the app runs after its first frame show what it finds.
        return await asyncio.to_thread(
            run_screen, args, e.env, ready=("Feed",), timeout=60, unprivileged=unprivileged, linger=3.0
        )
    if cmd == "collect":
        return await asyncio.to_thread(
            run_until,
            args,
            e.env,
            ready="collecting into",
            timeout=40,
            unprivileged=unprivileged,
            log=out_dir / "collect.err",
        )
    return await asyncio.to_thread(run_plain, args, e.env, timeout=60, unprivileged=unprivileged)


# -- the variants ----------------------------------------------------------------------------------


def _btree_pages(data: bytes) -> list[int]:
    size = int.from_bytes(data[16:18], "big") or 65536
    pages = len(data) // size
    found = []
    for n in range(pages // 4, 3 * pages // 4):
        if data[n * size] in (2, 5, 10, 13):  # index/table interior/leaf: pages holding records
            found.append(n)
    return found


def corrupt_middle(db: Path, rng: random.Random) -> None:
    """Random bytes over three record pages in the middle of the file."""
    data = bytearray(db.read_bytes())
    size = int.from_bytes(data[16:18], "big") or 65536
    for n in rng.sample(_btree_pages(bytes(data)), 3):
        data[n * size : (n + 1) * size] = rng.randbytes(size)
    db.write_bytes(bytes(data))


def truncated(db: Path, rng: random.Random) -> None:
    data = db.read_bytes()
    db.write_bytes(data[: len(data) * 2 // 5 + 123])  # not on a page boundary


def not_sqlite(db: Path, rng: random.Random) -> None:
    db.write_text("".join(f"{i},member {i},joined\n" for i in range(2000)))


def zero_length(db: Path, rng: random.Random) -> None:
    db.write_bytes(b"")


def foreign(db: Path, rng: random.Random) -> None:
    db.unlink()
    with sqlite3.connect(db) as c:
        c.execute("PRAGMA application_id = 1196444487")  # a GeoPackage: another program's, in WAL mode
        c.execute("PRAGMA journal_mode = WAL")
        c.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        c.executemany("INSERT INTO notes (body) VALUES (?)", [(f"note {i}",) for i in range(500)])
    c.close()


def newer(db: Path, rng: random.Random) -> None:
    c = sqlite3.connect(db)
    c.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    c.close()


def healthy(db: Path, rng: random.Random) -> None:
    pass


def readonly_file(db: Path, rng: random.Random) -> None:
    db.chmod(0o444)


def readonly_dir(db: Path, rng: random.Random) -> None:
    db.parent.chmod(0o555)


@dataclass(frozen=True)
class Variant:
    name: str
    make: Callable[[Path, random.Random], None]
    refused_by: frozenset[str]
    """Commands that must refuse it (one line, non-zero exit, nothing changed); the rest must work."""
    locked: bool = False
    unprivileged: bool = False
    header_refusal: bool = False
    """Refusable from the file's first 100 bytes: SQLite must not even open it."""


ALL = frozenset(READERS + WRITERS)
VARIANTS = [
    Variant("healthy store", healthy, frozenset()),
    Variant("random bytes over 3 pages in the middle", corrupt_middle, ALL),
    Variant("truncated", truncated, ALL),
    Variant("not an SQLite file", not_sqlite, ALL, header_refusal=True),
    # Empty is what SQLite calls a new database: collecting commands start a store in it.
    Variant("zero-length file", zero_length, frozenset(READERS), header_refusal=True),
    Variant("another program's SQLite file (its application_id)", foreign, ALL, header_refusal=True),
    Variant("a newer schema (user_version + 1)", newer, ALL, header_refusal=True),
    # WAL: readers go on beside another program's write transaction; writers wait 5 s, then
    # `backfill` gives up with one line and the long-running ones report it and keep trying.
    Variant("write-locked by another process (BEGIN EXCLUSIVE, 9 s)", healthy, frozenset({"backfill"}), locked=True),
    Variant("read-only file", readonly_file, frozenset(WRITERS), unprivileged=True),
    Variant("read-only folder", readonly_dir, frozenset(WRITERS), unprivileged=True),
]
SHORT_VARIANTS = {
    "random bytes over 3 pages in the middle",
    "a newer schema (user_version + 1)",
    "write-locked by another process (BEGIN EXCLUSIVE, 9 s)",
    "read-only file",
}
SHORT_COMMANDS = ("export", "backfill", "collect")


def hold_write_lock(db: Path, seconds: float) -> subprocess.Popen[str]:
    """Another program (not the console) holding a write transaction on ``db``."""
    code = (
        "import sqlite3, sys, time\n"
        f"c = sqlite3.connect({str(db)!r}, isolation_level=None, timeout=30)\n"
        "c.execute('BEGIN EXCLUSIVE')\n"
        "print('held', flush=True)\n"
        f"time.sleep({seconds})\n"
        "c.execute('ROLLBACK')\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "held"
    return proc


@dataclass
class Tally:
    tracebacks: int = 0
    exited_zero_broken: int = 0
    not_one_line: int = 0
    bytes_changed: int = 0
    shm_left: int = 0
    usable_refused: int = 0
    runs: int = 0
    failures: list[str] | None = None

    def fail(self, text: str) -> None:
        if self.failures is None:
            self.failures = []
        self.failures.append(text)
        print(f"# database: {text}", file=sys.stderr, flush=True)


def judge(t: Tally, v: Variant, cmd: str, r: Result, changed: int, shm: int) -> None:
    t.runs += 1
    where = f"{v.name} × {cmd}"
    seen = r.text
    if "Traceback" in seen:
        t.tracebacks += 1
        t.fail(f"{where}: traceback shown")
    if cmd in v.refused_by:
        visible_notice = r.drew and "damaged" in seen  # a screen may show the damage instead
        if r.code == 0 and not visible_notice:
            t.exited_zero_broken += 1
            t.fail(f"{where}: exited 0")
        elif r.code != 0:
            lines = [line for line in r.lines() if line.strip()]
            if r.code is None or len(lines) != 1:
                t.not_one_line += 1
                t.fail(f"{where}: exit {r.code}, {len(lines)} lines: {lines[:4]}")
        if changed:
            t.bytes_changed += changed
            t.fail(f"{where}: {changed} bytes of the database changed")
        if shm and v.header_refusal:
            t.shm_left += 1
            t.fail(f"{where}: SQLite touched a file it could refuse from its header (-shm left)")
    else:
        if r.code != 0:
            t.usable_refused += 1
            t.fail(f"{where}: exit {r.code} on a usable store: {r.lines()[-3:]}")
        if cmd in READERS and changed:
            t.bytes_changed += changed
            t.fail(f"{where}: a reading command changed {changed} bytes")


async def matrix(e: Env, template: Path, short: bool) -> Tally:
    t = Tally()
    variants = [v for v in VARIANTS if not short or v.name in SHORT_VARIANTS]
    commands = SHORT_COMMANDS if short else READERS + WRITERS
    slots = asyncio.Semaphore(3)  # three at a time: most of a run is waiting (busy timeout, startup)

    async def one(n: int, v: Variant, cmd: str) -> None:
        async with slots:
            d = e.work / f"m{n}"
            d.mkdir()
            d.chmod(0o755)
            out = e.work / f"o{n}"
            _mk(out)
            db = d / "audit.db"
            shutil.copyfile(template, db)
            v.make(db, random.Random(n))
            # Held until the command is done: every wait of its busy timeout runs out.
            holder = await asyncio.to_thread(hold_write_lock, db, 300) if v.locked else None
            before = snapshot(db)
            try:
                r = await run_command(e, cmd, db, out, unprivileged=v.unprivileged)
            finally:
                if holder is not None:
                    holder.kill()
                    holder.wait()
                d.chmod(0o755)
            after = snapshot(db)
            shm = changed_bytes({"-shm": before["-shm"]}, {"-shm": after["-shm"]})
            judge(t, v, cmd, r, changed_bytes({**before, "-shm": None}, {**after, "-shm": None}), shm)

    runs = [(v, cmd) for v in variants for cmd in commands]
    await asyncio.gather(*(one(n, v, cmd) for n, (v, cmd) in enumerate(runs)))
    return t


def _mk(p: Path) -> bool:
    p.mkdir(exist_ok=True)
    p.chmod(0o777)
    return True


# -- two consoles on one file ----------------------------------------------------------------------


async def stored_ids(db: Path) -> set[int]:
    c = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return {r[0] for r in c.execute("SELECT id FROM audit_entries")}
    finally:
        c.close()


async def wait_complete(sim: SimServer, db: Path, timeout: float) -> int:
    """Entries the simulator logged that the store still lacks once caught up (or at timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        want = {int(x["id"]) for x in sim.guild.audit_log}
        missing = len(want - await stored_ids(db))
        if not missing or time.monotonic() > deadline:
            return missing
        await asyncio.sleep(0.5)


def chain_problems(db: Path) -> list[str]:
    from console.store.verify import verify

    report = verify(db)
    return list(report.problems)


async def two_consoles(e: Env, template: Path, short: bool) -> list[Figure]:
    d = e.work / "two"
    d.mkdir()
    db = d / "audit.db"
    shutil.copyfile(template, db)
    link = d / "same-file.db"
    link.symlink_to(db.name)
    out = e.work / "two-out"
    _mk(out)
    e.sim.start_driver(20.0)
    first = subprocess.Popen(
        e.args("collect", db, out),
        stdout=subprocess.DEVNULL,
        stderr=(out / "first.err").open("w"),
        stdin=subprocess.DEVNULL,
        env=e.env,
    )
    admitted, unnamed, tracebacks = [], [], 0
    try:
        deadline = time.monotonic() + 40
        while "collecting into" not in (out / "first.err").read_text() and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        second_writers = [("collect", db), ("collect", link)]
        if not short:
            second_writers += [("backfill", db), ("run", db), ("demo", db)]
        for cmd, path in second_writers:
            r = await run_command(e, cmd, path, out)
            label = f"{cmd} on {'a symlink to ' if path == link else ''}the file"
            if "Traceback" in r.text:
                tracebacks += 1
            if r.code == 0 or r.drew:
                admitted.append(label)
                print(f"# database: second console admitted: {label}", file=sys.stderr, flush=True)
            elif str(first.pid) not in " ".join(r.lines()):
                unnamed.append(label)
                print(f"# database: {label} refused without naming pid {first.pid}: {r.lines()}", file=sys.stderr)
        # Beside the collector, on purpose: prune writes (SQLite serialises), readers read.
        beside = [
            run_plain(command("prune", "--db", str(db)), e.env, timeout=60),
            run_plain(e.args("export", db, out), e.env, timeout=60),
            run_plain(e.args("verify", db, out), e.env, timeout=60),
        ]
        for r in beside:
            if "Traceback" in r.text:
                tracebacks += 1
            if r.code != 0:
                admitted.append(f"{r.args[3]} failed beside the collector: {r.lines()[-2:]}")
        await e.sim.stop_driver()
        missing = await wait_complete(e.sim, db, 30)
    finally:
        first.terminate()
        try:
            code = first.wait(30)
        except subprocess.TimeoutExpired:
            first.kill()
            code = first.wait()
    if "Traceback" in (out / "first.err").read_text():
        tracebacks += 1
    problems = chain_problems(db)
    ic = sqlite3.connect(f"file:{db}?mode=ro", uri=True).execute("PRAGMA integrity_check").fetchall()
    bad = len(problems) + (0 if ic == [("ok",)] else 1) + (0 if code == 0 else 1)
    for p in problems:
        print(f"# database: chain after two consoles: {p}", file=sys.stderr)
    return [
        zero(
            NAME,
            "second writers admitted while a collector runs",
            len(admitted),
            ", ".join(f"{c} via a symlink" if p == link else c for c, p in second_writers)
            + "; prune, export, verify beside it",
        ),
        zero(NAME, "second-writer refusals not naming the running collector's pid", len(unnamed)),
        zero(
            NAME,
            "hash-chain or integrity failures after two consoles ran together",
            bad,
            "verify + integrity_check after the collector stopped",
        ),
        zero(NAME, "entries missing after two consoles ran together", missing, "against the simulator's log"),
        zero(NAME, "tracebacks shown (two consoles)", tracebacks),
    ]


# -- a collector started while another program holds the write lock -------------------------------


async def locked_collect(e: Env, template: Path) -> list[Figure]:
    d = e.work / "locked"
    d.mkdir()
    db = d / "audit.db"
    shutil.copyfile(template, db)
    err = d / "collect.err"
    e.sim.start_driver(10.0)
    holder = hold_write_lock(db, HOLD_S)
    collector = subprocess.Popen(
        e.args("collect", db, d), stdout=subprocess.DEVNULL, stderr=err.open("w"), stdin=subprocess.DEVNULL, env=e.env
    )
    try:
        await asyncio.to_thread(holder.wait, HOLD_S + 30)
        await asyncio.sleep(2.0)
        await e.sim.stop_driver()
        missing = await wait_complete(e.sim, db, 40)
    finally:
        holder.kill()
        collector.terminate()
        try:
            code = collector.wait(30)
        except subprocess.TimeoutExpired:
            collector.kill()
            code = collector.wait()
    text = err.read_text(errors="replace")
    said = [line for line in text.splitlines() if "locked" in line]
    if not said or code != 0:
        print(f"# database: locked collect (exit {code}):\n{text[-2000:]}", file=sys.stderr)
    return [
        zero(
            NAME,
            "collector silent about another program's write lock",
            0 if said else 1,
            f"lock held {HOLD_S:.0f} s from before the start",
        ),
        zero(
            NAME,
            "entries missing after the lock was released",
            missing + (0 if code == 0 else 1),
            "against the simulator's log; then SIGTERM, exit 0",
        ),
        zero(NAME, "tracebacks shown (locked collector)", text.count("Traceback")),
    ]


# -- the case --------------------------------------------------------------------------------------


async def setup(work: Path, short: bool) -> Env:
    work.chmod(0o755)  # the unprivileged runs must reach their folders
    sim = SimServer(SimConfig(seed=23))
    await sim.start()
    sim.seed_history(300 if short else 1500, days_back=3)
    home = work / "home"
    for sub in ("state", "config", "data"):
        (home / sub).mkdir(parents=True)
    home.chmod(0o777)
    for p in home.iterdir():
        p.chmod(0o777)
    env = {
        **os.environ,
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    env.pop("DISCORD_TOKEN", None)
    token = work / "token"
    token.write_text(sim.token)
    token.chmod(0o600)
    policy = work / "policy.toml"
    policy.write_text(demo_policy_text(sim))
    return Env(sim, work, env, token, policy)


async def make_template(e: Env) -> Path:
    t = e.work / "template"
    _mk(t)
    db = t / "audit.db"
    r = await asyncio.to_thread(run_plain, e.args("backfill", db, t), e.env, timeout=120)
    if r.code != 0:
        raise RuntimeError(f"could not build the template store: {r.text[-500:]}")
    return db


async def run(short: bool, workdir: Path) -> list[Figure]:
    e = await setup(workdir, short)
    try:
        template = await make_template(e)
        started = time.monotonic()
        t = await matrix(e, template, short)
        took = time.monotonic() - started
        how = f"{t.runs} runs: variants × commands, {took:.0f} s"
        figures = [
            zero(NAME, "tracebacks shown", t.tracebacks, how),
            zero(NAME, "commands that exited 0 on a broken database", t.exited_zero_broken),
            zero(NAME, "refusals without exactly one clear line", t.not_one_line),
            zero(
                NAME,
                "bytes of the database and its -wal changed by a failed open or a reader",
                t.bytes_changed,
                "compared byte by byte before and after",
            ),
            zero(
                NAME,
                "files refused from their header that SQLite still opened (a -shm left beside)",
                t.shm_left,
                "not SQLite, empty, another program's, newer",
            ),
            zero(NAME, "commands that failed on a usable store (healthy, write-locked, read-only)", t.usable_refused),
        ]
        figures += await two_consoles(e, template, short)
        if not short:  # the write-locked variant of the matrix runs `collect` in the short run
            figures += await locked_collect(e, template)
        return figures
    finally:
        await e.sim.stop()
