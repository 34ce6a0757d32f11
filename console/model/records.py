"""Records the console makes itself: gaps (decisions and role changes join them later)."""

from typing import Any, NamedTuple, Self

from console.model.snowflake import RETENTION_MS


class _GapFields(NamedTuple):
    """The fields of :class:`Gap`."""

    id: int
    guild_id: int
    reason: str
    from_id: int | None
    started_at: int | None
    detected_at: int
    ended_at: int | None = None
    status: str = "open"
    recovered: int = 0
    refreshed: int = 0
    beyond_retention_ms: int = 0
    error: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> Self:
        return cls(*row)

    def with_(self, **changes: Any) -> Self:
        return self._replace(**changes)

    def describe(self) -> str:
        """One line for the feed: what may be missing and what was recovered."""
        head = "first sync" if self.reason == "first-sync" else f"not connected ({self.reason})"
        if self.status == "open":
            tail = "backfilling…"
        elif self.status == "failed":
            tail = f"backfill failed: {self.error or 'unknown error'}"
        else:
            tail = f"backfill recovered {self.recovered} entr{'y' if self.recovered == 1 else 'ies'}"
            if self.refreshed:
                tail += f", refreshed {self.refreshed}"
        if self.beyond_retention_ms > 0:
            days = self.beyond_retention_ms / 86_400_000
            tail += (
                f"; {days:.1f} days are older than Discord's {RETENTION_MS // 86_400_000}-day "
                "retention and cannot be recovered"
            )
        return f"{head}: {tail}"


class Gap(_GapFields):
    """A stretch during which the console may have missed entries, and what backfill recovered."""

    # A subclass holds the constants: a NamedTuple body may only declare fields.
    __slots__ = ()

    COLUMNS = (
        "id, guild_id, reason, from_id, started_at, detected_at, ended_at, status, recovered,"
        " refreshed, beyond_retention_ms, error"
    )


class _DecisionFields(NamedTuple):
    """The fields of :class:`Decision`."""

    id: int
    guild_id: int
    created_at: int
    actor_id: int
    actor_name: str | None
    actor_roles: list[int]
    actor_admin: bool
    actor_owner: bool
    capability: str
    resource_type: str
    resource_id: int | None
    source: str
    result: str
    reason_code: str
    #: Ordered steps: ``{"step", "found", "decided": bool, ...}``.
    path: list[dict[str, Any]]
    policy_version: str

    @classmethod
    def from_row(cls, row: Any) -> Self:
        import orjson

        values = list(row)
        values[5] = orjson.loads(values[5]) if isinstance(values[5], str | bytes) else values[5]
        values[6], values[7] = bool(values[6]), bool(values[7])
        values[14] = orjson.loads(values[14]) if isinstance(values[14], str | bytes) else values[14]
        return cls(*values)


class Decision(_DecisionFields):
    """One policy check, allowed or denied, with the path that decided it."""

    # A subclass holds the constants: a NamedTuple body may only declare fields.
    __slots__ = ()

    COLUMNS = (
        "id, guild_id, created_at, actor_id, actor_name, actor_roles, actor_admin, actor_owner, capability,"
        " resource_type, resource_id, source, result, reason_code, path, policy_version"
    )


class _AttemptFields(NamedTuple):
    """The fields of :class:`Attempt`."""

    id: int
    change_id: int
    at: int
    http_status: int | None
    latency_ms: int | None
    observed: str | None
    error: str | None

    @classmethod
    def from_row(cls, row: Any) -> Self:
        return cls(*row)


class Attempt(_AttemptFields):
    """One call to Discord for a role change, and what came back."""

    # A subclass holds the constants: a NamedTuple body may only declare fields.
    __slots__ = ()

    COLUMNS = "id, change_id, at, http_status, latency_ms, observed, error"


class _RoleChangeFields(NamedTuple):
    """The fields of :class:`RoleChange`."""

    id: int
    guild_id: int
    member_id: int
    role_id: int
    op: str
    reason: str | None
    requested_by: int | None
    source: str
    decision_id: int | None
    state: str
    created_at: int
    updated_at: int
    next_attempt_at: int | None
    deadline_at: int | None
    attempts: int
    observed_at: int | None
    error: str | None
    linked_entry_id: int | None
    message_id: str | None
    cancelled_by: int | None
    #: The audit message: None (no channel set), "pending", "posted" or "failed" (with the error).
    message_state: str | None = None
    message_error: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> Self:
        return cls(*row)

    def with_(self, **changes: Any) -> Self:
        return self._replace(**changes)


class RoleChange(_RoleChangeFields):
    """A grant or revoke the console is carrying out until it *sees* it applied."""

    # A subclass holds the constants: a NamedTuple body may only declare fields.
    __slots__ = ()

    COLUMNS = (
        "id, guild_id, member_id, role_id, op, reason, requested_by, source, decision_id, state, created_at,"
        " updated_at, next_attempt_at, deadline_at, attempts, observed_at, error, linked_entry_id, message_id,"
        " cancelled_by, message_state, message_error"
    )
    FINAL = frozenset({"confirmed", "reverted", "failed", "expired", "cancelled"})

    @property
    def final(self) -> bool:
        return self.state in self.FINAL
