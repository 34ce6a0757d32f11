"""The one timeline of every kind of record: pages, counts, the sparse index, activity (PostgreSQL)."""

from __future__ import annotations

from console.store.postgres.core import PgCore


class BrowsePart(PgCore):
    """The one timeline of every kind of record: pages, counts, the sparse index, activity."""
