"""Alerts raised by the rules (PostgreSQL): storing one, marking its channel post, listing them.
The row values are ``record_rows.py``'s, shared with SQLite."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from console.store.postgres.core import PgCore
from console.store.record_rows import ALERT_COLUMNS, alert_from_row, alert_values

if TYPE_CHECKING:
    from console.model.alert import Alert


class AlertsPart(PgCore):
    """The alerts the rules raised."""

    async def save_alert(self, alert: Alert) -> Alert:
        stored = replace(alert, id=self.ids.make(alert.created_at))
        async with self.transaction() as conn:
            self._note("alerts")
            await conn.execute(
                f"INSERT INTO alerts ({ALERT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", *alert_values(stored)
            )
        return stored

    async def set_alert_posted(self, alert_id: int, posted: str) -> None:
        async with self.transaction() as conn:
            self._note("alerts")
            await conn.execute("UPDATE alerts SET posted = $1 WHERE id = $2", posted, alert_id)

    async def alerts(self, *, limit: int = 500, after_id: int | None = None) -> list[Alert]:
        # Every PostgreSQL store has the alerts table (its schema starts at the SQLite store's
        # version 7), so there is no "store from before alerts" case here.
        args: list[Any] = [limit]
        where = ""
        if after_id is not None:
            where = " WHERE id > $2"
            args.append(after_id)
        found = await self.fetch(f"SELECT {ALERT_COLUMNS} FROM alerts{where} ORDER BY id DESC LIMIT $1", *args)
        return [alert_from_row(r) for r in found]
