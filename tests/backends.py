"""Both store backends for any test: a test taking ``backend`` runs on each backend its
``@pytest.mark.backends(...)`` marker or its module's ``BACKENDS`` lists (SQLite alone by
default); ``location`` is its store as ``--db`` names it (a SQLite file in ``tmp_path``, or a
PostgreSQL database of its own); ``query`` reads what another process committed there.
Loaded as a plugin (tests/conftest.py); import the helpers by name (``from backends import …``)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from console.model.location import PgLocation, StoreLocation

#: Both backends: what a module sets ``BACKENDS`` to (or a test's marker lists) once its tests
#: hold on PostgreSQL too.
BOTH = ("sqlite", "postgres")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test taking ``backend`` runs on each store backend its ``@pytest.mark.backends(...)``
    marker or its module's ``BACKENDS`` lists; SQLite alone by default (the store tests, see
    tests/store/conftest.py, and the integration tests, tests/integration/conftest.py)."""
    if "backend" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("backends")
    wanted = marker.args if marker else getattr(metafunc.module, "BACKENDS", ("sqlite",))
    metafunc.parametrize("backend", wanted)


@pytest.fixture
def location(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> StoreLocation:
    """The test's store: a SQLite file in ``tmp_path``, or its own PostgreSQL database."""
    if backend == "postgres":
        return PgLocation(request.getfixturevalue("pg_url"))
    return tmp_path / "audit.db"


def db_arg(location: StoreLocation) -> str:
    """``location`` as ``--db`` takes it."""
    return location.url if isinstance(location, PgLocation) else str(location)


async def query(location: StoreLocation, sql: str) -> list[tuple[Any, ...]]:
    """``sql`` (plain SQL both backends take, no parameters) on its own connection to the store at
    ``location``, as another program would look: what a command in its own process committed.
    [] when there is no store yet."""
    if isinstance(location, PgLocation):
        import asyncpg

        try:
            conn = await asyncpg.connect(location.url, timeout=10)
        except asyncpg.InvalidCatalogNameError:
            return []
        try:
            return [tuple(r) for r in await conn.fetch(sql)]
        except asyncpg.UndefinedTableError:
            return []
        finally:
            await conn.close()
    try:
        conn = sqlite3.connect(f"file:{location}?mode=ro", uri=True)
    except sqlite3.Error:
        return []
    try:
        return [tuple(r) for r in conn.execute(sql).fetchall()]
    except sqlite3.Error:
        return []
    finally:
        conn.close()
