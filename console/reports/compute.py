"""The report's numbers, from the counts the store groups for a period
(:meth:`AuditStore.period_counts`); nothing rendered here."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from console.model.actions import action_name
from console.model.permissions import NAME_TO_BIT, parse_bits
from console.model.snowflake import parse as parse_id

if TYPE_CHECKING:
    from console.store.api import AuditStore

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
    #: Notes written in the period: per action ("add", "edit", "remove"), and per author (most first).
    notes_by_action: dict[str, int] = field(default_factory=dict)
    notes_by_person: list[Person] = field(default_factory=list)

    @property
    def notes_total(self) -> int:
        return sum(self.notes_by_action.values())

    @property
    def alerts_total(self) -> int:
        return sum(n for _, n in self.alerts_by_rule)


def _ranked(counts: Counter[Any]) -> list[Any]:
    """Most first, then by key (ids as numbers, names as text; no actor last): a stable order."""

    def order(k: Any) -> tuple[int, int, str]:
        return (0, k, "") if isinstance(k, int) else (1, 0, "" if k is None else str(k))

    return sorted(counts, key=lambda k: (-counts[k], order(k)))


async def compute(
    store: AuditStore, *, since_ms: int, until_ms: int, name_of: NameOf, guild_ids: Iterable[int] = (), now_ms: int
) -> Report:
    """Every count of the report for ``since_ms <= time < until_ms`` from ``store``."""
    guilds = tuple(sorted(set(guild_ids)))
    counts = await store.period_counts(since_ms, until_ms, guilds)

    per_actor: Counter[int | None] = Counter({a: n for a, n in counts.entries_by_actor})
    by_moderator = [Person(a, name_of("user", a), per_actor[a]) for a in _ranked(per_actor)]

    per_type: Counter[int] = Counter({t: n for t, n in counts.entries_by_type})
    by_type = [(t, action_name(t), per_type[t]) for t in _ranked(per_type)]

    decisions_total = denials_total = 0
    deny_cap: Counter[str] = Counter()
    deny_person: Counter[int] = Counter()
    escalations: Counter[str] = Counter()
    escalation_person: Counter[tuple[int, str]] = Counter()
    decided_names: dict[int, str] = {}
    decided_by: set[int] = set()
    for result, code, capability, actor, actor_name, n in counts.decisions:
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

    break_glass = [
        {
            "user_id": u,
            "name": name_of("user", u) or decided_names.get(u),
            "started_at": s,
            "expires_at": e,
            "ended_at": end,
            "guild_id": g,
        }
        for u, s, e, end, g in counts.break_glass
    ]

    per_rule: Counter[str] = Counter({r: n for r, n in counts.alerts_by_rule})
    alerts_by_rule = [(r, per_rule[r]) for r in _ranked(per_rule)]

    by_state: Counter[str] = Counter()
    by_op: Counter[str] = Counter()
    for state, op, n in counts.role_changes:
        by_state[state] += n
        by_op[op] += n

    notes_by_action: Counter[str] = Counter()
    note_authors: Counter[int] = Counter()
    for author, author_name, action, n in counts.notes:
        notes_by_action[action] += n
        note_authors[author] += n
        if author_name:
            decided_names.setdefault(author, author_name)

    staff = _staff(counts.guild_states)
    inactive = None
    if staff:
        acted = {a for a in per_actor if a is not None} | decided_by
        inactive = [Person(uid, name_of("user", uid) or staff[uid], 0) for uid in sorted(staff) if uid not in acted]

    guild_list = guilds or tuple(counts.guilds_with_entries)
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
        alerts_recorded=counts.alerts_recorded,
        alerts_by_rule=alerts_by_rule,
        role_changes_by_state=dict(sorted(by_state.items())),
        role_changes_by_op=dict(sorted(by_op.items())),
        notes_by_action=dict(sorted(notes_by_action.items())),
        notes_by_person=[person(u, note_authors[u]) for u in _ranked(note_authors)],
    )


def _staff(snapshots: Iterable[Any]) -> dict[int, str]:
    """Staff in the stored guild states: human members whose roles (or ownership) carry a
    moderation permission. id → name as the snapshot has it."""
    staff: dict[int, str] = {}
    for data in snapshots:
        try:
            guild = data.get("guild") or {}
            perms = {
                parse_id(r.get("id")): parse_bits(r.get("permissions")) or 0
                for r in guild.get("roles") or []
                if isinstance(r, dict)
            }
            owner = parse_id(guild.get("owner_id"))
            members = data.get("members") or []
        except (AttributeError, TypeError):
            continue  # a snapshot we cannot read names no staff; the report says "unknown"
        if not perms:
            continue
        everyone = perms.get(parse_id(guild.get("id")), 0)
        for m in members:
            user = m.get("user") if isinstance(m, dict) else None
            if not isinstance(user, dict):
                continue
            uid = parse_id(user.get("id"))
            if uid is None or user.get("bot"):
                continue
            bits = everyone
            for rid in m.get("roles") or []:
                bits |= perms.get(parse_id(rid), 0)
            if uid == owner or bits & _STAFF_BITS:
                staff[uid] = m.get("nick") or user.get("global_name") or user.get("username") or ""
    return staff
