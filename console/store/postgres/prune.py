"""Retention: prune and what is kept (PostgreSQL)."""

from __future__ import annotations

from console.store.postgres.core import PgCore


class PrunePart(PgCore):
    """Retention: prune and what is kept."""
