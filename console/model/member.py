"""A member's story (the member view and ``audit-console member``): who they are — the names the
console has seen them under, with when each was first and last seen, and the nicknames the log
shows them given; their roles, join time and timeout from the stored guild state — what the log
says happened to them (banned, kicked, timed out), and counts by action.

Pure data and arithmetic: the store reads the rows (``console/store/member_queries.py``), the UI
and the command show what is here. Names are raw; whoever shows them sanitises them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, NamedTuple

import orjson

from console.model.snowflake import parse as parse_id
from console.model.snowflake import to_ms
from console.model.times import parse_iso

MEMBER_BAN_ADD: Final = 22
MEMBER_BAN_REMOVE: Final = 23
MEMBER_KICK: Final = 20
MEMBER_UPDATE: Final = 24
MEMBER_ROLE_UPDATE: Final = 25
BOT_ADD: Final = 28
AUTOMOD_HITS: Final = frozenset({143, 144, 145, 146})
#: The entries the log's "what happened to them" is read from (newest first, a few of each).
STATUS_ACTIONS: Final = frozenset({MEMBER_BAN_ADD, MEMBER_BAN_REMOVE, MEMBER_KICK, BOT_ADD})
TIMEOUT_KEY: Final = "communication_disabled_until"

#: How the names table's kinds read in the member view.
NAME_KINDS: Final = {"user": "username", "member": "display name", "nick": "nickname"}


class NameSeen(NamedTuple):
    """One name a person went by: ``kind`` "user" (username), "member" (display name) or "nick"
    (a nickname the log shows set), when it was first and last seen (ms; ``current``: it is still
    the name, so last seen is now)."""

    kind: str
    name: str
    first_ms: int
    last_ms: int
    current: bool = False


class Timeout(NamedTuple):
    """One timeout the log shows: set (``until_ms`` a time) or lifted (None), by whom, when."""

    entry_id: int
    actor_id: int | None
    target_id: int | None
    until_ms: int | None


#: What the store counts per side: a group's name → its action types (timeouts: those of the
#: MEMBER_UPDATE entries that change a timeout, read from the payload).
COUNTED: Final = {
    "bans": frozenset({MEMBER_BAN_ADD}),
    "kicks": frozenset({MEMBER_KICK}),
    "timeouts": frozenset({MEMBER_UPDATE}),
    "role changes": frozenset({MEMBER_ROLE_UPDATE}),
    "AutoMod hits": AUTOMOD_HITS,
}


class MemberCounts(NamedTuple):
    """What the store counts about one member in one guild, each count stopping at ``cap``."""

    #: COUNTED's group → (entries they did, entries others did to them). For "timeouts": the
    #: timeout changes read (set or lifted), which :attr:`timeouts` lists.
    groups: Mapping[str, tuple[int, int]]
    #: The timeout changes they made and those made to them (set or lifted), newest first.
    timeouts: Sequence[Timeout]
    #: The policy's decisions on their requests: ALLOW / DENY → count.
    decisions: Mapping[str, int]
    #: The console's role changes they asked for, and those aimed at them.
    role_changes: tuple[int, int]
    #: Where counting stopped (None: exact counts).
    cap: int | None = None


class Headline(NamedTuple):
    """One count at the top of the view: by them / to them (``by`` None where it does not
    apply); ``at_least``: a count stopped at the cap (shown as "≥ n")."""

    label: str
    by: int | None
    to: int
    at_least: bool = False


def timeouts_from(rows: Iterable[Sequence[Any]]) -> list[Timeout]:
    """``(id, actor_id, target_id, raw JSON)`` rows of MEMBER_UPDATE entries → the timeout
    changes among them (an entry changing something else is left out), in the rows' order."""
    out: list[Timeout] = []
    for entry_id, actor_id, target_id, raw in rows:
        try:
            changes = orjson.loads(raw).get("changes") or []
        except (orjson.JSONDecodeError, AttributeError):
            continue
        for change in changes:
            if isinstance(change, Mapping) and change.get("key") == TIMEOUT_KEY:
                until = change.get("new_value")
                parsed = parse_iso(until) if isinstance(until, str) else None
                until_ms = int(parsed.timestamp() * 1000) if parsed is not None else None
                out.append(Timeout(entry_id, actor_id, target_id, until_ms))
                break
    return out


