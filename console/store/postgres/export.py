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
from console.store.errors import StoreError
from console.store.export_sql import ExportSql
from console.store.postgres import fulltext, queries, timeline
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


def _record_ids(kind: str, flt: Filter) -> tuple[str, list[Any]] | None:
    """The PostgreSQL timeline's own selection of one other kind (its words matched as SQLite's
    LIKE matches them)."""
    branch = timeline._branch(kind, flt, "", [])
    return None if branch is None else branch[:2]


#: The PostgreSQL feed's pages and counts (full text through ``tsquery``) and its timeline's
#: branches. One page: the snapshot already pins what the export sees, so the SQLite export's
#: short pages (which keep its WAL from growing) would only add round trips and open cursors.
PG_SQL = ExportSql(
    entry_page=queries.entry_page,
    entry_count=queries.entry_count,
    record_ids=_record_ids,
    page=1 << 62,
    # SQLite's lower() folds ASCII letters only (PostgreSQL's would fold every letter).
    same_name=" = ".join(f"translate({x}, '{fulltext.UPPER}', '{fulltext.LOWER}')" for x in ("name", "?")),
    workers=False,
)
