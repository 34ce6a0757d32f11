"""The search bar's query language ↔ :class:`Filter`.

``actor:176633885491343362 action:MEMBER_BAN_ADD,MEMBER_KICK since:7d "raid"``: ``field:value``
terms AND together, commas OR within a field, anything else is free text (quotes keep a phrase).
Errors carry the column of the offending term so the bar can point at it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from console.model.actions import ACTION_TYPES, CATEGORIES, action_name, parse_action
from console.model.filters import (
    DECISION_SOURCES,
    ENTRY_SOURCES,
    KINDS,
    REASON_CODES,
    RESULTS,
    ROLE_CHANGE_STATES,
    Filter,
    parse_time,
)

#: field → what it takes (for help and completion).
FIELDS: dict[str, str] = {
    "kind": "audit, decision, role_change, gap",
    "action": "an action name such as MEMBER_BAN_ADD",
    "category": "an action category such as moderation",
    "actor": "who did it: a user id or a known name",
    "role": "actors holding this role: a role id or name",
    "target": "to whom or what: an id or a known name",
    "decision": "ALLOW or DENY",
    "reason": "a decision reason code such as NO_GRANT",
    "capability": "a policy capability such as roles.grant",
    "source": "TUI, CLI, BOT (decisions) or gateway, backfill (entries)",
    "state": "a role change state such as pending",
    "guild": "a guild id",
    "since": "7d, 12h, 30m, 2w or a date",
    "until": "7d, 12h, 30m, 2w or a date",
}

_TERM = re.compile(r'"(?P<phrase>[^"]*)"?|(?P<field>[A-Za-z_]+):(?P<value>"[^"]*"?|\S*)|(?P<word>\S+)')


class QueryError(ValueError):
    def __init__(self, message: str, column: int) -> None:
        super().__init__(message)
        self.column = column


#: (kind "user" | "role" | "channel", text) → matching ids; empty when nobody matches.
Resolver = Callable[[str, str], Sequence[int]]


def _no_names(kind: str, text: str) -> Sequence[int]:
    return ()


@dataclass(frozen=True, slots=True)
class Parsed:
    filter: Filter
    #: Role ids from ``role:`` — the caller expands them to the members holding them.
    actor_role_ids: frozenset[int] = frozenset()


def _values(raw: str) -> list[str]:
    raw = raw.strip('"')
    return [v.strip() for v in raw.split(",") if v.strip()]


def _ids(values: Iterable[str], kind: str, resolve: Resolver, field: str, col: int) -> frozenset[int]:
    out: set[int] = set()
    for v in values:
        if v.isdigit() and len(v) <= 20:
            out.add(int(v))
            continue
        found = resolve(kind, v.lstrip("@"))
        if not found:
            raise QueryError(f"{field}: no known {kind} named {v!r}", col)
        out.update(found)
    return frozenset(out)


def _choices(values: Iterable[str], allowed: Sequence[str], field: str, col: int, *, upper: bool) -> frozenset[str]:
    out = set()
    lookup = {a.upper() if upper else a.lower(): a for a in allowed}
    for v in values:
        key = v.upper() if upper else v.lower()
        if key not in lookup:
            raise QueryError(f"{field}: {v!r} is not one of {', '.join(allowed)}", col)
        out.add(lookup[key])
    return frozenset(out)


def parse(text: str, *, now_ms: int, resolve: Resolver = _no_names, base: Filter | None = None) -> Parsed:
    """Parse a query. Raises QueryError (with the column of the bad term)."""
    f: dict[str, object] = {}
    words: list[str] = []
    role_ids: frozenset[int] = frozenset()
    for m in _TERM.finditer(text):
        col = m.start()
        if m.group("phrase") is not None:
            if m.group("phrase").strip():
                words.append(f'"{m.group("phrase")}"')
            continue
        if m.group("word") is not None:
            words.append(m.group("word"))
            continue
        name, raw = m.group("field").lower(), m.group("value")
        if name not in FIELDS:
            raise QueryError(f"unknown field {name!r} (fields: {', '.join(FIELDS)})", col)
        values = _values(raw)
        if not values:
            raise QueryError(f"{name}: needs a value ({FIELDS[name]})", col)
        try:
            if name == "kind":
                f["kinds"] = _choices(values, KINDS, name, col, upper=False)
            elif name == "action":
                f["actions"] = frozenset(parse_action(v) for v in values)
            elif name == "category":
                f["categories"] = _choices(values, CATEGORIES, name, col, upper=False)
            elif name == "actor":
                f["actor_ids"] = _ids(values, "user", resolve, name, col)
            elif name == "target":
                f["target_ids"] = _ids(values, "user", resolve, name, col)
            elif name == "role":
                role_ids = _ids(values, "role", resolve, name, col)
            elif name == "decision":
                f["results"] = _choices(values, RESULTS, name, col, upper=True)
            elif name == "reason":
                f["reason_codes"] = _choices(values, REASON_CODES, name, col, upper=True)
            elif name == "capability":
                f["capabilities"] = frozenset(v.lower() for v in values)
            elif name == "source":
                f["sources"] = _choices(values, DECISION_SOURCES + ENTRY_SOURCES, name, col, upper=False)
            elif name == "state":
                f["states"] = _choices(values, ROLE_CHANGE_STATES, name, col, upper=False)
            elif name == "guild":
                f["guild_ids"] = _ids(values, "guild", _no_names, name, col)
            elif name in ("since", "until"):
                if len(values) != 1:
                    raise QueryError(f"{name}: takes one time", col)
                f[f"{name}_ms"] = parse_time(values[0], now_ms)
        except QueryError:
            raise
        except ValueError as e:
            raise QueryError(f"{name}: {e}", col) from None
    since, until = f.get("since_ms"), f.get("until_ms")
    if isinstance(since, int) and isinstance(until, int) and since >= until:
        raise QueryError("since must be before until", text.find("until:"))
    f["text"] = " ".join(words)
    start = base or Filter()
    return Parsed(start.with_(**f), role_ids)


def format_filter(flt: Filter, name_of: Callable[[str, int], str | None] | None = None) -> str:
    """A filter written back as a query (for the search bar and saved filters)."""
    parts: list[str] = []

    def ids(field: str, kind: str, values: frozenset[int]) -> None:
        if values:
            shown = []
            for v in sorted(values):
                n = name_of(kind, v) if name_of else None
                shown.append(n if n and re.fullmatch(r"[\w.\-]+", n) else str(v))
            parts.append(f"{field}:{','.join(shown)}")

    if flt.kinds:
        parts.append("kind:" + ",".join(k for k in KINDS if k in flt.kinds))
    if flt.actions:
        parts.append(
            "action:"
            + ",".join(action_name(a).replace(" ", "") if a in ACTION_TYPES else str(a) for a in sorted(flt.actions))
        )
    if flt.categories:
        parts.append("category:" + ",".join(sorted(flt.categories)))
    ids("actor", "user", flt.actor_ids)
    ids("target", "user", flt.target_ids)
    for field, values in (
        ("decision", flt.results),
        ("reason", flt.reason_codes),
        ("capability", flt.capabilities),
        ("source", flt.sources),
        ("state", flt.states),
    ):
        if values:
            parts.append(f"{field}:{','.join(sorted(values))}")
    if flt.guild_ids:
        parts.append("guild:" + ",".join(map(str, sorted(flt.guild_ids))))
    if flt.text:
        parts.append(flt.text)
    return " ".join(parts)


def complete(text: str, known_users: Iterable[str] = (), known_roles: Iterable[str] = ()) -> list[str]:
    """Completions for the last term of ``text`` (field names, action names, known users)."""
    head, _, last = text.rpartition(" ")
    prefix = (head + " ") if head else ""
    if ":" not in last:
        low = last.lower()
        return [prefix + f + ":" for f in FIELDS if f.startswith(low) and low] if low else []
    name, _, value = last.partition(":")
    done, _, current = value.rpartition(",")
    lead = prefix + name + ":" + (done + "," if done else "")
    candidates: Iterable[str]
    name = name.lower()
    if name == "action":
        candidates = [n for n, _ in ACTION_TYPES.values()]
    elif name == "category":
        candidates = CATEGORIES
    elif name in ("actor", "target"):
        candidates = known_users
    elif name == "role":
        candidates = known_roles
    elif name == "kind":
        candidates = KINDS
    elif name == "decision":
        candidates = RESULTS
    elif name == "reason":
        candidates = REASON_CODES
    elif name == "source":
        candidates = DECISION_SOURCES + ENTRY_SOURCES
    elif name == "state":
        candidates = ROLE_CHANGE_STATES
    elif name in ("since", "until"):
        candidates = ("1h", "24h", "7d", "30d")
    else:
        return []
    cur = current.lower()
    return [lead + c for c in candidates if c.lower().startswith(cur) and re.fullmatch(r"[\w.\-]+", c)][:20]
