"""``audit-console collect``: the collecting runtime without a screen, until SIGTERM or Ctrl-C.
Progress, notices and the outcome go to stderr, one line each."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable
from typing import Any

from console import gc_policy
from console.config import Settings
from console.errors import EXIT_BAD_INPUT, EXIT_FAILED, ConfigError
from console.ingest.state import CollectorState, backfill_progress
from console.secret import REDACTOR, Secret
from console.store import AuditStore, open_store
from console.store.opening import collector_status


def say(line: str) -> None:
    sys.stderr.write(f"audit-console: {line}\n")
    sys.stderr.flush()


class Progress:
    """The runtime's listener for ``collect``: a line when the gateway, the backfills or the
    store's health change, and one for each notice."""

    def __init__(self, stop: asyncio.Event | None = None) -> None:
        self._connected = False
        self._shown: tuple[Any, ...] | None = None
        self._stop = stop
        #: Discord closed the gateway for good once collecting (its line was said as a notice).
        self.closed: CollectorState | None = None

    def collector_state(self, state: CollectorState) -> None:
        if state.gateway_closed and self._connected and self.closed is None:
            # Nothing more will arrive, and Discord refuses a reconnect: end, as a failure.
            self.closed = state
            if self._stop is not None:
                self._stop.set()
        # Until first connected, a failure is reported once, as the command's one line.
        self._connected = self._connected or state.gateway == "connected"
        if not self._connected:
            return
        key = (state.gateway, state.backfilling, state.degraded)
        if self._shown != key:
            self._shown = key
            parts = [f"gateway {state.gateway}"]
            if progress := backfill_progress(state):
                parts.append(progress)
            if state.degraded:
                parts.append(f"DEGRADED: {state.degraded}")
            say("; ".join(parts))

    def notice(self, message: str, *, severity: str = "information") -> None:
        say(message)

    def attach_services(self, services: Any) -> None:
        def policy_changed(found: Any) -> None:
            say(found.error if found.error else f"policy {found.version} in force")

        def paused(why: str | None) -> None:
            say(
                f"role changes paused: the store cannot be written ({why})"
                if why
                else "role changes resumed: the store can be written again"
            )

        services.on_policy = policy_changed
        if services.reconciler is not None:
            services.reconciler.on_pause = paused


def _pruned(results: list[Any]) -> None:
    for r in results:
        if r.total:
            say(f"retention: {r.describe()}")


async def collect(settings: Settings, token: Secret, *, stop: asyncio.Event | None = None) -> int:
    """Collect until SIGTERM/SIGINT, then flush and exit 0. Discord refusing the bot's setup
    (the token, the intents) is one line and exit 2, at the start or later. On a PostgreSQL store
    another collector being active means standing by (a line saying who) until it is gone;
    deposed later (another one took over while this one was cut off or stalled), this one says
    so, stops collecting and calling Discord, and stands by again."""
    REDACTOR.add(token)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    stored = 0
    while True:
        deposed = asyncio.Event()

        def depose(line: str, deposed: asyncio.Event = deposed) -> None:
            # Another collector took over (PostgreSQL): nothing more commits here.
            say(line)
            deposed.set()

        store = await _when_leading(settings, stop, depose)
        if store is None:  # stopped while standing by
            say(f"stopped while standing by; {stored} entries stored this run")
            return 0
        code, stored_now = await _collect_leading(settings, token, store, stop, deposed)
        stored += stored_now
        if code is not None:
            return code
        say(f"standing by again: {stored_now} entries stored while active")


async def _when_leading(settings: Settings, stop: asyncio.Event, depose: Callable[[str], None]) -> AuditStore | None:
    """The store, once this collector leads it (standing by meanwhile); None if stopped first."""
    opening = asyncio.create_task(
        open_store(
            settings.db,
            password_file=settings.password_file,
            standby=say,
            on_deposed=depose,
            shard_group=settings.shards.key if settings.shards else "",
        )
    )
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({opening, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    if opening.done():
        return opening.result()
    opening.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await opening
    return None


async def _collect_leading(
    settings: Settings, token: Secret, store: AuditStore, stop: asyncio.Event, deposed: asyncio.Event
) -> tuple[int | None, int]:
    """Collect while this one leads: (exit code, entries stored), the code None when deposed."""
    from console.ingest.source import SourceError
    from console.runtime import Runtime

    runtime = Runtime(store, settings, token, on_pruned=_pruned)
    progress = Progress(stop)
    try:
        from console.commands.doctor import start_check

        passed = await start_check(settings, token, store, say)
        try:
            await runtime.connect(progress)
        except SourceError as e:
            if e.setup:
                raise ConfigError(str(e)) from None
            raise
        if passed:
            say(passed)
        gc_policy.settle()  # connected, services loaded: startup is over
        say(f"collecting into {settings.db} (SIGTERM or Ctrl-C to stop)")
        while not stop.is_set() and not deposed.is_set():
            ending = [asyncio.create_task(stop.wait()), asyncio.create_task(deposed.wait())]
            await asyncio.wait(ending, timeout=10.0, return_when=asyncio.FIRST_COMPLETED)
            for task in ending:
                task.cancel()
            assert runtime.collector is not None
            s = runtime.collector.state
            if progress.closed is None and not deposed.is_set():
                say(f"{s.stored} entries stored this run, {s.entries_per_s:.1f}/s, gateway {s.gateway}")
        if progress.closed is None and not deposed.is_set():
            say("stopping: flushing what is queued…")
    finally:
        await runtime.close()
        await store.close()
    stored = runtime.collector.state.stored if runtime.collector is not None else 0
    if progress.closed is not None:
        say(f"stopped: the gateway is closed; {stored} entries stored this run")
        closed = runtime.collector.closed_error if runtime.collector is not None else None
        return (EXIT_BAD_INPUT if closed is not None and closed.setup else EXIT_FAILED), stored
    if deposed.is_set() and not stop.is_set():
        return None, stored
    say(f"stopped cleanly; {stored} entries stored this run")
    return 0, stored


async def standby_info(settings: Settings) -> int:
    """``collect --standby-info``: which collector is active (host, pid, since, epoch), on stdout."""
    group = settings.shards.key if settings.shards else ""
    print(await collector_status(settings.db, password_file=settings.password_file, shard_group=group))
    return 0
