"""Audit entries (PostgreSQL): idempotent ingest with revisions and the full-text rows, the chain
linked in the same transaction, pages and lookups, parse failures."""

from __future__ import annotations

from console.store.postgres.names import NamesPart


class EntriesPart(NamesPart):
    """Audit entries and parse failures."""
