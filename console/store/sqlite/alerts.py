"""Alerts (the ``alerts`` table, migration 6): storing one, marking its channel post, listing them."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import orjson

from console.store.connection import describe, rows
from console.store.errors import StoreError
from console.store.sqlite.core import StoreCore

if TYPE_CHECKING:
    from console.model.alert import Alert

_COLUMNS = "id, created_at, rule, guild_id, severity, summary, record_ids, posted"


def _from_row(row: tuple[Any, ...]) -> Alert:
    from console.model.alert import Alert  # a dataclass: defined when alerts are read, not at start

    i, created, rule, guild, severity, summary, ids, posted = row
    return Alert(
        created_at=int(created),
        rule=rule,
        guild_id=int(guild),
        severity=severity,
        summary=summary,
        record_ids=tuple(int(x) for x in orjson.loads(ids)),
        id=int(i),
        posted=posted,
    )


class AlertsPart(StoreCore):
    """The alerts the rules raised."""

    async def save_alert(self, alert: Alert) -> Alert:
        stored = replace(alert, id=self.ids.make(alert.created_at))
        async with self.transaction() as db:
            await db.execute(
                f"INSERT INTO alerts ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)",
                (
                    stored.id,
                    stored.created_at,
                    stored.rule,
                    stored.guild_id,
                    stored.severity,
                    stored.summary,
                    orjson.dumps(list(stored.record_ids)).decode(),
                    stored.posted,
                ),
            )
        return stored

    async def set_alert_posted(self, alert_id: int, posted: str) -> None:
        async with self.transaction() as db:
            await db.execute("UPDATE alerts SET posted = ? WHERE id = ?", (posted, alert_id))

    async def alerts(self, *, limit: int = 500, after_id: int | None = None) -> list[Alert]:
        sql = f"SELECT {_COLUMNS} FROM alerts"
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
        return [_from_row(tuple(r)) for r in found]
