"""UI test fixtures: a seeded store made once per session and copied per test, and an app
built on the app's own loop with a frozen clock and no remembered state."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

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
