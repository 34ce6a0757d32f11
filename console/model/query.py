"""The search bar's query language ↔ :class:`Filter`.

``actor:176633885491343362 action:MEMBER_BAN_ADD,MEMBER_KICK since:7d "raid"``: ``field:value``
terms AND together, commas OR within a field, anything else is free text (quotes keep a phrase).
A leading ``-`` excludes: ``-category:automod``, ``-action:A,B`` (none of them), ``-"welcome"``,
``-word``; ``is:bot`` / ``-is:bot`` keep / drop what bot accounts did. An excluded field is
NOT(any of its values) and ANDs with everything else, so ``action:A,B -action:B`` keeps A.
Errors carry the column of the offending term so the bar can point at it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from console.model.actions import ACTION_TYPES, CATEGORIES, action_name, parse_action
from console.model.filters import (
    DECISION_SOURCES,
    ENTRY_SOURCES,
    KINDS,
    REASON_CODES,
    RESULTS,
    ROLE_CHANGE_STATES,
    Exclusions,
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
    "is": "bot: the actor is a bot account",
    "note": "a word in a note on the record",
}
#: What ``is:`` takes.
IS_VALUES = ("bot",)
#: query field → the filter's (and its exclusions') field.
_SET_FIELD_OF = {
    "kind": "kinds",
    "action": "actions",
    "category": "categories",
    "actor": "actor_ids",
    "target": "target_ids",
    "decision": "results",
    "reason": "reason_codes",
    "capability": "capabilities",
    "source": "sources",
    "state": "states",
    "guild": "guild_ids",
}

_TERM = re.compile(r'(?P<neg>-)?(?:"(?P<phrase>[^"]*)"?|(?P<field>[A-Za-z_]+):(?P<value>"[^"]*"?|\S*)|(?P<word>\S+))')


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
    #: Role ids from ``-role:`` — the caller drops what the members holding them did.
    excluded_role_ids: frozenset[int] = frozenset()
    #: ``is:bot`` (True) / ``-is:bot`` (False); None: neither. The caller knows the bots.
    bots: bool | None = None
    #: Where ``is:bot`` was (for an error about it).
    bots_column: int = 0

    def with_people(self, excluded_members: frozenset[int], bot_ids: frozenset[int]) -> Filter:
        """The filter with ``-role:`` (``excluded_members``: who holds those roles) and
        ``is:bot`` (``bot_ids``: the bot accounts the store knows) resolved. ``role:`` is the
        caller's own. Raises QueryError when ``is:bot`` can match nobody."""
        flt = self.filter
        dropped = excluded_members | (bot_ids if self.bots is False else frozenset())
        if dropped:
            flt = flt.with_(exclude=flt.exclude.with_(actor_ids=flt.exclude.actor_ids | dropped))
        if self.bots:
            if not bot_ids:
                raise QueryError("is:bot: the store knows no bot accounts", self.bots_column)
            flt = flt.with_(actor_ids=flt.actor_ids & bot_ids if flt.actor_ids else bot_ids)
        return flt


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


def user_ids(text: str, resolve: Resolver) -> frozenset[int]:
    """One person, as ``actor:`` and ``target:`` take them: a user id, or a username the resolver
    knows (a leading ``@`` ignored). QueryError when it names nobody, or more than one person."""
    found = _ids([text.strip().strip('"')], "user", resolve, "member", 0)
    if len(found) != 1:
        raise QueryError(f"member: {len(found)} people are named {text.strip()!r}: use the id", 0)
    return found


def _choices(values: Iterable[str], allowed: Sequence[str], field: str, col: int, *, upper: bool) -> frozenset[str]:
    out = set()
    lookup = {a.upper() if upper else a.lower(): a for a in allowed}
    for v in values:
        key = v.upper() if upper else v.lower()
        if key not in lookup:
            raise QueryError(f"{field}: {v!r} is not one of {', '.join(allowed)}", col)
        out.add(lookup[key])
    return frozenset(out)


