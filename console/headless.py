"""The commands without a screen: collect, backfill, export, sim."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from pathlib import Path
from typing import Any

from console.config import Settings
from console.ingest.collector import Collector
from console.ingest.state import CollectorState
from console.model.filters import Filter
from console.secret import REDACTOR, Secret
from console.store import Store


def _err(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


async def collect(settings: Settings, token: Secret, *, stop: asyncio.Event | None = None) -> int:
    """Collect until SIGTERM/SIGINT, then flush and exit 0. Progress goes to stderr."""
    from console.discord.bot import HikariGateway

    REDACTOR.add(token)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    store = await Store.open(settings.db)
    last: dict[str, Any] = {"started": False}

    def report(state: CollectorState) -> None:
        if not last["started"]:
            return  # until connected, a failure is reported once, as the command's one line
        key = (state.gateway, state.backfilling, state.degraded)
        if last.get("key") != key:
            last["key"] = key
            parts = [f"gateway {state.gateway}"]
            if state.backfilling:
                parts.append("backfilling " + ", ".join(map(str, sorted(state.backfilling))))
            if state.degraded:
                parts.append(f"DEGRADED: {state.degraded}")
            _err("audit-console: " + "; ".join(parts))

    collector = Collector(store, guild_ids=settings.guild_ids, recheck_interval_s=settings.recheck_interval_s,
                          on_state=report)
    gateway = HikariGateway(token, rest_url=settings.rest_url, events=collector)
    try:
        await collector.start(gateway)
        last["started"] = True
        _err(f"audit-console: collecting into {settings.db} (SIGTERM or Ctrl-C to stop)")
        while not stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), 10.0)
            s = collector.state
            _err(f"audit-console: {s.stored} entries stored this run, {s.entries_per_s:.1f}/s, gateway {s.gateway}")
        _err("audit-console: stopping: flushing what is queued…")
    finally:
        last["started"] = False
        await collector.stop()
        await store.close()
    _err(f"audit-console: stopped cleanly; {collector.state.stored} entries stored this run")
    return 0


async def backfill(settings: Settings, token: Secret) -> int:
    from console.discord.rest import RestSession
    from console.ingest.backfill import Backfiller

    REDACTOR.add(token)
    store = await Store.open(settings.db)
    failed: list[str] = []
    try:
        async with RestSession(token.reveal(), settings.rest_url) as source:
            backfiller = Backfiller(store, source)
            for gid in settings.guild_ids:
                result = await backfiller.run(gid, "manual", live_until=await store.live_until(gid))
                if result.gap.status == "failed":
                    failed.append(f"guild {gid}: backfill failed: {result.gap.error}")
                else:
                    print(f"guild {gid}: {result.gap.describe()} ({result.pages} pages)")
    finally:
        await store.close()
    if failed:
        from console.cli import Failure

        raise Failure("; ".join(failed))
    return 0


def export(settings: Settings, flt: Filter, fmt: str, out: str) -> int:
    from console.store.connection import check_file
    from console.store.export import export as run_export

    check_file(settings.db, must_exist=True)
    asyncio.run(_check_readable(settings.db))
    if out == "-":
        result = run_export(settings.db, flt, fmt, sys.stdout.buffer)
        sys.stdout.flush()
    else:
        path = Path(out).expanduser()
        try:
            tmp = path.with_name(path.name + ".part")
            with tmp.open("wb") as f:
                result = run_export(settings.db, flt, fmt, f)
            tmp.replace(path)  # never leave a half-written export under the real name
        except OSError as e:
            from console.config import ConfigError

            raise ConfigError(f"cannot write {path}: {e.strerror or e}") from None
        _err(f"audit-console: exported {result.rows} records to {path}")
    return 0


async def _check_readable(db: Path) -> None:
    """Open read-only once so a bad database fails with one line before any output."""
    store = await Store.open(db, readonly=True)
    await store.close()


def explain(settings: Settings, guild_id: int, member_id: int, *, capability: str | None, permission: str | None,
            channel_id: int | None, state: Path | None) -> Any:
    """The answer to ``audit-console explain`` (an ``Explanation``). Never records a decision: a
    question is not an action. Bad input raises ConfigError (exit 2)."""
    from console.config import ConfigError
    from console.policy import explain as ex
    from console.policy.document import PolicyError
    from console.policy.gatekeeper import GateError
    from console.policy.policy_file import PolicyFile

    try:
        policy = PolicyFile(settings.policy_path()) if capability else None
        if state is not None:
            guild = ex.load_state(state)
            if guild.id != guild_id:
                raise ConfigError(f"--state holds guild {guild.id}, not --guild {guild_id}")
        else:
            guild = asyncio.run(_stored_guild(settings, guild_id))
        now = now_ms()
        if capability:
            assert policy is not None
            return ex.explain_capability(policy.policy, guild, member_id, capability, channel_id=channel_id,
                                         now_ms=now)
        assert permission is not None
        return ex.explain_permission(guild, member_id, permission, channel_id=channel_id, now_ms=now)
    except (ex.ExplainError, PolicyError, GateError) as e:
        raise ConfigError(str(e)) from None


async def _stored_guild(settings: Settings, guild_id: int) -> Any:
    from console.policy.gatekeeper import Gatekeeper
    from console.policy.policy_file import PolicyFile
    from console.store.connection import check_file

    check_file(settings.db, must_exist=True)
    store = await Store.open(settings.db, readonly=True)
    try:
        return await Gatekeeper(store, PolicyFile(None)).guild(guild_id)
    finally:
        await store.close()


def run_sim(*, port: int, seed: int, rate: float) -> int:
    from console.sim import SimConfig
    from console.sim.server import run_standalone

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_standalone(SimConfig(seed=seed, port=port), rate=rate))
    return 0


def now_ms() -> int:
    return int(time.time() * 1000)
