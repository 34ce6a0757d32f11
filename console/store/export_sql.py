"""The SQL an export reads with, as far as it differs between the store's backends: the feed's
keyset pages and counts of audit entries, the ids of the other kinds of record a filter keeps, and
how a name is compared without case (``export --query``). The SQLite store's is :data:`SQLITE_SQL`;
the PostgreSQL store's is in ``console/store/postgres/export.py``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from console.model.filters import Filter
from console.store import queries, timeline

Statement = tuple[str, list[Any]]


@dataclass(frozen=True)
class ExportSql:
    #: ``(flt, *, before, after, limit, columns, order=None)`` → one keyset page of audit entries.
    entry_page: Callable[..., Statement]
    #: How many audit entries the filter keeps.
    entry_count: Callable[[Filter], Statement]
    #: ``SELECT id, … FROM <table> WHERE …`` for one other kind (decision, role_change, gap), or
    #: None when the filter excludes it.
    record_ids: Callable[[str, Filter], Statement | None]
    #: Rows per keyset page.
    page: int
    #: ``name`` equal to the argument ``?`` but for the case of ASCII letters (SQLite's ``lower``).
    same_name: str
    #: Whether big exports render in worker processes (``export_workers.py``).
    workers: bool


def record_ids(kind: str, flt: Filter) -> Statement | None:
    """The feed's own selection of one other kind (``timeline._branch``)."""
    branch = timeline._branch(kind, flt)
    return None if branch is None else branch[:2]


#: The SQLite store's: short pages, each its own read transaction, so a long export never pins
#: the WAL.
SQLITE_SQL: Final = ExportSql(
    entry_page=queries.entry_page,
    entry_count=queries.entry_count,
    record_ids=record_ids,
    page=5000,
    same_name="lower(name) = lower(?)",
    workers=True,
)
