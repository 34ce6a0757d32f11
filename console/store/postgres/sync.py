"""Sync state (high-water marks, live marks), gaps, guild state snapshots (PostgreSQL)."""

from __future__ import annotations

from console.store.postgres.core import PgCore


class SyncPart(PgCore):
    """Sync state (high-water marks, live marks), gaps, guild state snapshots."""
