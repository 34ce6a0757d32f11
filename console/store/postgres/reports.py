"""The grouped counts a report is made of, in PostgreSQL (``console/reports`` turns them into one;
``period.assemble`` makes them of the rows, as for SQLite).

Audit entries are selected by id range (ids are snowflakes, so ``from_ms(since) <= id <
from_ms(until)`` is exactly ``since <= created_at < until`` and uses the primary key); decisions,
break-glass sessions, alerts, role changes and notes by their ``created_at``/``started_at`` time.

The groups come in the order the SQLite store gives them (its GROUP BY sorts by the group's
columns): ``ORDER BY`` them here, NULLs first and text by bytes (``COLLATE "C"``) as SQLite
compares, so a report reads the same on both backends.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from console.model.snowflake import from_ms
from console.store.postgres.core import PgCore

if TYPE_CHECKING:
    from console.store.period import PeriodCounts

_C = ' COLLATE "C"'


class ReportsPart(PgCore):
    """Counts per period, for reports."""

    async def period_counts(self, since_ms: int, until_ms: int, guild_ids: Iterable[int] = ()) -> PeriodCounts:
        from console.store.period import assemble

        guilds = sorted(set(guild_ids))
        # $3 is the guild list, or NULL for every guild.
        g_clause = " AND ($3::bigint[] IS NULL OR guild_id = ANY($3::bigint[]))"
        g_arg = guilds or None
        ids = (from_ms(since_ms), from_ms(until_ms), g_arg)
        times = (since_ms, until_ms, g_arg)
        async with self.reading() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            # One snapshot: the counts of one report agree with each other while a collector writes.
            by_actor = await conn.fetch(
                "SELECT actor_id, count(*) FROM audit_entries WHERE id >= $1 AND id < $2"
                + g_clause
                + " GROUP BY actor_id ORDER BY actor_id NULLS FIRST",
                *ids,
            )
            by_type = await conn.fetch(
                "SELECT action_type, count(*) FROM audit_entries WHERE id >= $1 AND id < $2"
                + g_clause
                + " GROUP BY action_type ORDER BY action_type",
                *ids,
            )
            decisions = await conn.fetch(
                f"SELECT result, reason_code, capability, actor_id, max(actor_name{_C}), count(*)"
                " FROM decisions WHERE created_at >= $1 AND created_at < $2"
                + g_clause
                + " GROUP BY result, reason_code, capability, actor_id"
                f" ORDER BY result{_C}, reason_code{_C}, capability{_C}, actor_id",
                *times,
            )
            sessions = await conn.fetch(
                "SELECT user_id, started_at, expires_at, ended_at, guild_id FROM break_glass"
                " WHERE started_at >= $1 AND started_at < $2" + g_clause + " ORDER BY started_at, id",
                *times,
            )
            alerts_by_rule = await conn.fetch(
                "SELECT rule, count(*) FROM alerts WHERE created_at >= $1 AND created_at < $2"
                + g_clause
                + f" GROUP BY rule ORDER BY rule{_C}",
                *times,
            )
            role_changes = await conn.fetch(
                "SELECT state, op, count(*) FROM role_changes WHERE created_at >= $1 AND created_at < $2"
                + g_clause
                + f" GROUP BY state, op ORDER BY state{_C}, op{_C}",
                *times,
            )
            snapshots = await conn.fetch(
                "SELECT snapshot FROM guild_state WHERE ($1::bigint[] IS NULL OR guild_id = ANY($1::bigint[]))"
                " ORDER BY guild_id",
                g_arg,
            )
            notes = await conn.fetch(
                f"SELECT actor_id, max(actor_name{_C}), action, count(*) FROM notes"
                " WHERE created_at >= $1 AND created_at < $2"
                + g_clause
                + f" GROUP BY actor_id, action ORDER BY actor_id, action{_C}",
                *times,
            )
            with_entries = (
                []
                if guilds
                else await conn.fetch(
                    "SELECT DISTINCT guild_id FROM audit_entries WHERE id >= $1 AND id < $2 ORDER BY guild_id",
                    from_ms(since_ms),
                    from_ms(until_ms),
                )
            )
        return assemble(
            notes=notes,
            entries_by_actor=by_actor,
            entries_by_type=by_type,
            decisions=decisions,
            break_glass=sessions,
            alerts_recorded=True,  # every PostgreSQL store has the alerts table
            alerts_by_rule=alerts_by_rule,
            role_changes=role_changes,
            guilds_with_entries=with_entries,
            snapshots=[r[0] for r in snapshots],
        )
