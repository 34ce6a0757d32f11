"""Starting the console: open the store first (a bad database is one line, before any screen),
then run the app on the same loop, then close everything in order."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from console import gc_policy, paths, switch_interval
from console.config import ConfigError, Settings
from console.secret import REDACTOR, Secret
from console.store import Store
from console.ui.app import ConsoleApp


class LiveSession:
    """Connects a collector (and, for the demo, the simulator) once the app has drawn."""

    def __init__(self, store: Store, settings: Settings, token: Secret | None, *, demo: dict | None = None) -> None:
        self.store = store
        self.settings = settings
        self.token = token
        self.demo = demo
        self.collector: Any = None  # a Collector once connected
        self.sim = None
        self.services: Any = None  # console.services.Services once connected
        self._responder: Any = None
        self.alerts: Any = None  # console.alerts.runner.AlertRunner while connected
        self.retention: Any = None  # console.store.retention.RetentionTask while connected

    async def connect(self, app: ConsoleApp) -> None:
        from console.ingest.collector import Collector
        from console.ingest.source import SourceError

        rest_url, token = self.settings.rest_url, self.token
        if self.demo is not None:
            from console.sim import SimConfig, SimServer

            self.sim = SimServer(SimConfig(seed=self.demo["seed"]))
            await self.sim.start()
            self.sim.seed_history(200, days_back=3)
            rest_url, token = self.sim.rest_url, Secret(self.sim.token)
            app.label = f"demo guild {self.sim.guild_id}"
            from console.sim.demo_policy import write_demo_policy

            policy_path, operator = write_demo_policy(self.sim, paths.data_dir() / "demo-policy.toml")
            self.settings = self.settings.with_(policy=policy_path, operator_id=operator)
            app.operator_id = operator
            from console.roles.reconciler import audit_channel_key

            await self.store.set_setting(
                audit_channel_key(self.sim.guild_id), str(self.sim.guild.core_channels["mod-log"])
            )
        assert token is not None
        REDACTOR.add(token)
        from console.discord.bot import HikariGateway  # hikari: only now, after the first frame

        self.collector = Collector(
            self.store,
            guild_ids=self.settings.guild_ids or ((self.sim.guild_id,) if self.sim else ()),
            recheck_interval_s=self.settings.recheck_interval_s,
            on_state=app.collector_state,
        )
        gateway = HikariGateway(token, rest_url=rest_url, events=self.collector)
        from console.headless import start_alerts

        self.alerts = await start_alerts(self.store, self.settings)  # before the start's backfill
        from console.headless import start_retention

        self.retention = start_retention(self.store, self.settings)
        try:
            await self.collector.start(gateway)
        except SourceError as e:
            app.notice(str(e), severity="error")
            return
        from console.discord.bot import attach_services
        from console.policy.document import PolicyError
        from console.services import Services

        try:
            self.services = Services(self.store, self.settings, live_guild=self.collector.guilds.snapshot)
        except PolicyError as e:  # checked before the screen; changed since
            app.notice(f"policy not loaded, nothing will be done for anyone: {e}", severity="error")
            return
        self._responder = await attach_services(gateway, self.collector, self.services)
        self.services.start_policy_watch()
        if self.services.poster is not None:
            self.alerts.connect(self.services.poster.api)
        app.attach_services(self.services)
        if self.sim is not None and self.demo and self.demo["rate"] > 0:
            self.sim.start_driver(self.demo["rate"])

    async def close(self) -> None:
        if self.sim is not None:
            await self.sim.stop_driver()
        if self.alerts is not None:
            await self.alerts.stop()
        if self.retention is not None:
            await self.retention.stop()
        if self._responder is not None:
            await self._responder.close()
        if self.services is not None:
            await self.services.close()
        if self.collector is not None:
            self.collector.detach()  # the app is gone: nobody to show state changes to
            await self.collector.stop()
        if self.sim is not None:
            await self.sim.stop()


def settling(connect: Callable[[ConsoleApp], Awaitable[None]]) -> Callable[[ConsoleApp], Awaitable[None]]:
    """``connect``, after which startup is over: hikari and the services are loaded
    (:func:`gc_policy.settle`)."""

    async def run(app: ConsoleApp) -> None:
        try:
            await connect(app)
        finally:
            gc_policy.settle()

    return run


async def _run(
    store_path: Path,
    *,
    readonly: bool,
    label: str,
    session_factory=None,  # noqa: ANN001
    operator_id: int | None = None,
    settings: Settings | None = None,
) -> int:
    from console import logs

    logs.setup(paths.log_file())  # the TUI owns the terminal: logs go to the file only
    # quick_check reads the whole file (seconds on a big store): the app runs it after the first
    # frame and shows what it finds; a file that is not a usable database still fails here.
    # The names: the first screen's now (ConsoleApp.on_load), all of them after its first frame.
    store = await Store.open(store_path, readonly=readonly, quick_check=False, names=False)
    if not _has_terminal():
        # Under a service manager or with its output redirected, the screen would be escape
        # codes written into a log for as long as it runs.
        await store.close()
        raise ConfigError(
            "the console needs a terminal (its keyboard input or its screen is not one); "
            "to collect on a server without one, use `audit-console collect`"
        )
    session = session_factory(store) if session_factory else None
    offline = settings is not None and session is None
    app = ConsoleApp(
        store,
        label=label,
        connect=settling(session.connect) if session else None,
        operator_id=operator_id,
        services_factory=(lambda: _offline_services(store, settings)) if offline else None,
    )
    app.alert_bell = (settings or getattr(session, "settings", None) or Settings()).alerts.bell
    app.after_first_frame.append(gc_policy.resume)  # the CLI pauses it while the console starts
    app.after_first_frame.append(switch_interval.restore)  # the CLI shortens it meanwhile
    if session is None:
        # Browsing: startup is over once the rest of the screen (sidebar, counts) has come.
        app.after_first_frame.append(lambda: app.set_timer(1.0, gc_policy.settle, name="gc-settle"))
    try:
        await app.run_async()
    finally:
        if session is not None:
            await session.close()
        await store.close()
    return app.return_code or 0


def _has_terminal() -> bool:
    """Textual reads keys from stdin and draws on stderr."""
    try:
        return sys.stdin.isatty() and sys.__stderr__ is not None and sys.__stderr__.isatty()
    except (AttributeError, ValueError):  # closed or replaced streams
        return False


def _offline_services(store: Store, settings: Settings) -> Any:
    """Browsing offline: the gatekeeper answers explain from the stored guild state."""
    from console.policy.document import PolicyError
    from console.services import Services

    try:
        return Services(store, settings)
    except PolicyError:
        return None  # explain says it has no policy; browsing does not need one


def run_open(settings: Settings) -> int:
    return asyncio.run(
        _run(
            settings.db,
            readonly=True,
            label=f"{settings.db.name} (offline)",
            operator_id=settings.operator_id,
            settings=settings,
        )
    )


def run_live(settings: Settings, token: Secret) -> int:
    REDACTOR.add(token)
    from console.services import check_policy

    check_policy(settings)
    return asyncio.run(
        _run(
            settings.db,
            readonly=False,
            label="live",
            session_factory=lambda store: LiveSession(store, settings, token),
            operator_id=settings.operator_id,
        )
    )


def run_demo(db: Path, *, seed: int, rate: float, fresh: bool) -> int:
    if fresh:
        # The demo store is ours alone (demo.db): start it afresh so the demo always looks alike.
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                Path(str(db) + suffix).unlink()
    settings = Settings(db=db)
    return asyncio.run(
        _run(
            db,
            readonly=False,
            label="demo guild",
            session_factory=lambda store: LiveSession(store, settings, None, demo={"seed": seed, "rate": rate}),
        )
    )
