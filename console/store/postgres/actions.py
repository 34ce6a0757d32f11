"""Decisions (the policy engine's), break-glass sessions, and role changes with their attempts
(the reconciler's), in PostgreSQL. Final decisions and role changes are linked into the chain in
the transaction that stores them (``links.py``); their row values are ``record_rows.py``'s."""

from __future__ import annotations

from console.model.records import Attempt, Decision, RoleChange
from console.store.chain import DECISION
from console.store.postgres.core import PgCore
from console.store.postgres.leadership import collectors_line, guild_has_collector
from console.store.postgres.links import link_role_change, link_row
from console.store.record_rows import ROLE_CHANGE_FIELDS, decision_values, role_change_values
from console.store.results import IngestResult


def _marks(n: int) -> str:
    return ", ".join(f"${i}" for i in range(1, n + 1))


_DECISION_INSERT = f"INSERT INTO decisions ({Decision.COLUMNS}) VALUES ({_marks(16)})"
# The SQLite store's INSERT OR REPLACE: a role change's row is rewritten as its state moves on.
_ROLE_CHANGE_UPSERT = (
    f"INSERT INTO role_changes ({RoleChange.COLUMNS}) VALUES ({_marks(len(ROLE_CHANGE_FIELDS))})"
    " ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in ROLE_CHANGE_FIELDS if name != "id")
    # Cancelled from another console while this process was carrying it out: it stays cancelled
    # (as a cancel in the same process waits for the call in flight, then cancels).
    + " WHERE role_changes.state <> 'cancelled' OR excluded.state = 'cancelled'"
)


