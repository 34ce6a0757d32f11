"""The one collecting runtime, as ``collect`` and the console run it, where the two used to differ:
a policy that no longer loads once started is said and collecting goes on (``collect`` used to
end with an internal error), and the scheduled reports run in the console too (only ``collect``
ran them). The real hikari client against the simulator, into a real SQLite file, and a real
PostgreSQL database for the tests marked for both backends."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from backends import BOTH, query

from console.commands.collect import collect
from console.config import Settings
from console.model.location import StoreLocation
from console.reports.schedule import ReportSchedule
from console.runtime import Runtime
from console.secret import Secret
from console.sim import SimServer
from console.sim.testing import eventually
from console.store import open_store
from console.ui.app import ConsoleApp
from console.ui.launch import settling

BROKEN_POLICY = "version = \n[grants\n"


async def stored(db: StoreLocation) -> int:
    rows = await query(db, "SELECT count(*) FROM audit_entries")
    return int(rows[0][0]) if rows else 0


@pytest.mark.backends(*BOTH)
async def test_collect_goes_on_when_the_policy_no_longer_loads(
    sim: SimServer, tmp_path: Path, location: StoreLocation, capsys: pytest.CaptureFixture[str]
) -> None:
    # The command checked the policy before starting; it broke before the services loaded it.
    policy = tmp_path / "policy.toml"
    policy.write_text(BROKEN_POLICY, encoding="utf-8")
    db = location
    settings = Settings(db=db, rest_url=sim.rest_url, guild_ids=(sim.guild_id,), policy=policy)
    stop = asyncio.Event()
    said: list[str] = []

    def saw(text: str) -> bool:
        said.append(capsys.readouterr().err)
        return text in "".join(said)

    task = asyncio.create_task(collect(settings, Secret(sim.token), stop=stop))
    await eventually(lambda: saw("collecting into") or task.done(), what="collecting")
    sim.emit_random(5)
    await eventually(lambda: _at_least(db, 5), what="entries stored")
    stop.set()
    assert await asyncio.wait_for(task, 120) == 0
    saw("")
    err = "".join(said)
    assert "audit-console: policy not loaded, nothing will be done for anyone:" in err
    assert "audit-console: stopped cleanly; " in err
    assert "internal error" not in err


async def _at_least(db: StoreLocation, count: int) -> bool:
    return await stored(db) >= count


class Live:
    """``run``'s session: the runtime on the app's store, closed before the app closes it."""

    def __init__(self, settings: Settings, token: Secret) -> None:
        self.settings = settings
        self.token = token
        self.runtime: Runtime | None = None

    async def connect(self, app: ConsoleApp) -> None:
        self.runtime = Runtime(app.store, self.settings, self.token)
        await self.runtime.connect(app)

    async def close(self) -> None:
        if self.runtime is not None:
            await self.runtime.close()
            self.runtime = None


async def run_console(
    settings: Settings, token: Secret, until: Callable[[ConsoleApp, Live], bool], what: str
) -> ConsoleApp:
    live = Live(settings, token)
    app = ConsoleApp(
        open_store=lambda: open_store(settings.db), label="live", connect=settling(live.connect), remember=False
    )
    try:
        async with app.run_test(size=(140, 40)):
            try:
                await eventually(lambda: until(app, live), what=what)
            finally:
                await live.close()
    finally:
        if app.store is not None and not app.store.closed:
            await app.store.close()
    return app


def notices(app: ConsoleApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


@pytest.mark.backends(*BOTH)
async def test_the_console_writes_the_scheduled_reports(
    sim: SimServer, tmp_path: Path, location: StoreLocation
) -> None:
    folder = tmp_path / "reports"
    settings = Settings(
        db=location,
        rest_url=sim.rest_url,
        guild_ids=(sim.guild_id,),
        reports=ReportSchedule("weekly", folder),
    )
    app = await run_console(
        settings,
        Secret(sim.token),
        lambda app, _live: any(n.startswith("report: wrote") for n in notices(app)),
        "report written",
    )
    assert [p.suffix for p in sorted(folder.glob("audit-report-*"))] == [".json", ".md"]
    assert app.services is not None


async def test_the_console_says_when_the_policy_no_longer_loads(sim: SimServer, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(BROKEN_POLICY, encoding="utf-8")
    settings = Settings(db=tmp_path / "audit.db", rest_url=sim.rest_url, guild_ids=(sim.guild_id,), policy=policy)

    def collecting(app: ConsoleApp, live: Live) -> bool:
        runtime = live.runtime
        return (
            any("policy not loaded" in n for n in notices(app))
            and runtime is not None
            and runtime.collector is not None
            and runtime.collector.state.gateway == "connected"
        )

    app = await run_console(settings, Secret(sim.token), collecting, "notice, still collecting")
    assert app.services is None  # nothing acts for anyone
