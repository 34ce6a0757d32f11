"""Alerts (the ``alerts`` table, migration 6): storing one, marking its channel post, listing them."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from typing import TYPE_CHECKING

from console.store.connection import describe, rows
from console.store.errors import StoreError
from console.store.record_rows import ALERT_COLUMNS, alert_from_row, alert_values
from console.store.sqlite.core import StoreCore

if TYPE_CHECKING:
    from console.model.alert import Alert


class AlertsPart(StoreCore):
    """The alerts the rules raised."""

    async def save_alert(self, alert: Alert) -> Alert:
        stored = replace(alert, id=self.ids.make(alert.created_at))
        async with self.transaction() as db:
            await db.execute(f"INSERT INTO alerts ({ALERT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)", alert_values(stored))
        return stored

    async def set_alert_posted(self, alert_id: int, posted: str) -> None:
        async with self.transaction() as db:
            await db.execute("UPDATE alerts SET posted = ? WHERE id = ?", (posted, alert_id))

    async def alerts(self, *, limit: int = 500, after_id: int | None = None) -> list[Alert]:
        sql = f"SELECT {ALERT_COLUMNS} FROM alerts"
        args: tuple[int, ...] = ()
        if after_id is not None:
            sql += " WHERE id > ?"
            args = (after_id,)
        try:
            found = await rows(self._r, sql + " ORDER BY id DESC LIMIT ?", (*args, limit))
        except sqlite3.OperationalError:
            return []  # a store from before migration 6, browsed read-only: no alerts yet
        except sqlite3.Error as e:
            raise StoreError(describe(e, self.path)) from None
        return [alert_from_row(r) for r in found]
