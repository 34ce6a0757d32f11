"""Secrets: a canary token, unique per run, used for a whole run of the real commands; then every
artefact is searched for it.

The simulator accepts only the canary. ``audit-console collect`` runs as a subprocess, given the
token by ``DISCORD_TOKEN`` and then by ``--token-file``; role changes and exports run beside it;
the simulator then starts refusing the token (REST 401, gateway 4004) so the error path runs; a
crash in the TUI (an exception whose message and locals hold the token) runs too. Searched: the
log file, the SQLite files (db, -wal, -shm as raw bytes, also copied while ``collect`` runs),
exports, every stdout/stderr, each process's ``/proc/<pid>/cmdline`` while it runs, and the
environment of any child it starts.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import secrets
import signal
import sys
import time
from collections import Counter
from pathlib import Path

from faultkit import Figure, zero

from console.sim import SimConfig, SimServer

NAME = "secrets"
TITLE = "Secrets (a canary token through a whole run)"
ROOT = Path(__file__).resolve().parents[2]

CRASH = """
import sys
from console import logs, paths
from console.secret import REDACTOR, Secret
from console.store import Store
from pathlib import Path
from console.ui import app as app_module
from console.ui.app import ConsoleApp
from console.config import load_token, Settings

token = load_token(Settings())
REDACTOR.add(token)
logs.setup(paths.log_file())


class Broken(ConsoleApp):
    CSS_PATH = str(Path(app_module.__file__).with_name("app.tcss"))

    def on_ready(self) -> None:
        held = token.reveal()  # a plain str local the default crash screen would print
        raise RuntimeError("boom with " + held)


