"""UI test fixtures: a seeded store made once per session and copied per test, an app built on
the app's own loop with a frozen clock and no remembered state, and the demo's session (the
simulated guild, a collector and the services) for tests that act."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from console.config import Settings
from console.demo import DemoSession
from console.store import Store
from console.ui.app import ConsoleApp

from .seed import frozen_clock, seed_store


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    path = tmp_path_factory.mktemp("seed") / "seed.db"
    ids = asyncio.run(seed_store(path))
    return path, ids


@pytest.fixture
def seeded_db(seeded_template: tuple[Path, dict[str, int]], tmp_path: Path) -> Path:
    path = tmp_path / "audit.db"
    shutil.copy(seeded_template[0], path)
    return path


@pytest.fixture
def ids(seeded_template: tuple[Path, dict[str, int]]) -> dict[str, int]:
    return seeded_template[1]


@pytest.fixture
def make_app() -> Callable[..., ConsoleApp]:
    def make(db: Path, *, theme: str = "console-dark", remember: bool = False, **kwargs: object) -> ConsoleApp:
        app = ConsoleApp(
            open_store=lambda: Store.open(db, clock=frozen_clock),
            label="Sim Moderation HQ",
            clock=frozen_clock,
            remember=remember,
            **kwargs,  # type: ignore[arg-type]
        )
        app.theme = theme
        return app

    return make


class Demo:
    """The demo's session (simulator + collector + services), started when the app has drawn."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.session: DemoSession | None = None

    async def connect(self, app: ConsoleApp) -> None:
        self.session = DemoSession(app.store, Settings(db=self.db), seed=3, rate=0)
        await self.session.connect(app)

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None

    @contextlib.asynccontextmanager
    async def run(self, app: ConsoleApp) -> AsyncIterator[Any]:
        """``app.run_test`` that stops the session before the app closes the store it opened."""
        async with app.run_test(size=(140, 40)) as pilot:
            try:
                yield pilot
            finally:
                await self.close()


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[tuple[ConsoleApp, Demo]]:
    d = Demo(tmp_path / "demo.db")
    app = ConsoleApp(open_store=lambda: Store.open(d.db), label="demo", connect=d.connect, remember=False)
    yield app, d
    await d.close()
    if app.store is not None and not app.store.closed:
        await app.store.close()
