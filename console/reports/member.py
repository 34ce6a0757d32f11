"""A member's story read from a store (the member view, ``u``/``U``, and ``audit-console member``):
:func:`profile` reads it through the store's interface, :func:`sections` writes it as titled
lines of plain, sanitised text (the view and the command show the same), :func:`to_json` as the
command's ``--json``. The timeline under it is the store's ``Filter.member_ids`` timeline
(:func:`timeline_filter`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Final

from console.model import times
from console.model.actions import action_name
from console.model.filters import Filter
from console.model.member import (
    BOT_ADD,
    MEMBER_BAN_ADD,
    MEMBER_BAN_REMOVE,
    MEMBER_KICK,
    MEMBER_UPDATE,
    NAME_KINDS,
    STATUS_ACTIONS,
    Profile,
    names_seen,
    nicknames,
    standing,
    timeouts_from,
)
from console.model.naming import person
from console.model.notes import Note
from console.model.sanitize import safe_text
from console.model.snowflake import to_ms
from console.store import AuditStore

#: Where the view's counts stop (shown as "≥ 1,000"): its first screen costs the same for a bot
#: with a quarter of a million entries as for anyone (docs/performance.md, the member view).
VIEW_CAP: Final = 1000
#: The newest MEMBER_UPDATE entries aimed at them read for nicknames, and ban/kick entries for
#: what happened to them.
NICK_ENTRIES: Final = 500
STATUS_ENTRIES: Final = 20
_NAME_LEN: Final = 80
#: The newest notes about them the view lists (the drawer of each ✎ row has the rest); each
#: shown on one line.
NOTES_SHOWN: Final = 3
_NOTE_LEN: Final = 160

NameOf = Callable[[str, int], str | None]


def timeline_filter(guild_id: int, member_id: int) -> Filter:
    """Everything involving the member in the guild, newest first."""
    return Filter(guild_ids=frozenset({guild_id}), member_ids=frozenset({member_id}))


async def profile(store: AuditStore, guild_id: int, member_id: int, *, now_ms: int) -> Profile:
    """Who they are and what the log says happened to them; the counts come apart
    (:func:`counted`: the view draws its first frame before them)."""
    await store.load_names_for([("user", member_id), ("member", member_id)])
    current = {"user": store.name_of("user", member_id), "member": store.name_of("member", member_id)}
    names = names_seen(await store.name_history(member_id), current, now_ms)
    guild = frozenset({guild_id})
    updates = await store.page(
        Filter(guild_ids=guild, target_ids=frozenset({member_id}), actions=frozenset({MEMBER_UPDATE})),
        limit=NICK_ENTRIES,
    )
    names += nicknames(updates, member_id)
    status = await store.page(
        Filter(guild_ids=guild, target_ids=frozenset({member_id}), actions=STATUS_ACTIONS), limit=STATUS_ENTRIES
    )
    timeouts = timeouts_from((e.id, e.actor_id, e.target_id, e.raw_json) for e in updates)
    where = standing(await store.guild_state(guild_id), member_id, status, timeouts)
    wanted: list[tuple[str, int | None]] = [("role", r) for r in where.roles]
    wanted += [("user", actor) for _, _, actor in where.events] + [("member", a) for _, _, a in where.events]
    if where.timeout is not None:
        wanted += [("user", where.timeout.actor_id), ("member", where.timeout.actor_id)]
    await store.load_names_for(wanted)
    return Profile(guild_id, member_id, tuple(names), where)


async def counted(store: AuditStore, p: Profile, *, cap: int | None) -> Profile:
    """``p`` with its counts (each stopping at ``cap``; None: exact)."""
    return p.with_counts(await store.member_counts(p.guild_id, p.member_id, cap=cap))


def _who(name_of: NameOf, user_id: int | None) -> str:
    if user_id is None:
        return "someone"
    return person(name_of, user_id, max_len=_NAME_LEN) or str(user_id)


def _count(n: int, at_least: bool) -> str:
    return f"≥ {n:,}" if at_least else f"{n:,}"


_EVENTS: Final = {
    MEMBER_BAN_ADD: "banned",
    MEMBER_BAN_REMOVE: "unbanned",
    MEMBER_KICK: "kicked",
    BOT_ADD: "added (a bot)",
}


def _at(ms: int) -> str:
    """``2026-11-21 12:00`` UTC. Not ``times.minute_utc``: its first call builds a day's worth of
    tables (an export's speed), a few hundred ms the view's first screen cannot spend."""
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime("%Y-%m-%d %H:%M")


def timeline_title(p: Profile, name_of: NameOf) -> str:
    """Whose timeline: their name (sanitised) and id."""
    return f"{_who(name_of, p.member_id)} · {p.member_id}"


def sections(p: Profile, name_of: NameOf, now_ms: int) -> list[tuple[str, list[str]]]:
    """(title, lines) to show, every untrusted name sanitised; times in UTC."""
    label = _who(name_of, p.member_id)
    who = [f"{label} · {p.member_id}"]
    for seen in p.names:
        first = _at(seen.first_ms)
        span = f"since {first}" if seen.current else f"{first} → {_at(seen.last_ms)}"
        now = " (now)" if seen.current else ""
        who.append(f"{NAME_KINDS.get(seen.kind, seen.kind)}: {safe_text(seen.name, _NAME_LEN)}{now} · {span}")
    if len(who) == 1:
        who.append("no names seen: the console knows only the id")
    st = p.standing
    state: list[str] = []
    if st.in_state:
        roles = [f"@{safe_text(name_of('role', r) or str(r), 40)}" for r in st.roles]
        state.append("roles: " + (", ".join(roles) if roles else "none"))
        if st.joined_ms is not None:
            state.append(f"joined {_at(st.joined_ms)}")
        if st.timed_out_until_ms is not None and st.timed_out_until_ms > now_ms:
            state.append(f"timed out until {_at(st.timed_out_until_ms)}")
    else:
        state.append("not in the stored guild state (left, or not seen by the console)")
    for action, entry_id, actor in st.events[:5]:
        what = _EVENTS.get(action, action_name(action))
        state.append(f"{what} {_at(to_ms(entry_id))} by {_who(name_of, actor)}")
    if st.timeout is not None:
        t = st.timeout
        when, by = _at(to_ms(t.entry_id)), _who(name_of, t.actor_id)
        if t.until_ms is None:
            state.append(f"timeout lifted {when} by {by}")
        else:
            state.append(f"timed out {when} by {by}, until {_at(t.until_ms)}")
    return [("Who", who), ("Standing", state), ("Counts", count_lines(p))]


def note_lines(notes: list[Note], name_of: NameOf) -> list[str]:
    """The newest notes about them, newest first, one sanitised line each: when, who, the text
    and the record it is on; then how many older ones there are."""
    lines = [
        f"{_at(n.created_at)}  {_who(name_of, n.actor_id)}: {safe_text(n.text, _NOTE_LEN)}  (record {n.record_id})"
        for n in reversed(notes[-NOTES_SHOWN:])
    ]
    if len(notes) > NOTES_SHOWN:
        lines.append(f"and {len(notes) - NOTES_SHOWN:,} older (the ✎ rows' details)")
    return lines


def count_lines(p: Profile) -> list[str]:
    """The counts as a small table (by them / to them), or that they are being counted."""
    if p.counts is None:
        return ["counting…"]
    lines = [f"{'':<15}{'by them':>9}{'to them':>9}"]
    for h in p.headline:
        by = "" if h.by is None else _count(h.by, h.at_least)
        lines.append(f"{h.label:<15}{by:>9}{_count(h.to, h.at_least):>9}")
    decided = p.counts.decisions
    for result in ("ALLOW", "DENY"):
        if decided:
            lines.append(f"{'requests ' + result:<15}{decided.get(result, 0):>9,}")
    return lines


def to_json(p: Profile, name_of: NameOf) -> dict[str, Any]:
    """The profile as the command's ``--json`` prints it (ids as strings, times ISO-8601 UTC,
    names raw: JSON escapes them)."""
    st = p.standing
    return {
        "guild_id": str(p.guild_id),
        "member_id": str(p.member_id),
        "username": name_of("user", p.member_id),
        "display_name": name_of("member", p.member_id),
        "names": [
            {
                "kind": NAME_KINDS.get(s.kind, s.kind),
                "name": s.name,
                "first_seen": times.iso_utc(s.first_ms),
                "last_seen": times.iso_utc(s.last_ms),
                "current": s.current,
            }
            for s in p.names
        ],
        "in_guild_state": st.in_state,
        "roles": [str(r) for r in st.roles],
        "joined_at": None if st.joined_ms is None else times.iso_utc(st.joined_ms),
        "timed_out_until": None if st.timed_out_until_ms is None else times.iso_utc(st.timed_out_until_ms),
        "events": [
            {"action": action_name(a), "entry_id": str(i), "at": times.iso_utc(to_ms(i)), "actor_id": _id(actor)}
            for a, i, actor in st.events
        ],
        "counts": {
            h.label: ({"to_them": h.to} if h.by is None else {"by_them": h.by, "to_them": h.to}) for h in p.headline
        },
        "decisions": {} if p.counts is None else dict(p.counts.decisions),
        "last_timeout": None
        if st.timeout is None
        else {
            "entry_id": str(st.timeout.entry_id),
            "actor_id": _id(st.timeout.actor_id),
            "until": None if st.timeout.until_ms is None else times.iso_utc(st.timeout.until_ms),
        },
    }


def _id(value: int | None) -> str | None:
    return None if value is None else str(value)


def timeline_item(record: Any) -> dict[str, Any]:
    """One record of the member's timeline as the command prints it (``--json``: as is)."""
    from console.model.records import Decision, RoleChange
    from console.model.stored import StoredEntry

    item: dict[str, Any] = {"id": str(record.id), "at": times.iso_utc(to_ms(record.id))}
    if isinstance(record, StoredEntry):
        return item | {
            "kind": "audit",
            "what": action_name(record.action_type),
            "actor_id": _id(record.actor_id),
            "target_id": _id(record.target_id),
            "reason": record.reason,
        }
    if isinstance(record, Decision):
        return item | {
            "kind": "decision",
            "what": f"{record.capability} {record.result} {record.reason_code}",
            "actor_id": _id(record.actor_id),
            "target_id": _id(record.resource_id),
            "reason": None,
        }
    if isinstance(record, RoleChange):
        return item | {
            "kind": "role_change",
            "what": f"{record.op} role {record.role_id} ({record.state})",
            "actor_id": _id(record.requested_by),
            "target_id": _id(record.member_id),
            "reason": record.reason,
        }
    return item | {"kind": "gap", "what": "gap", "actor_id": None, "target_id": None, "reason": None}


def timeline_line(item: dict[str, Any], name_of: NameOf) -> str:
    """A timeline item as one line of sanitised text."""

    def who(ident: str | None) -> str:
        return _who(name_of, int(ident)) if ident else "—"

    when = item["at"][:16].replace("T", " ")
    line = f"{when}  {item['kind']:<11} {safe_text(item['what'], 80)}  {who(item['actor_id'])}"
    if item["target_id"]:
        line += f" → {who(item['target_id'])}"
    if item["reason"]:
        line += f"  “{safe_text(item['reason'], 120)}”"
    return line
