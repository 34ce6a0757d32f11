"""Decisions (the policy engine's), break-glass sessions, and role changes with their attempts
(the reconciler's). Final decisions and role changes are linked into the chain as they commit."""

from __future__ import annotations

from console.model.records import Attempt, Decision, RoleChange
from console.store.chain import DECISION
from console.store.connection import one, rows
from console.store.record_rows import ROLE_CHANGE_FIELDS, decision_values, role_change_values
from console.store.results import IngestResult
from console.store.sqlite.core import StoreCore
from console.store.sqlite.links import link_role_change, link_row


class ActionsPart(StoreCore):
    """Decisions, break-glass sessions, role changes and their attempts."""

    async def record_decision(self, d: Decision) -> None:
        async with self.transaction() as db:
            await db.execute(
                f"INSERT INTO decisions ({Decision.COLUMNS}) VALUES ({','.join('?' * 16)})", decision_values(d)
            )
            await link_row(db, DECISION, d.id, self._clock())
        self._notify(IngestResult(guild_ids={d.guild_id}))

    async def start_break_glass(
        self, guild_id: int, user_id: int, *, session_id: int, started_ms: int, expires_ms: int, decision_id: int | None
    ) -> None:
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO break_glass (id, guild_id, user_id, started_at, expires_at, decision_id)"
                " VALUES (?,?,?,?,?,?)",
                (session_id, guild_id, user_id, started_ms, expires_ms, decision_id),
            )

    async def end_break_glass(self, guild_id: int, user_id: int, *, ended_ms: int, ended_by: int) -> int:
        """End every session of ``user_id`` still running at ``ended_ms``; how many there were."""
        async with self.transaction() as db:
            cur = await db.execute(
                "UPDATE break_glass SET ended_at = ?, ended_by = ?"
                " WHERE guild_id = ? AND user_id = ? AND ended_at IS NULL AND expires_at > ?",
                (ended_ms, ended_by, guild_id, user_id, ended_ms),
            )
            return cur.rowcount

    async def break_glass_session(self, guild_id: int, user_id: int) -> tuple[int, int, int | None] | None:
        """The newest session of ``user_id``: (started, expires, ended) in ms, or None."""
        row = await one(
            self._r,
            "SELECT started_at, expires_at, ended_at FROM break_glass WHERE guild_id = ? AND user_id = ?"
            " ORDER BY id DESC LIMIT 1",
            (guild_id, user_id),
        )
        return None if row is None else (int(row[0]), int(row[1]), None if row[2] is None else int(row[2]))

    async def get_decision(self, decision_id: int) -> Decision | None:
        row = await one(self._r, f"SELECT {Decision.COLUMNS} FROM decisions WHERE id = ?", (decision_id,))
        return None if row is None else Decision.from_row(row)

    async def record_role_change(self, c: RoleChange) -> None:
        """Insert or replace a role change (its state moves as the reconciler works)."""
        async with self.transaction() as db:
            await db.execute(
                f"INSERT OR REPLACE INTO role_changes ({RoleChange.COLUMNS}) "
                f"VALUES ({','.join('?' * len(ROLE_CHANGE_FIELDS))})",
                role_change_values(c),
            )
            if c.final:
                await link_role_change(db, c.id, self._clock())
        self._notify(IngestResult(guild_ids={c.guild_id}, changed=[("role_change", c.id)]))

    async def record_attempt(self, a: Attempt) -> None:
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO role_change_attempts (change_id, at, http_status, latency_ms, observed, error)"
                " VALUES (?,?,?,?,?,?)",
                (a.change_id, a.at, a.http_status, a.latency_ms, a.observed, a.error),
            )

    async def collectors_note(self) -> str | None:
        return None  # one collector per file, the one whose console shows its gateway

    async def cancel_request(self, change_id: int, by: int | None, at_ms: int, *, announce: bool) -> bool:
        async with self.transaction() as db:
            cursor = await db.execute(
                "UPDATE role_changes SET state = 'cancelled', cancelled_by = ?, updated_at = ?,"
                " next_attempt_at = NULL, message_state = ? WHERE id = ? AND state = 'pending' RETURNING guild_id",
                (by, at_ms, "pending" if announce else None, change_id),
            )
            row = await cursor.fetchone()
            if row is None:
                return False
            await link_role_change(db, change_id, self._clock())
        self._notify(IngestResult(guild_ids={int(row[0])}, changed=[("role_change", change_id)]))
        return True

    async def role_change(self, change_id: int) -> RoleChange | None:
        row = await one(self._r, f"SELECT {RoleChange.COLUMNS} FROM role_changes WHERE id = ?", (change_id,))
        return None if row is None else RoleChange.from_row(row)

    async def unposted_role_changes(self, limit: int = 100) -> list[RoleChange]:
        """Final changes whose audit message is still to be posted (or failed and is retried)."""
        found = await rows(
            self._r,
            f"SELECT {RoleChange.COLUMNS} FROM role_changes WHERE message_state IN ('pending', 'failed')"
            " ORDER BY id LIMIT ?",
            (limit,),
        )
        return [RoleChange.from_row(r) for r in found]

    async def pending_role_changes(self, limit: int = 200) -> list[RoleChange]:
        found = await rows(
            self._r,
            f"SELECT {RoleChange.COLUMNS} FROM role_changes WHERE state = 'pending' ORDER BY id LIMIT ?",
            (limit,),
        )
        return [RoleChange.from_row(r) for r in found]

    async def collector_active(self, guild_id: int | None = None) -> bool:
        return True  # requests reach a file only through its running collector or beside it

    async def attempts(self, change_id: int) -> list[Attempt]:
        found = await rows(
            self._r,
            f"SELECT {Attempt.COLUMNS} FROM role_change_attempts WHERE change_id = ? ORDER BY id",
            (change_id,),
        )
        return [Attempt.from_row(r) for r in found]

    # -- what the alert rules read (by cursor, so rows another process wrote count too) ---------

    async def last_decision_id(self) -> int:
        row = await one(self._r, "SELECT coalesce(max(id), 0) FROM decisions")
        return int(row[0]) if row else 0

    async def decisions_after(self, after_id: int, limit: int = 1000) -> list[Decision]:
        found = await rows(
            self._r, f"SELECT {Decision.COLUMNS} FROM decisions WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit)
        )
        return [Decision.from_row(r) for r in found]

    async def allowed_before(self, d: Decision) -> bool:
        found = await one(
            self._r,
            "SELECT 1 FROM decisions WHERE actor_id = ? AND guild_id = ?"
            " AND capability = ? AND result = 'ALLOW' AND id < ? LIMIT 1",
            (d.actor_id, d.guild_id, d.capability, d.id),
        )
        return found is not None

    async def first_decision_ms(self, guild_id: int) -> int | None:
        since = await one(self._r, "SELECT min(created_at) FROM decisions WHERE guild_id = ?", (guild_id,))
        return None if since is None or since[0] is None else int(since[0])

    async def last_break_glass_id(self) -> int:
        row = await one(self._r, "SELECT coalesce(max(id), 0) FROM break_glass")
        return int(row[0]) if row else 0

    async def break_glass_after(self, after_id: int) -> list[tuple[int, int, int, int, int | None]]:
        found = await rows(
            self._r,
            "SELECT id, guild_id, user_id, expires_at, decision_id FROM break_glass WHERE id > ? ORDER BY id",
            (after_id,),
        )
        return [(int(s), int(g), int(u), int(e), d) for s, g, u, e, d in found]
