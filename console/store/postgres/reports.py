"""Counts for reports over a period (PostgreSQL)."""

from __future__ import annotations

from console.store.postgres.core import PgCore


class ReportsPart(PgCore):
    """Counts for reports over a period."""