def _field_values(name: str, values: list[str], resolve: Resolver, col: int) -> frozenset[Any]:
    """The choices ``name:values`` stands for (user, role and guild fields: ids)."""
    if name == "kind":
        return _choices(values, KINDS, name, col, upper=False)
    if name == "action":
        return frozenset(parse_action(v) for v in values)
    if name == "category":
        return _choices(values, CATEGORIES, name, col, upper=False)
    if name in ("actor", "target"):
        return _ids(values, "user", resolve, name, col)
    if name == "role":
        return _ids(values, "role", resolve, name, col)
    if name == "decision":
        return _choices(values, RESULTS, name, col, upper=True)
    if name == "reason":
        return _choices(values, REASON_CODES, name, col, upper=True)
    if name == "capability":
        return frozenset(v.lower() for v in values)
    if name == "source":
        return _choices(values, DECISION_SOURCES + ENTRY_SOURCES, name, col, upper=False)
    if name == "state":
        return _choices(values, ROLE_CHANGE_STATES, name, col, upper=False)
    if name == "is":
        return _choices(values, IS_VALUES, name, col, upper=False)
    return _ids(values, "guild", _no_names, name, col)


def parse(text: str, *, now_ms: int, resolve: Resolver = _no_names, base: Filter | None = None) -> Parsed:
    """Parse a query. Raises QueryError (with the column of the bad term)."""
    f: dict[str, object] = {}
    x: dict[str, frozenset[Any]] = {}
    words: list[str] = []
    dropped_words: list[str] = []
    role_ids: frozenset[int] = frozenset()
    people: dict[str, Any] = {}
    for m in _TERM.finditer(text):
        col = m.start()
        negated = m.group("neg") is not None
        into = dropped_words if negated else words
        if m.group("phrase") is not None:
            if m.group("phrase").strip():
                into.append(f'"{m.group("phrase")}"')
            continue
        if m.group("word") is not None:
            into.append(m.group("word"))
            continue
        name, raw = m.group("field").lower(), m.group("value")
        if name not in FIELDS:
            raise QueryError(f"unknown field {name!r} (fields: {', '.join(FIELDS)})", col)
        values = _values(raw)
        if not values:
            raise QueryError(f"{name}: needs a value ({FIELDS[name]})", col)
        try:
            if name in ("since", "until"):
                if negated:
                    raise QueryError(f"{name}: cannot be excluded (use since: and until: for the range)", col)
                if len(values) != 1:
                    raise QueryError(f"{name}: takes one time", col)
                f[f"{name}_ms"] = parse_time(values[0], now_ms)
                continue
            if name == "note":
                if negated:  # -note:handled leaves out what a note marks as done
                    x["note_words"] = x.get("note_words", frozenset()) | frozenset(values)
                else:
                    f["note_words"] = frozenset(values)
                continue
            chosen = _field_values(name, values, resolve, col)
        except QueryError:
            raise
        except ValueError as e:
            raise QueryError(f"{name}: {e}", col) from None
        if name == "is":
            people.update(bots=not negated, bots_column=col)
        elif name == "role" and negated:
            people["excluded_role_ids"] = people.get("excluded_role_ids", frozenset()) | chosen
        elif name == "role":
            role_ids = chosen
        elif negated:
            # Repeated exclusions add up: ``-actor:a -actor:b`` keeps neither.
            x[_SET_FIELD_OF[name]] = x.get(_SET_FIELD_OF[name], frozenset()) | chosen
        else:
            f[_SET_FIELD_OF[name]] = chosen
    since, until = f.get("since_ms"), f.get("until_ms")
    if isinstance(since, int) and isinstance(until, int) and since >= until:
        raise QueryError("since must be before until", text.find("until:"))
    f["text"] = " ".join(words)
    f["exclude"] = Exclusions(**x, text=" ".join(dropped_words))
    start = base or Filter()
    return Parsed(start.with_(**f), role_ids, **people)


