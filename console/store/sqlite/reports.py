"""The grouped counts a report is made of (``console/reports`` turns them into one).

Audit entries are selected by id range (ids are snowflakes, so ``from_ms(since) <= id <
from_ms(until)`` is exactly ``since <= created_at < until`` and uses the primary key); decisions,
break-glass sessions, alerts, role changes and notes by their ``created_at``/``started_at`` time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from console.model.snowflake import from_ms
from console.store.connection import one, rows
from console.store.sqlite.core import StoreCore

if TYPE_CHECKING:
    from console.store.period import PeriodCounts

#: The alerts table is another feature's; these are the column names it may use.
_ALERT_RULE_COLUMNS = ("rule", "rule_id", "rule_name", "name")
_ALERT_TIME_COLUMNS = ("created_at", "raised_at", "fired_at", "at")


def _in(column: str, ids: Sequence[int]) -> tuple[str, list[int]]:
    if not ids:
        return "", []
    return f" AND {column} IN ({','.join('?' * len(ids))})", list(ids)


class ReportsPart(StoreCore):
    """Counts per period, for reports."""

    async def period_counts(self, since_ms: int, until_ms: int, guild_ids: Iterable[int] = ()) -> PeriodCounts:
        from console.store.period import assemble

        db = self._r
        guilds = tuple(sorted(set(guild_ids)))
        g_clause, g_args = _in("guild_id", guilds)
        by_actor = await rows(
            db,
            "SELECT actor_id, count(*) FROM audit_entries WHERE id >= ? AND id < ?" + g_clause + " GROUP BY actor_id",
            [from_ms(since_ms), from_ms(until_ms), *g_args],
        )
        by_type = await rows(
            db,
            "SELECT action_type, count(*) FROM audit_entries WHERE id >= ? AND id < ?"
            + g_clause
            + " GROUP BY action_type",
            [from_ms(since_ms), from_ms(until_ms), *g_args],
        )
        decisions = await rows(
            db,
            "SELECT result, reason_code, capability, actor_id, max(actor_name), count(*)"
            " FROM decisions WHERE created_at >= ? AND created_at < ?"
            + g_clause
            + " GROUP BY result, reason_code, capability, actor_id",
            [since_ms, until_ms, *g_args],
        )
        sessions = await rows(
            db,
            "SELECT user_id, started_at, expires_at, ended_at, guild_id FROM break_glass"
            " WHERE started_at >= ? AND started_at < ?" + g_clause + " ORDER BY started_at, id",
            [since_ms, until_ms, *g_args],
        )
        alerts_recorded, alerts_by_rule = await _alerts(db, since_ms, until_ms, guilds)
        role_changes = await rows(
            db,
            "SELECT state, op, count(*) FROM role_changes WHERE created_at >= ? AND created_at < ?"
            + g_clause
            + " GROUP BY state, op",
            [since_ms, until_ms, *g_args],
        )
        snapshots = await rows(
            db, "SELECT snapshot FROM guild_state WHERE 1 = 1" + g_clause + " ORDER BY guild_id", g_args
        )
        with_entries = (
            []
            if guilds
            else await rows(
                db,
                "SELECT DISTINCT guild_id FROM audit_entries WHERE id >= ? AND id < ? ORDER BY guild_id",
                [from_ms(since_ms), from_ms(until_ms)],
            )
        )
        notes: list[Any] = []
        if await one(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'notes'") is not None:
            notes = await rows(
                db,
                "SELECT actor_id, max(actor_name), action, count(*) FROM notes WHERE created_at >= ?"
                " AND created_at < ?" + g_clause + " GROUP BY actor_id, action",
                [since_ms, until_ms, *g_args],
            )
        return assemble(
            notes=notes,
            entries_by_actor=by_actor,
            entries_by_type=by_type,
            decisions=decisions,
            break_glass=sessions,
            alerts_recorded=alerts_recorded,
            alerts_by_rule=alerts_by_rule,
            role_changes=role_changes,
            guilds_with_entries=with_entries,
            snapshots=[r[0] for r in snapshots],
        )


async def _alerts(db: Any, since_ms: int, until_ms: int, guilds: Sequence[int]) -> tuple[bool, list[Any]]:
    """Alerts per rule, when this store records alerts (a store from before they existed does not)."""
    if await one(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alerts'") is None:
        return False, []
    columns = {r[1] for r in await rows(db, "PRAGMA table_info(alerts)")}
    rule = next((c for c in _ALERT_RULE_COLUMNS if c in columns), None)
    when = next((c for c in _ALERT_TIME_COLUMNS if c in columns), None)
    if rule is None or when is None:
        return False, []
    g_clause, g_args = _in("guild_id", guilds) if "guild_id" in columns else ("", [])
    found = await rows(
        db,
        f"SELECT {rule}, count(*) FROM alerts WHERE {when} >= ? AND {when} < ?{g_clause} GROUP BY {rule}",
        [since_ms, until_ms, *g_args],
    )
    return True, found
