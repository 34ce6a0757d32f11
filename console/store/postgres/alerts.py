"""Alerts raised by the rules (PostgreSQL)."""

from __future__ import annotations

from console.store.postgres.core import PgCore


class AlertsPart(PgCore):
    """Alerts raised by the rules."""