def format_filter(flt: Filter, name_of: Callable[[str, int], str | None] | None = None) -> str:
    """A filter written back as a query (for the search bar and saved filters): what it keeps,
    then what it excludes (``-field:``, ``-word``)."""
    parts = _choice_terms(flt, "", name_of)
    parts += _note_terms(flt.note_words, "")
    if flt.text:
        parts.append(flt.text)
    parts += _choice_terms(flt.exclude, "-", name_of)
    parts += _note_terms(flt.exclude.note_words, "-")
    parts += _excluded_terms(flt.exclude.text)
    return " ".join(parts)


def _note_terms(note_words: frozenset[str], sign: str) -> list[str]:
    """``note:`` (or ``-note:``) with the words, quoted when one has a space or a quote."""
    if not note_words:
        return []
    words = ",".join(sorted(note_words))
    return [f"{sign}note:{words}" if re.fullmatch(r"[^\s\"]+", words) else f'{sign}note:"{words}"']


def _excluded_terms(text: str) -> list[str]:
    """An exclusion's text as typed: each term (a phrase in its quotes) with its "-" back."""
    return ["-" + term for term in re.findall(r'"[^"]*"|\S+', text)]


def text_box(flt: Filter) -> str:
    """The filter's words as one box of text (the sidebar's): kept words, then ``-word`` ones."""
    return " ".join([flt.text, *_excluded_terms(flt.exclude.text)]).strip()


def from_text_box(text: str) -> tuple[str, str]:
    """A box of words → (the words kept, the terms excluded): a leading "-" excludes, as in
    the query (anything else, ``field:`` included, is a word)."""
    kept: list[str] = []
    dropped: list[str] = []
    for m in re.finditer(r'(-?)("[^"]*"?|\S+)', text):
        negated = m.group(1) == "-" and m.group(2) not in ("", '"')
        (dropped if negated else kept).append(m.group(2) if negated else m.group(0))
    return " ".join(kept), " ".join(dropped)


def _choice_terms(flt: Filter | Exclusions, sign: str, name_of: Callable[[str, int], str | None] | None) -> list[str]:
    """``field:a,b`` terms for the choices of ``flt`` (``sign``: ``-`` for an exclusion)."""
    parts: list[str] = []

    def ids(field: str, kind: str, values: frozenset[int]) -> None:
        if values:
            shown = []
            for v in sorted(values):
                n = name_of(kind, v) if name_of else None
                shown.append(n if n and re.fullmatch(r"[\w.\-]+", n) else str(v))
            parts.append(f"{sign}{field}:{','.join(shown)}")

    if flt.kinds:
        parts.append(f"{sign}kind:" + ",".join(k for k in KINDS if k in flt.kinds))
    if flt.actions:
        parts.append(
            f"{sign}action:"
            + ",".join(action_name(a).replace(" ", "") if a in ACTION_TYPES else str(a) for a in sorted(flt.actions))
        )
    if flt.categories:
        parts.append(f"{sign}category:" + ",".join(sorted(flt.categories)))
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
            parts.append(f"{sign}{field}:{','.join(sorted(values))}")
    if flt.guild_ids:
        parts.append(f"{sign}guild:" + ",".join(map(str, sorted(flt.guild_ids))))
    return parts


def complete(text: str, known_users: Iterable[str] = (), known_roles: Iterable[str] = ()) -> list[str]:
    """Completions for the last term of ``text`` (field names, action names, known users)."""
    head, _, last = text.rpartition(" ")
    prefix = (head + " ") if head else ""
    if last.startswith("-"):  # an exclusion completes as the field it excludes
        prefix, last = prefix + "-", last[1:]
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
    elif name == "is":
        candidates = IS_VALUES
    else:
        return []
    cur = current.lower()
    return [lead + c for c in candidates if c.lower().startswith(cur) and re.fullmatch(r"[\w.\-]+", c)][:20]