app = Broken(open_store=lambda: Store.open(sys.argv[1]), label="x", remember=False)
app.run(headless=True)
sys.exit(app.return_code or 0)
"""


def canary(bot_id: int) -> str:
    """A realistic bot token (base64 id . 6 chars . 38 chars), different every run."""
    head = base64.b64encode(str(bot_id).encode()).decode().rstrip("=")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
    return ".".join(
        [
            head,
            "".join(secrets.choice(alphabet) for _ in range(6)),
            "".join(secrets.choice(alphabet) for _ in range(38)),
        ]
    )


class Artefacts:
    """Bytes seen per artefact kind."""

    def __init__(self) -> None:
        self.blobs: dict[str, list[bytes]] = {}

    def add(self, kind: str, data: bytes) -> None:
        self.blobs.setdefault(kind, []).append(data)

    def add_files(self, kind: str, *paths: Path) -> None:
        for p in paths:
            if p.exists():
                self.add(kind, p.read_bytes())

    def count(self, needle: bytes) -> Counter[str]:
        return Counter({k: sum(b.count(needle) for b in v) for k, v in self.blobs.items()})


def _children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(d.name))
    return out


async def _watch(proc: asyncio.subprocess.Process, art: Artefacts, db: Path, stop: asyncio.Event) -> None:
    """While it runs: its argument list, its children's argument lists and environments, and
    copies of the SQLite files (the -wal holds what was not yet checkpointed)."""
    while proc.returncode is None and not stop.is_set():
        try:
            art.add("argument list (/proc/pid/cmdline)", Path(f"/proc/{proc.pid}/cmdline").read_bytes())
        except OSError:
            break  # it ended between the check and the read (ESRCH from a zombie's /proc)
        for child in _children(proc.pid):
            for what, kind in (("cmdline", "argument list (/proc/pid/cmdline)"), ("environ", "children's environment")):
                with contextlib.suppress(OSError):
                    art.add(kind, Path(f"/proc/{child}/{what}").read_bytes())
        art.add_files("SQLite db/-wal/-shm (raw bytes)", db, Path(f"{db}-wal"), Path(f"{db}-shm"))
        await asyncio.sleep(0.5)


async def _run(
    art: Artefacts,
    env: dict[str, str],
    args: list[str],
    db: Path,
    *,
    until: asyncio.Event | None = None,
    timeout: float = 20.0,
) -> int:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "console",
        *args,
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stop = asyncio.Event()
    watcher = asyncio.create_task(_watch(proc, art, db, stop))
    comm = asyncio.create_task(proc.communicate())
    if until is not None:
        await until.wait()
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
    try:
        out, err = await asyncio.wait_for(comm, timeout)
    except TimeoutError:
        proc.kill()
        out, err = await comm
    stop.set()
    await watcher
    art.add("stdout/stderr", out + err)
    return proc.returncode if proc.returncode is not None else -1


async def _eventually(pred, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        await asyncio.sleep(0.1)
    return False


async def run(short: bool, workdir: Path) -> list[Figure]:
    art = Artefacts()
    sim = SimServer(SimConfig(seed=5, heartbeat_interval_ms=500))
    token = canary(sim.guild.bot_id)
    sim.config.token = token  # the simulator accepts only the canary
    await sim.start()
    home = workdir / "home"
    db, out = workdir / "audit.db", workdir / "out"
    out.mkdir()
    cfg = home / "config.toml"
    home.mkdir()
    cfg.write_text(f'operator_id = "{sim.guild.owner_id}"\n')
    token_file = workdir / "token"
    token_file.write_text(token + "\n")
    token_file.chmod(0o600)
    base_env = {k: v for k, v in os.environ.items() if k not in ("DISCORD_TOKEN", "CREDENTIALS_DIRECTORY")}
    base_env.update(
        HOME=str(home),
        XDG_STATE_HOME=str(home / "state"),
        XDG_DATA_HOME=str(home / "data"),
        XDG_CONFIG_HOME=str(home / "config"),
        PYTHONPATH=str(ROOT),
    )
    env_tok = {**base_env, "DISCORD_TOKEN": token}
    common = ["--db", str(db), "--rest-url", sim.rest_url, "--config", str(cfg)]
    g = str(sim.guild_id)
    codes: dict[str, int] = {}
    rounds = 1 if short else 3
    try:
        sim.seed_history(20, days_back=3)
        for r in range(rounds):
            # 1. collect with the token in the environment; role changes and activity beside it.
            done = asyncio.Event()
            collect = asyncio.create_task(_run(art, env_tok, ["collect", "--guild", g, *common], db, until=done))
            await _eventually(lambda: sim.gateway.connected, 15)
            sim.emit_random(10)
            member = next(u for u in sim.guild.members if u not in (sim.guild.owner_id, sim.guild.bot_id))
            role = next(rid for rid, ro in sim.guild.roles.items() if rid != sim.guild_id and not ro.get("managed"))
            for verb in ("grant", "revoke"):
                codes[f"role {verb}"] = await _run(
                    art,
                    base_env,
                    [
                        "role",
                        verb,
                        "--guild",
                        g,
                        "--member",
                        str(member),
                        "--role",
                        str(role),
                        "--reason",
                        f"canary run {r}",
                        "--wait",
                        "3",
                        "--token-file",
                        str(token_file),
                        *common,
                    ],
                    db,
                )
            await asyncio.sleep(1.0)
            # 2. the error path: Discord stops accepting the token mid-run (REST 401, gateway 4004).
            sim.config.token = token + "-revoked"
            await sim.gateway.disconnect_all(4000)
            await asyncio.sleep(3.0)
            sim.config.token = token
            done.set()
            codes["collect (env)"] = await collect
            # 3. collect again with a token file, stopped by SIGTERM.
            done = asyncio.Event()
            collect = asyncio.create_task(
                _run(art, base_env, ["collect", "--guild", g, "--token-file", str(token_file), *common], db, until=done)
            )
            await _eventually(lambda: sim.gateway.connected, 15)
            sim.emit_random(5)
            await asyncio.sleep(1.5)
            done.set()
            codes["collect (token file)"] = await collect
        # 4. exports, with the token in the environment (export needs none: it must not use it).
        for fmt in ("csv", "json", "jsonl"):
            target = out / f"export.{fmt}"
            codes[f"export {fmt}"] = await _run(
                art, env_tok, ["export", "--format", fmt, "--out", str(target), "--db", str(db)], db
            )
            art.add_files("exports", target)
        # 5. a crash in the TUI with the token in a local and in the exception's message.
        script = workdir / "crash.py"
        script.write_text(CRASH)
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(script),
            str(db),
            env=env_tok,
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        o, e = await asyncio.wait_for(proc.communicate(), 30)
        art.add("crash screen output", o + e)
        codes["crash"] = proc.returncode or 0
    finally:
        await sim.stop()
    art.add_files("SQLite db/-wal/-shm (raw bytes)", db, Path(f"{db}-wal"), Path(f"{db}-shm"))
    logs = sorted((home / "state").rglob("*.log*"))
    art.add_files("log files", *logs)
    needle = token.encode()
    found = art.count(needle)
    kinds = [
        "log files",
        "SQLite db/-wal/-shm (raw bytes)",
        "exports",
        "stdout/stderr",
        "crash screen output",
        "argument list (/proc/pid/cmdline)",
        "children's environment",
    ]
    figures = []
    note = f"{rounds} round(s); exits {', '.join(f'{k} {v}' for k, v in codes.items())}"
    for kind in kinds:
        seen = len(art.blobs.get(kind, []))
        figures.append(
            zero(
                NAME, f"canary occurrences: {kind}", found[kind], f"{seen} snapshot(s)" if kind != "log files" else note
            )
        )
    # The token's first part is the bot's user id in base64: public (the id is in every entry the
    # bot makes), so it is reported, not required to be absent.
    prefix = token.split(".", 1)[0].encode()
    figures.append(
        Figure(
            NAME,
            "base64 user-id prefix in log files",
            str(art.count(prefix)["log files"]),
            "informational",
            True,
            "the bot's public id; not redacted",
        )
    )
    log_bytes = sum(len(b) for b in art.blobs.get("log files", []))
    figures.append(
        Figure(
            NAME,
            "artefacts searched",
            f"{sum(len(v) for v in art.blobs.values())} blobs",
            "informational",
            log_bytes > 0 and bool(art.blobs.get("exports")),
            f"{log_bytes} bytes of logs",
        )
    )
    return figures