class ActionsPart(PgCore):
    """Decisions, break-glass sessions, role changes and their attempts."""

    async def record_decision(self, d: Decision) -> None:
        async with self.transaction() as conn:
            await conn.execute(_DECISION_INSERT, *decision_values(d))
            await link_row(conn, DECISION, d.id, self._clock())
            self._notify(IngestResult(guild_ids={d.guild_id}))

    async def start_break_glass(
        self, guild_id: int, user_id: int, *, session_id: int, started_ms: int, expires_ms: int, decision_id: int | None
    ) -> None:
        async with self.transaction() as conn:
            self._note("records")
            await conn.execute(
                "INSERT INTO break_glass (id, guild_id, user_id, started_at, expires_at, decision_id)"
                " VALUES ($1, $2, $3, $4, $5, $6)",
                session_id,
                guild_id,
                user_id,
                started_ms,
                expires_ms,
                decision_id,
            )

    async def end_break_glass(self, guild_id: int, user_id: int, *, ended_ms: int, ended_by: int) -> int:
        """End every session of ``user_id`` still running at ``ended_ms``; how many there were."""
        async with self.transaction() as conn:
            self._note("records")
            status = await conn.execute(
                "UPDATE break_glass SET ended_at = $1, ended_by = $2"
                " WHERE guild_id = $3 AND user_id = $4 AND ended_at IS NULL AND expires_at > $1",
                ended_ms,
                ended_by,
                guild_id,
                user_id,
            )
        return int(status.rsplit(" ", 1)[-1])  # the command tag: "UPDATE <rows>"

    async def break_glass_session(self, guild_id: int, user_id: int) -> tuple[int, int, int | None] | None:
        """The newest session of ``user_id``: (started, expires, ended) in ms, or None."""
        row = await self.fetchrow(
            "SELECT started_at, expires_at, ended_at FROM break_glass WHERE guild_id = $1 AND user_id = $2"
            " ORDER BY id DESC LIMIT 1",
            guild_id,
            user_id,
        )
        return None if row is None else (int(row[0]), int(row[1]), None if row[2] is None else int(row[2]))

    async def get_decision(self, decision_id: int) -> Decision | None:
        row = await self.fetchrow(f"SELECT {Decision.COLUMNS} FROM decisions WHERE id = $1", decision_id)
        return None if row is None else Decision.from_row(row)

    async def record_role_change(self, c: RoleChange) -> None:
        """Insert or replace a role change (its state moves as the reconciler works)."""
        async with self.transaction() as conn:
            await conn.execute(_ROLE_CHANGE_UPSERT, *role_change_values(c))
            if c.final:
                await link_role_change(conn, c.id, self._clock())
            self._notify(IngestResult(guild_ids={c.guild_id}, changed=[("role_change", c.id)]))

    async def record_attempt(self, a: Attempt) -> None:
        async with self.transaction() as conn:
            self._note("records")  # a pending change's attempts: every console's pending pane
            await conn.execute(
                "INSERT INTO role_change_attempts (change_id, at, http_status, latency_ms, observed, error, epoch)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7)",
                a.change_id,
                a.at,
                a.http_status,
                a.latency_ms,
                a.observed,
                a.error,
                # The fence has just passed in this transaction: the epoch that made the call.
                self.leadership.epoch if self.leadership is not None else None,
            )

    async def cancel_request(self, change_id: int, by: int | None, at_ms: int, *, announce: bool) -> bool:
        async with self.transaction() as conn:
            guild_id = await conn.fetchval(
                "UPDATE role_changes SET state = 'cancelled', cancelled_by = $2, updated_at = $3,"
                " next_attempt_at = NULL, message_state = $4 WHERE id = $1 AND state = 'pending' RETURNING guild_id",
                change_id,
                by,
                at_ms,
                "pending" if announce else None,
            )
            if guild_id is None:
                return False
            await link_role_change(conn, change_id, self._clock())
            self._notify(IngestResult(guild_ids={int(guild_id)}, changed=[("role_change", change_id)]))
        return True

    async def role_change(self, change_id: int) -> RoleChange | None:
        row = await self.fetchrow(f"SELECT {RoleChange.COLUMNS} FROM role_changes WHERE id = $1", change_id)
        return None if row is None else RoleChange.from_row(row)

    async def unposted_role_changes(self, limit: int = 100) -> list[RoleChange]:
        """Final changes whose audit message is still to be posted (or failed and is retried)."""
        found = await self.fetch(
            f"SELECT {RoleChange.COLUMNS} FROM role_changes WHERE message_state IN ('pending', 'failed')"
            " ORDER BY id LIMIT $1",
            limit,
        )
        return [RoleChange.from_row(r) for r in found]

    async def pending_role_changes(self, limit: int = 200) -> list[RoleChange]:
        found = await self.fetch(
            f"SELECT {RoleChange.COLUMNS} FROM role_changes WHERE state = 'pending' ORDER BY id LIMIT $1", limit
        )
        return [RoleChange.from_row(r) for r in found]

    async def collector_active(self, guild_id: int | None = None) -> bool:
        if self.leadership is not None and self.leadership.holds(guild_id):  # itself, unless deposed
            return self.leadership.deposed is None
        async with self.reading() as conn:
            return await guild_has_collector(conn, guild_id)

    async def collectors_note(self) -> str | None:
        if self.leadership is not None:  # this store collects: its own header says how it goes
            return None
        async with self.reading() as conn:
            return await collectors_line(conn)

    async def attempts(self, change_id: int) -> list[Attempt]:
        found = await self.fetch(
            f"SELECT {Attempt.COLUMNS} FROM role_change_attempts WHERE change_id = $1 ORDER BY id", change_id
        )
        return [Attempt.from_row(r) for r in found]

    # -- what the alert rules read (by cursor, so rows another process wrote count too) ---------

    async def last_decision_id(self) -> int:
        return int(await self.fetchval("SELECT coalesce(max(id), 0) FROM decisions"))

    async def decisions_after(self, after_id: int, limit: int = 1000) -> list[Decision]:
        found = await self.fetch(
            f"SELECT {Decision.COLUMNS} FROM decisions WHERE id > $1 ORDER BY id LIMIT $2", after_id, limit
        )
        return [Decision.from_row(r) for r in found]

    async def allowed_before(self, d: Decision) -> bool:
        found = await self.fetchval(
            "SELECT 1 FROM decisions WHERE actor_id = $1 AND guild_id = $2"
            " AND capability = $3 AND result = 'ALLOW' AND id < $4 LIMIT 1",
            d.actor_id,
            d.guild_id,
            d.capability,
            d.id,
        )
        return found is not None

    async def first_decision_ms(self, guild_id: int) -> int | None:
        since = await self.fetchval("SELECT min(created_at) FROM decisions WHERE guild_id = $1", guild_id)
        return None if since is None else int(since)

    async def last_break_glass_id(self) -> int:
        return int(await self.fetchval("SELECT coalesce(max(id), 0) FROM break_glass"))

    async def break_glass_after(self, after_id: int) -> list[tuple[int, int, int, int, int | None]]:
        found = await self.fetch(
            "SELECT id, guild_id, user_id, expires_at, decision_id FROM break_glass WHERE id > $1 ORDER BY id",
            after_id,
        )
        return [(int(s), int(g), int(u), int(e), d) for s, g, u, e, d in found]
