"""Alerts as the store keeps them: writing one, marking its post, reading the list."""

from __future__ import annotations

from typing import TYPE_CHECKING

from console.model.alert import Alert

if TYPE_CHECKING:
    from console.store.api import AuditStore


async def save(store: AuditStore, alert: Alert) -> Alert:
    """Insert; returns the alert with its id (a snowflake of when it was raised)."""
    return await store.save_alert(alert)


async def set_posted(store: AuditStore, alert_id: int, posted: str) -> None:
    await store.set_alert_posted(alert_id, posted)


async def newest(store: AuditStore, *, limit: int = 500, after_id: int | None = None) -> list[Alert]:
    """Newest first; with ``after_id`` only those raised after it. A store from before alerts
    existed (browsed read-only) has none: an empty list, not an error."""
    return await store.alerts(limit=limit, after_id=after_id)


async def newest_id(store: AuditStore) -> int:
    found = await newest(store, limit=1)
    return found[0].id or 0 if found else 0
