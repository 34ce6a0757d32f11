"""Decisions, break-glass sessions, role changes and their attempts (PostgreSQL)."""

from __future__ import annotations

from console.store.postgres.core import PgCore


class ActionsPart(PgCore):
    """Decisions, break-glass sessions, role changes and their attempts."""
