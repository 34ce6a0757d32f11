"""The ``alerts`` table (migration 6): writing an alert, reading the list."""

from __future__ import annotations

import sqlite3
from dataclasses import replace

import aiosqlite
import orjson

from console.alerts.engine import Alert
from console.store import Store
from console.store.connection import rows

_COLUMNS = "id, created_at, rule, guild_id, severity, summary, record_ids, posted"


def _from_row(row: tuple) -> Alert:  # type: ignore[type-arg]
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


async def save(store: Store, alert: Alert) -> Alert:
    """Insert; returns the alert with its id (a snowflake of when it was raised)."""
    stored = replace(alert, id=store.ids.make(alert.created_at))
    async with store.transaction() as db:
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


async def set_posted(store: Store, alert_id: int, posted: str) -> None:
    async with store.transaction() as db:
        await db.execute("UPDATE alerts SET posted = ? WHERE id = ?", (posted, alert_id))


async def newest(db: aiosqlite.Connection, *, limit: int = 500, after_id: int | None = None) -> list[Alert]:
    """Newest first; with ``after_id`` only those raised after it. A store from before
    migration 6 (browsed read-only) has no alerts yet: an empty list, not an error."""
    sql = f"SELECT {_COLUMNS} FROM alerts"
    args: tuple[int, ...] = ()
    if after_id is not None:
        sql += " WHERE id > ?"
        args = (after_id,)
    try:
        found = await rows(db, sql + " ORDER BY id DESC LIMIT ?", (*args, limit))
    except sqlite3.OperationalError:
        return []
    return [_from_row(tuple(r)) for r in found]


async def newest_id(db: aiosqlite.Connection) -> int:
    found = await newest(db, limit=1)
    return found[0].id or 0 if found else 0
