"""Names of users, members, roles, channels and guilds (the cache and the table) (PostgreSQL)."""

from __future__ import annotations

from console.store.postgres.core import PgCore


class NamesPart(PgCore):
    """Names of users, members, roles, channels and guilds (the cache and the table)."""
