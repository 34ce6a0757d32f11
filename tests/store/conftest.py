"""Store fixtures: real SQLite files in ``tmp_path``, always closed (aiosqlite hangs otherwise).

Tests of what a store does take ``store`` or ``open_store``, typed as the interface
(:class:`console.store.AuditStore`): ``open_store(**options)`` is the one place a test store is
opened, so that another backend can be put behind the same tests. Tests of the SQLite file
itself (opening, locking, the export, verify) open ``Store`` directly."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

# The suite runs with --import-mode=importlib, which puts no test folder on sys.path; the store
# tests share plain builders (store_helpers.py) that hypothesis strategies need at import time.
sys.path.insert(0, str(Path(__file__).parent))

from store_helpers import NOW_MS, OpenStore  # noqa: E402

from console.store import AuditStore, Store  # noqa: E402


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "audit.db"


@pytest.fixture
async def open_store(db_path: Path) -> AsyncIterator[OpenStore]:
    """Opens the store at ``db_path`` with these options (the backend's own: clock, readonly, …);
    every store it opened is closed after the test (closing twice is harmless)."""
    opened: list[AuditStore] = []

    async def open_(**options: Any) -> AuditStore:
        store = await Store.open(db_path, **options)
        opened.append(store)
        return store

    try:
        yield open_
    finally:
        for store in opened:
            await store.close()


@pytest.fixture
async def store(open_store: OpenStore) -> AuditStore:
    return await open_store(clock=lambda: NOW_MS, busy_timeout=0.2)
