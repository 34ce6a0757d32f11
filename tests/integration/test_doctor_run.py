"""`run`'s start check: the console, once drawn, checks the setup and says what is wrong in one
notice, then collects anyway. The real app under run_test, the real hikari client, the simulator."""

from __future__ import annotations

from pathlib import Path

from console.commands.doctor import CheckedRuntime
from console.config import Settings
from console.secret import Secret
from console.sim import SimServer
from console.sim.setup_faults import misconfigure
from console.sim.testing import eventually
from console.store import Store
from console.ui.app import ConsoleApp
from console.ui.launch import settling


class Live:
    """``run``'s session as console/commands/screens.py builds it."""

    def __init__(self, settings: Settings, token: Secret) -> None:
        self.settings, self.token = settings, token
        self.runtime: CheckedRuntime | None = None

    async def connect(self, app: ConsoleApp) -> None:
        self.runtime = CheckedRuntime(app.store, self.settings, self.token)
        await self.runtime.connect(app)

    async def close(self) -> None:
        if self.runtime is not None:
            await self.runtime.close()


async def test_run_says_what_is_wrong_and_collects(sim: SimServer, tmp_path: Path) -> None:
    misconfigure(sim, ["commands"])
    settings = Settings(db=tmp_path / "audit.db", rest_url=sim.rest_url, guild_ids=(sim.guild_id,))
    live = Live(settings, Secret(sim.token))
    app = ConsoleApp(
        open_store=lambda: Store.open(settings.db), label="live", connect=settling(live.connect), remember=False
    )

    def notices() -> list[tuple[str, str]]:
        return [(str(n.message), n.severity) for n in app._notifications]

    def collecting() -> bool:
        r = live.runtime
        return r is not None and r.collector is not None and r.collector.state.gateway == "connected"

    try:
        async with app.run_test(size=(140, 40)):
            try:
                await eventually(lambda: collecting() and notices(), what="the setup notice, and collecting")
                seen = notices()
            finally:
                await live.close()
    finally:
        if app.store is not None and not app.store.closed:
            await app.store.close()
    assert (
        "setup: 1 check failed (audit-console doctor lists them): ✗ guild Sim Moderation HQ: slash commands "
        "cannot be registered (403 Missing Access): add the bot again with the URL `audit-console invite-url` "
        "prints (scope applications.commands)",
        "warning",
    ) in seen
