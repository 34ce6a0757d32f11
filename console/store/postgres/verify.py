"""``verify`` on a PostgreSQL store: the same chain check as on SQLite (``console/store/verify.py``),
read through one read-only snapshot. PostgreSQL has no counterpart of SQLite's
``integrity_check`` that every server carries (``amcheck`` is an extension), so the check is the
chain's alone; the server's own page checksums, when enabled, guard the files."""

from __future__ import annotations

from typing import Any

from console.store.errors import StoreError
from console.store.postgres.blocking import BlockingConnection
from console.store.postgres.store import display_url
from console.store.verify import VerifyReport, verify_chain


def verify_postgres(url: str, **options: Any) -> VerifyReport:
    """Check every guild's chain against the stored records. Raises StoreError (one line) only for
    what it cannot read at all."""
    where = display_url(url)
    report = VerifyReport()
    db = BlockingConnection.open(url, where, **options)
    try:
        tables = db.tables()
        if "meta" not in tables:
            raise StoreError(f"PostgreSQL at {where} holds no Audit Console store")
        verify_chain(db, report, tables)
    finally:
        db.close()
    return report
