"""Store fixtures: real SQLite files in ``tmp_path`` and real PostgreSQL databases (``pg_url``),
always closed (aiosqlite hangs otherwise).

Tests of what a store does take ``store`` or ``open_store``, typed as the interface
(:class:`console.store.AuditStore`): ``open_store(**options)`` is the one place a test store is
opened. Such a test runs on every backend its module lists in ``BACKENDS`` (or its
``@pytest.mark.backends(...)`` marker lists); the default is SQLite alone, for tests not yet
shown to hold on PostgreSQL. Tests of the SQLite file itself (opening, locking, the export,
verify) open ``Store`` directly."""

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
from console.store.postgres.store import PgStore  # noqa: E402

#: The ``backend`` parameter is made in tests/backends.py, for every test folder.


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "audit.db"


@pytest.fixture
async def open_store(db_path: Path, backend: str, request: pytest.FixtureRequest) -> AsyncIterator[OpenStore]:
    """Opens the test's store with these options (clock, readonly, …): the SQLite file at
    ``db_path``, or the test's own PostgreSQL database; every store it opened is closed after the
    test (closing twice is harmless). Opening twice opens the same store."""
    opened: list[AuditStore] = []
    url = request.getfixturevalue("pg_url") if backend == "postgres" else None

    async def open_(**options: Any) -> AuditStore:
        store: AuditStore = await (PgStore.open(url, **options) if url else Store.open(db_path, **options))
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
