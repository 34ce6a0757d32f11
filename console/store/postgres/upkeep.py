"""Settings, health checks, statistics (PostgreSQL)."""

from __future__ import annotations

from console.store.postgres.core import PgCore


class UpkeepPart(PgCore):
    """Settings, health checks, statistics."""
