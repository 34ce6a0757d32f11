"""``audit-console demo``: the simulated guild (console/sim) in this process, and the same
collecting runtime as ``run`` connected to it. The console app is handed a :class:`DemoSession`
by the command; it never imports the simulator itself."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from console import paths
from console.config import Settings
from console.runtime import Listener, Runtime
from console.secret import Secret

if TYPE_CHECKING:
    from console.ingest.collector import Collector
    from console.sim.server import SimServer
    from console.store import AuditStore

log = logging.getLogger("console.demo")

#: When the scripted grant starts, after the console connected: long enough that the first sync
#: has settled on screen, short enough that a newcomer sees it within the demo's first half minute.
FIRST_GRANT_AFTER_S = 3.0


class DemoView(Listener, Protocol):
    """What the demo tells the console beyond a runtime's listener: whose guild it shows and
    whom the console acts as."""

    label: str
    operator_id: int | None


class DemoSession:
    """Starts the simulator once the console has drawn, then the runtime against it."""

    def __init__(self, store: AuditStore, settings: Settings, *, seed: int, rate: float) -> None:
        self.store = store
        self.settings = settings
        self.seed = seed
        self.rate = rate
        self.sim: SimServer | None = None
        self.runtime: Runtime | None = None
        self._script: asyncio.Task[None] | None = None

    @property
    def collector(self) -> Collector | None:
        return self.runtime.collector if self.runtime is not None else None

    @property
    def services(self) -> Any:
        return self.runtime.services if self.runtime is not None else None

    async def connect(self, app: DemoView) -> None:
        from console.roles.reconciler import audit_channel_key
        from console.sim import SimConfig, SimServer
        from console.sim.demo_policy import write_demo_policy

        self.sim = sim = SimServer(SimConfig(seed=self.seed))
        await sim.start()
        sim.seed_history(200, days_back=3)
        app.label = f"demo guild {sim.guild_id}"
        policy_path, operator = write_demo_policy(sim, paths.data_dir() / "demo-policy.toml")
        self.settings = self.settings.with_(
            rest_url=sim.rest_url,
            policy=policy_path,
            operator_id=operator,
            guild_ids=self.settings.guild_ids or (sim.guild_id,),
        )
        app.operator_id = operator
        await self.store.set_setting(audit_channel_key(sim.guild_id), str(sim.guild.core_channels["mod-log"]))
        self.runtime = Runtime(self.store, self.settings, Secret(sim.token))
        await self.runtime.connect(app)
        if self.runtime.services is not None and self.rate > 0:
            sim.start_driver(self.rate)
            self._script = asyncio.get_running_loop().create_task(self._first_minute(sim), name="demo-script")

    async def _first_minute(self, sim: SimServer) -> None:
        """What a newcomer should see happen without doing anything: a moderator's grant that
        Discord accepts and does not apply, twice, so the pending pane counts the attempts
        before the feed shows it confirmed (the reason the reconciler exists)."""
        from console.sim.incidents import retried_grant

        await asyncio.sleep(FIRST_GRANT_AFTER_S)
        try:
            await retried_grant(sim, drops=2)
        except (TimeoutError, LookupError, ValueError) as e:
            # The console did not answer the command (or /audit is not registered): the demo
            # goes on without it; the log says why.
            log.warning("demo: the scripted grant did not run: %s", e)

    async def close(self) -> None:
        if self._script is not None:
            self._script.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._script
        if self.sim is not None:
            await self.sim.stop_driver()
        if self.runtime is not None:
            await self.runtime.close()
        if self.sim is not None:
            await self.sim.stop()


def start_afresh(db: Path) -> None:
    """The demo's own store (demo.db) starts empty each time, so the demo always looks alike."""
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            Path(str(db) + suffix).unlink()
