"""The store's own records (gaps, decisions, role changes, alerts, guild state snapshots) as the
values a row holds and back, the same for every backend: only the SQL around them differs.

A row read back must equal what was written on either backend (JSON kept as the text written, flags
as 0/1 integers), because the chain hashes the row as stored (``chain.row_hash``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson

from console.model.records import Decision, Gap, RoleChange

if TYPE_CHECKING:
    from console.model.alert import Alert

#: RoleChange's columns, in COLUMNS order (the values :func:`role_change_values` gives).
ROLE_CHANGE_FIELDS = tuple(name.strip() for name in RoleChange.COLUMNS.split(","))

ALERT_COLUMNS = "id, created_at, rule, guild_id, severity, summary, record_ids, posted"


def decision_values(d: Decision) -> tuple[Any, ...]:
    """A decision's values in ``Decision.COLUMNS`` order (lists as JSON text, flags as 0/1)."""
    return (
        d.id,
        d.guild_id,
        d.created_at,
        d.actor_id,
        d.actor_name,
        orjson.dumps(d.actor_roles).decode(),
        int(d.actor_admin),
        int(d.actor_owner),
        d.capability,
        d.resource_type,
        d.resource_id,
        d.source,
        d.result,
        d.reason_code,
        orjson.dumps(d.path).decode(),
        d.policy_version,
    )


def role_change_values(c: RoleChange) -> tuple[Any, ...]:
    """A role change's values in ``RoleChange.COLUMNS`` order."""
    return tuple(getattr(c, name) for name in ROLE_CHANGE_FIELDS)


def new_gap(gap_id: int, guild_id: int, reason: str, *, from_id: int | None, started_at: int | None, now: int) -> Gap:
    """A gap just detected (``open``)."""
    return Gap(
        id=gap_id,
        guild_id=guild_id,
        reason=reason,
        from_id=from_id,
        started_at=started_at,
        detected_at=now,
        status="open",
    )


def closed_gap(
    gap: Gap, *, status: str, recovered: int, refreshed: int, beyond_retention_ms: int, error: str | None, now: int
) -> Gap:
    """``gap`` as its recovery ended (the values the backends' ``close_gap`` store)."""
    return gap.with_(
        status=status,
        recovered=recovered,
        refreshed=refreshed,
        beyond_retention_ms=beyond_retention_ms,
        error=error,
        ended_at=now,
    )


def alert_values(alert: Alert) -> tuple[Any, ...]:
    """An alert's values in :data:`ALERT_COLUMNS` order (its record ids as JSON text)."""
    return (
        alert.id,
        alert.created_at,
        alert.rule,
        alert.guild_id,
        alert.severity,
        alert.summary,
        orjson.dumps(list(alert.record_ids)).decode(),
        alert.posted,
    )


def alert_from_row(row: Any) -> Alert:
    """An alert from its :data:`ALERT_COLUMNS` values."""
    from console.model.alert import Alert  # a dataclass: defined when alerts are read, not at start

    i, created, rule, guild, severity, summary, ids, posted = tuple(row)
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


def snapshot_text(snapshot: Mapping[str, Any]) -> str:
    """A guild state snapshot as the JSON text stored (integer keys allowed: member ids)."""
    return orjson.dumps(snapshot, option=orjson.OPT_NON_STR_KEYS).decode()


def snapshot_from_text(text: str | bytes) -> dict[str, Any]:
    found: dict[str, Any] = orjson.loads(text)
    return found