def headline(counts: MemberCounts, member_id: int) -> list[Headline]:
    """Bans, kicks and timeouts they gave / were given, role changes (Discord's and the
    console's) they made / were the aim of, AutoMod hits (theirs: AutoMod's entries name the
    member as both actor and target)."""
    cap = counts.cap

    def capped(*values: int) -> bool:
        return cap is not None and any(v >= cap for v in values)

    out = []
    for name in ("bans", "kicks"):
        by, to = counts.groups.get(name, (0, 0))
        out.append(Headline(name, by, to, capped(by, to)))
    given = [t for t in counts.timeouts if t.until_ms is not None]
    gave = sum(1 for t in given if t.actor_id == member_id)
    got = sum(1 for t in given if t.target_id == member_id and t.actor_id != member_id)
    out.append(Headline("timeouts", gave, got, capped(*counts.groups.get("timeouts", (0, 0)))))
    roles_by, roles_to = counts.groups.get("role changes", (0, 0))
    requested, aimed = counts.role_changes
    at_least = capped(roles_by, roles_to, requested, aimed)
    out.append(Headline("role changes", roles_by + requested, roles_to + aimed, at_least))
    auto_by, auto_to = counts.groups.get("AutoMod hits", (0, 0))
    out.append(Headline("AutoMod hits", None, auto_by + auto_to, capped(auto_by, auto_to)))
    return out


def nicknames(entries: Iterable[Any], member_id: int) -> list[NameSeen]:
    """The nicknames the log shows set on ``member_id`` (MEMBER_UPDATE ``nick`` changes, any
    order), each with the first and last entry that shows it, oldest first."""
    seen: dict[str, list[int]] = {}
    for e in entries:
        if e.action_type != MEMBER_UPDATE or e.target_id != member_id:
            continue
        for change in e.raw.get("changes") or []:
            if not isinstance(change, Mapping) or change.get("key") != "nick":
                continue
            for value in (change.get("old_value"), change.get("new_value")):
                if isinstance(value, str) and value:
                    at = to_ms(e.id)
                    span = seen.setdefault(value, [at, at])
                    span[0], span[1] = min(span[0], at), max(span[1], at)
    return sorted((NameSeen("nick", n, a, b) for n, (a, b) in seen.items()), key=lambda s: (s.first_ms, s.name))


def names_seen(
    history: Iterable[tuple[str, str, int, int]], current: Mapping[str, str | None], now_ms: int
) -> list[NameSeen]:
    """The names table's history ``(kind, name, first seen, last seen)`` with the names it holds
    now (kind → name) marked current, oldest first."""
    out = []
    for kind, name, first, last in history:
        is_current = current.get(kind) == name
        out.append(NameSeen(kind, name, first, now_ms if is_current else last, is_current))
    return sorted(out, key=lambda s: (s.first_ms, s.kind, s.name))


class Standing(NamedTuple):
    """What the stored guild state and the log say about them now."""

    #: Role ids they hold in the stored guild state (empty when it does not list them).
    roles: tuple[int, ...]
    #: When they joined (the guild state), None when it does not say.
    joined_ms: int | None
    #: Whether the stored guild state lists them at all.
    in_state: bool
    #: The log's newest ban / unban / kick / bot add about them, newest first: (action, entry id, actor).
    events: tuple[tuple[int, int, int | None], ...]
    #: The newest timeout change made to them (set or lifted), if the log shows one.
    timeout: Timeout | None
    #: Until when the guild state says they are timed out (ms), None when not.
    timed_out_until_ms: int | None


def standing(
    state: Mapping[str, Any] | None, member_id: int, status_entries: Iterable[Any], timeouts: Sequence[Timeout]
) -> Standing:
    """``state``: the stored guild snapshot (``{"members": [...]}``); ``status_entries``: the
    newest STATUS_ACTIONS entries aimed at them, newest first; ``timeouts`` newest first."""
    member: Mapping[str, Any] | None = None
    for m in (state or {}).get("members") or []:
        user = m.get("user") if isinstance(m, Mapping) else None
        if isinstance(user, Mapping) and parse_id(user.get("id")) == member_id:
            member = m
            break
    roles: tuple[int, ...] = ()
    joined = until = None
    if member is not None:
        roles = tuple(r for r in (parse_id(x) for x in member.get("roles") or []) if r is not None)
        joined_at = parse_iso(member["joined_at"]) if isinstance(member.get("joined_at"), str) else None
        joined = int(joined_at.timestamp() * 1000) if joined_at is not None else None
        raw_until = member.get("communication_disabled_until")
        parsed = parse_iso(raw_until) if isinstance(raw_until, str) else None
        until = int(parsed.timestamp() * 1000) if parsed is not None else None
    events = tuple((e.action_type, e.id, e.actor_id) for e in status_entries if e.target_id == member_id)
    aimed = next((t for t in timeouts if t.target_id == member_id), None)
    return Standing(roles, joined, member is not None, events, aimed, until)


class Profile(NamedTuple):
    """Everything the member view shows above the timeline."""

    guild_id: int
    member_id: int
    names: tuple[NameSeen, ...]
    standing: Standing
    #: None until counted (the view counts after its first frame).
    counts: MemberCounts | None = None

    def with_counts(self, counts: MemberCounts) -> Profile:
        return self._replace(counts=counts)

    @property
    def headline(self) -> tuple[Headline, ...]:
        return () if self.counts is None else tuple(headline(self.counts, self.member_id))
