"""Export from a PostgreSQL store: where it reads (:class:`PgSource`) and the little of its SQL
that differs from the SQLite store's (:data:`PG_SQL`). Everything else — the filter's semantics,
the merge of the kinds, the rendering of records into CSV, JSON or JSON Lines — is the SQLite
export's own code (``console/store/export.py``), so the bytes are the same for the same records.

The export reads through one :class:`BlockingConnection`: one REPEATABLE READ snapshot from its
first row to its last, rows streamed from server-side cursors, so it sees the store as it was when
it began and never holds more than a batch in memory. No worker processes: see
docs/postgresql.md (Export) for the measurement behind that."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from console.model.filters import Filter
from console.store import queries
from console.store.errors import StoreError
from console.store.export_sql import ExportSql, record_ids
from console.store.postgres.blocking import BlockingConnection


@dataclass(frozen=True)
class PgSource:
    """A PostgreSQL store to export from: the driver's URL, the address shown to people, and the
    connection's options (a password, when the config's ``password_file`` gave one)."""

    url: str
    where: str
    options: Mapping[str, Any] = field(default_factory=dict, repr=False)  # never in a repr: a password

    @property
    def sql(self) -> ExportSql:
        return PG_SQL

    def open(self) -> BlockingConnection:
        db = BlockingConnection.open(self.url, self.where, **self.options)
        try:
            if "meta" not in db.tables():
                raise StoreError(f"PostgreSQL at {self.where} holds no Audit Console store")
        except BaseException:
            db.close()
            raise
        return db


def source_of(store: Any) -> PgSource:
    """The source of an open :class:`PgStore` (the TUI's export dialog)."""
    return PgSource(store._dsn, store.where, dict(store._connect_options))


def _no_text(flt: Filter) -> None:
    # TODO(#19): full text on PostgreSQL (postgres/fulltext.py, postgres/queries.py) is not on main
    # yet; once it is, its entry_page/entry_count replace these and the refusal goes.
    if flt.text:
        raise StoreError("an export filtered by text does not work on a PostgreSQL store yet; use a SQLite store")


def _entry_clauses_match_nothing(flt: Filter) -> bool:
    """The filter keeps no audit entry at all (SQLite's always-false clause ``0``, which
    PostgreSQL's WHERE refuses: it wants a boolean)."""
    return "0" in queries.entry_where(flt)[0]


def _entry_page(flt: Filter, **page: Any) -> tuple[str, list[Any]]:
    if _entry_clauses_match_nothing(flt):
        return f"SELECT {page['columns']} FROM audit_entries WHERE false", []
    return queries.entry_page(flt, **page)


def _entry_count(flt: Filter) -> tuple[str, list[Any]]:
    if _entry_clauses_match_nothing(flt):
        return "SELECT 0", []
    return queries.entry_count(flt)


#: The SQLite SQL is portable but for the always-false clause and full text (refused until the
#: PostgreSQL full text is on main). One page: the snapshot already pins what the export sees, so
#: the SQLite export's short pages (which keep its WAL from growing) would only add round trips.
PG_SQL = ExportSql(
    entry_page=_entry_page,
    entry_count=_entry_count,
    record_ids=record_ids,
    page=1 << 62,
    same_name=(
        "translate(name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
        " = translate(?, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
    ),
    workers=False,
    refuse=_no_text,
)
