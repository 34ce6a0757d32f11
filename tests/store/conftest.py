"""Store fixtures: real SQLite files in ``tmp_path``, always closed (aiosqlite hangs otherwise)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

# The suite runs with --import-mode=importlib, which puts no test folder on sys.path; the store
# tests share plain builders (store_helpers.py) that hypothesis strategies need at import time.
sys.path.insert(0, str(Path(__file__).parent))

from store_helpers import NOW_MS  # noqa: E402

from console.store import Store  # noqa: E402


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "audit.db"


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(db_path, clock=lambda: NOW_MS, busy_timeout=0.2)
    try:
        yield s
    finally:
        await s.close()
