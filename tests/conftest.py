"""Keep the machine running the tests out of them: XDG folders in tmp, UTC, no user config,
no token in the environment."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from typing import Any

import pytest

# PostgreSQL fixtures (pg_url, pg_cluster): a real server for every test that needs one; the
# backend parameter and the store's location for tests on both backends (backends.py).
pytest_plugins = ["pgtest", "backends"]


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path_factory.mktemp("home")
    for var, sub in (("XDG_DATA_HOME", "data"), ("XDG_CONFIG_HOME", "config"), ("XDG_STATE_HOME", "state")):
        monkeypatch.setenv(var, str(home / sub))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.delenv("AUDIT_CONSOLE_CONFIG", raising=False)
    if hasattr(time, "tzset"):
        time.tzset()
    os.environ.setdefault("COLUMNS", "120")


class FullDisk:
    """A store's writing connection with every COMMIT failing as SQLite fails on a full disk
    (SQLITE_FULL) while ``full``: the disk, not our code, is what is faked. (The fault suite's
    disk case fills a real disk: a file-size limit on a running `collect`.)"""

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self.full = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    async def execute(self, sql: str, *args: Any) -> Any:
        if self.full and sql.strip().upper() == "COMMIT":
            raise sqlite3.OperationalError("database or disk is full")
        return await self._conn.execute(sql, *args)


@pytest.fixture
def fill_disk() -> Callable[[Any], FullDisk]:
    """``disk = fill_disk(store)``: from now on the store's commits fail; ``disk.full = False``
    gives the space back."""

    def fill(store: Any) -> FullDisk:
        disk = FullDisk(store._w)
        store._w = disk
        return disk

    return fill
