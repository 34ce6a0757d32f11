"""The report's numbers: plain SQL over the store's reader connection, nothing rendered here.

Audit entries are selected by id range (ids are snowflakes, so ``from_ms(since) <= id <
from_ms(until)`` is exactly ``since <= created_at < until`` and uses the primary key); decisions,
break-glass sessions, alerts and role changes by their ``created_at``/``started_at`` time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from console.model.actions import action_name
from console.model.permissions import NAME_TO_BIT, parse_bits
from console.model.snowflake import from_ms
from console.model.snowflake import parse as parse_id
from console.store.connection import one, rows

#: Reason codes that mean "someone used break-glass or a per-user override".
ESCALATION_CODES = ("BREAK_GLASS", "OVERRIDE_ALLOW", "OVERRIDE_DENY")
#: A member holding any of these (or the owner) counts as staff for "who has been inactive".
STAFF_PERMISSIONS = (
    "ADMINISTRATOR",
    "BAN_MEMBERS",
    "KICK_MEMBERS",
    "MODERATE_MEMBERS",
    "MANAGE_ROLES",
    "MANAGE_MESSAGES",
    "MANAGE_GUILD",
    "MANAGE_CHANNELS",
    "VIEW_AUDIT_LOG",
)
_STAFF_BITS = sum(1 << NAME_TO_BIT[n] for n in STAFF_PERMISSIONS)
#: The alerts table is another feature's; these are the column names it may use.
_ALERT_RULE_COLUMNS = ("rule", "rule_id", "rule_name", "name")
_ALERT_TIME_COLUMNS = ("created_at", "raised_at", "fired_at", "at")

NameOf = Callable[[str, int | None], str | None]


@dataclass(frozen=True, slots=True)
class Person:
    id: int | None  # None: entries Discord sent without an actor
    name: str | None
    count: int


@dataclass(frozen=True, slots=True)
class Report:
    since_ms: int
    until_ms: int
    generated_ms: int
    guild_ids: tuple[int, ...]  # empty: every guild in the store
    guild_names: dict[int, str | None]
    actions_total: int
    by_moderator: list[Person]
    #: Staff (from the stored guild state) who did nothing in the period; None when no guild state
    #: names any staff (so "nobody inactive" is never claimed without knowing who staff are).
    inactive: list[Person] | None
    by_type: list[tuple[int, str, int]]  # (action_type, name, count)
    decisions_total: int
    denials_total: int
    denials_by_capability: list[tuple[str, int]]
    denials_by_person: list[Person]
    escalations: dict[str, int]  # reason code → decisions
    escalations_by_person: list[tuple[Person, str]]  # (person with count, reason code)
    break_glass_sessions: list[dict[str, Any]]
    alerts_recorded: bool
    alerts_by_rule: list[tuple[str, int]]
    role_changes_by_state: dict[str, int]
    role_changes_by_op: dict[str, int] = field(default_factory=dict)

    @property
    def alerts_total(self) -> int:
        return sum(n for _, n in self.alerts_by_rule)


def _in(column: str, ids: Sequence[int]) -> tuple[str, list[int]]:
    if not ids:
        return "", []
    return f" AND {column} IN ({','.join('?' * len(ids))})", list(ids)


def _ranked(counts: Counter[Any]) -> list[Any]:
    """Most first, then by key (ids as numbers, names as text; no actor last): a stable order."""

    def order(k: Any) -> tuple[int, int, str]:
        return (0, k, "") if isinstance(k, int) else (1, 0, "" if k is None else str(k))

    return sorted(counts, key=lambda k: (-counts[k], order(k)))


async def compute(
    db: Any, *, since_ms: int, until_ms: int, name_of: NameOf, guild_ids: Iterable[int] = (), now_ms: int
) -> Report:
    """Every count of the report for ``since_ms <= time < until_ms`` over ``db`` (a reader)."""
    guilds = tuple(sorted(set(guild_ids)))
    g_clause, g_args = _in("guild_id", guilds)

    found = await rows(
        db,
        "SELECT actor_id, count(*) FROM audit_entries WHERE id >= ? AND id < ?" + g_clause + " GROUP BY actor_id",
        [from_ms(since_ms), from_ms(until_ms), *g_args],
    )
    per_actor: Counter[int | None] = Counter({a: n for a, n in found})
    by_moderator = [Person(a, name_of("user", a), per_actor[a]) for a in _ranked(per_actor)]

    found = await rows(
        db,
        "SELECT action_type, count(*) FROM audit_entries WHERE id >= ? AND id < ?" + g_clause + " GROUP BY action_type",
        [from_ms(since_ms), from_ms(until_ms), *g_args],
    )
    per_type: Counter[int] = Counter({t: n for t, n in found})
    by_type = [(t, action_name(t), per_type[t]) for t in _ranked(per_type)]

    found = await rows(
        db,
        "SELECT result, reason_code, capability, actor_id, max(actor_name), count(*)"
        " FROM decisions WHERE created_at >= ? AND created_at < ?"
        + g_clause
        + " GROUP BY result, reason_code, capability, actor_id",
        [since_ms, until_ms, *g_args],
    )
    decisions_total = denials_total = 0
    deny_cap: Counter[str] = Counter()
    deny_person: Counter[int] = Counter()
    escalations: Counter[str] = Counter()
    escalation_person: Counter[tuple[int, str]] = Counter()
    decided_names: dict[int, str] = {}
    decided_by: set[int] = set()
    for result, code, capability, actor, actor_name, n in found:
        decisions_total += n
        decided_by.add(actor)
        if actor_name:
            decided_names[actor] = actor_name
        if result == "DENY":
            denials_total += n
            deny_cap[capability] += n
            deny_person[actor] += n
        if code in ESCALATION_CODES:
            escalations[code] += n
            escalation_person[(actor, code)] += n

    def person(uid: int, n: int) -> Person:
        return Person(uid, name_of("user", uid) or decided_names.get(uid), n)

    sessions = await rows(
        db,
        "SELECT user_id, started_at, expires_at, ended_at, guild_id FROM break_glass"
        " WHERE started_at >= ? AND started_at < ?" + g_clause + " ORDER BY started_at, id",
        [since_ms, until_ms, *g_args],
    )
    break_glass = [
        {
            "user_id": u,
            "name": name_of("user", u) or decided_names.get(u),
            "started_at": s,
            "expires_at": e,
            "ended_at": end,
            "guild_id": g,
        }
        for u, s, e, end, g in sessions
    ]

    alerts_recorded, alerts_by_rule = await _alerts(db, since_ms, until_ms, guilds)

    found = await rows(
        db,
        "SELECT state, op, count(*) FROM role_changes WHERE created_at >= ? AND created_at < ?"
        + g_clause
        + " GROUP BY state, op",
        [since_ms, until_ms, *g_args],
    )
    by_state: Counter[str] = Counter()
    by_op: Counter[str] = Counter()
    for state, op, n in found:
        by_state[state] += n
        by_op[op] += n

    staff = await _staff(db, guilds)
    inactive = None
    if staff:
        acted = {a for a in per_actor if a is not None} | decided_by
        inactive = [Person(uid, name_of("user", uid) or staff[uid], 0) for uid in sorted(staff) if uid not in acted]

    guild_list = guilds or tuple(
        g
        for (g,) in await rows(
            db,
            "SELECT DISTINCT guild_id FROM audit_entries WHERE id >= ? AND id < ? ORDER BY guild_id",
            [from_ms(since_ms), from_ms(until_ms)],
        )
    )
    return Report(
        since_ms=since_ms,
        until_ms=until_ms,
        generated_ms=now_ms,
        guild_ids=guild_list,
        guild_names={g: name_of("guild", g) for g in guild_list},
        actions_total=sum(per_actor.values()),
        by_moderator=by_moderator,
        inactive=inactive,
        by_type=by_type,
        decisions_total=decisions_total,
        denials_total=denials_total,
        denials_by_capability=[(c, deny_cap[c]) for c in _ranked(deny_cap)],
        denials_by_person=[person(u, deny_person[u]) for u in _ranked(deny_person)],
        escalations={c: escalations[c] for c in ESCALATION_CODES},
        escalations_by_person=[
            (person(u, escalation_person[(u, c)]), c)
            for u, c in sorted(escalation_person, key=lambda k: (-escalation_person[k], k))
        ],
        break_glass_sessions=break_glass,
        alerts_recorded=alerts_recorded,
        alerts_by_rule=alerts_by_rule,
        role_changes_by_state=dict(sorted(by_state.items())),
        role_changes_by_op=dict(sorted(by_op.items())),
    )


async def _alerts(db: Any, since_ms: int, until_ms: int, guilds: Sequence[int]) -> tuple[bool, list[tuple[str, int]]]:
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
    counts: Counter[str] = Counter({str(r): n for r, n in found})
    return True, [(r, counts[r]) for r in _ranked(counts)]


async def _staff(db: Any, guilds: Sequence[int]) -> dict[int, str]:
    """Staff in the stored guild states: human members whose roles (or ownership) carry a
    moderation permission. id → name as the snapshot has it."""
    g_clause, g_args = _in("guild_id", guilds)
    staff: dict[int, str] = {}
    for (snapshot,) in await rows(db, "SELECT snapshot FROM guild_state WHERE 1 = 1" + g_clause, g_args):
        try:
            data = orjson.loads(snapshot)
            guild = data.get("guild") or {}
            perms = {
                parse_id(r.get("id")): parse_bits(r.get("permissions")) or 0
                for r in guild.get("roles") or []
                if isinstance(r, dict)
            }
            owner = parse_id(guild.get("owner_id"))
            members = data.get("members") or []
        except (orjson.JSONDecodeError, AttributeError, TypeError):
            continue  # a snapshot we cannot read names no staff; the report says "unknown"
        if not perms:
            continue
        everyone = perms.get(parse_id(guild.get("id")), 0)
        for m in members:
            user = m.get("user") if isinstance(m, dict) else None
            uid = parse_id(user.get("id")) if isinstance(user, dict) else None
            if uid is None or user.get("bot"):
                continue
            bits = everyone
            for rid in m.get("roles") or []:
                bits |= perms.get(parse_id(rid), 0)
            if uid == owner or bits & _STAFF_BITS:
                staff[uid] = m.get("nick") or user.get("global_name") or user.get("username") or ""
    return staff
