"""What the member view reads of a store, the same SQL for both backends (``?`` placeholders;
PostgreSQL numbers them): counts by action of what a member did and what was done to them, the
timeout changes among their MEMBER_UPDATE entries, the policy's decisions on their requests, the
console's role changes they asked for or that are aimed at them, the names they went by, and the
notes about them.

Each backend hands :func:`member_counts` and :func:`name_history` a function that runs one
statement and returns its rows. Every count is read per side (what they did: the (actor_id,
action_type, id) index; what was done to them: (target_id, id)) and may stop at a cap, so the
view's first screen costs the same for a member with ten entries or a bot with a quarter of a
million (docs/performance.md); decisions and role changes use their (actor_id, id),
(member_id, id) and (requested_by, id) indexes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final

from console.model.member import COUNTED, TIMEOUT_KEY, MemberCounts, Timeout, timeouts_from
from console.model.notes import Note, current

#: Runs one statement (``?`` placeholders) with its arguments; returns its rows.
Run = Callable[[str, list[Any]], Awaitable[Sequence[Sequence[Any]]]]

#: "No limit" for a capped count: more rows than any store holds (SQLite and PostgreSQL alike).
NO_CAP: Final = 2**62

#: The kinds of names a person has (console/ingest/names.py): kept with when each was seen.
PERSON_KINDS: Final = ("user", "member")

#: A side's condition on an entry (arguments: the member once, twice for "target").
_SIDES: Final = {"actor": "actor_id = ?", "target": "target_id = ? AND (actor_id IS NULL OR actor_id <> ?)"}


def _side_args(side: str, member_id: int) -> list[Any]:
    return [member_id] if side == "actor" else [member_id, member_id]


def _capped(sql: str) -> str:
    """A count of ``sql``'s rows that stops at a limit (its last argument)."""
    return f"SELECT count(*) FROM ({sql} LIMIT ?) t"


async def member_counts(run: Run, guild_id: int, member_id: int, cap: int | None = None) -> MemberCounts:
    """Each count stops at ``cap`` (None: exact); so does the list of timeout changes, per side."""
    limit = NO_CAP if cap is None else cap
    groups: dict[str, tuple[int, int]] = {}
    timeouts: list[Timeout] = []
    for name, actions in COUNTED.items():
        sides = []
        for side, cond in _SIDES.items():
            where = f"guild_id = ? AND {cond} AND action_type IN ({','.join(map(str, sorted(actions)))})"
            args = [guild_id, *_side_args(side, member_id)]
            if name == "timeouts":
                # The LIKE only narrows what is read: the payload's changes decide.
                sql = f"SELECT id, actor_id, target_id, raw FROM audit_entries WHERE {where}"
                found = await run(f"{sql} AND raw LIKE '%{TIMEOUT_KEY}%' ORDER BY id DESC LIMIT ?", [*args, limit])
                timeouts += timeouts_from(found)
                sides.append(len(found))
            else:
                found = await run(_capped(f"SELECT 1 FROM audit_entries WHERE {where}"), [*args, limit])
                sides.append(int(found[0][0]))
        groups[name] = (sides[0], sides[1])
    decisions = {
        str(r): min(int(n), limit)
        for r, n in await run(
            "SELECT result, count(*) FROM decisions WHERE guild_id = ? AND actor_id = ? GROUP BY result",
            [guild_id, member_id],
        )
    }
    changes = []
    for column in ("requested_by", "member_id"):
        sql = f"SELECT 1 FROM role_changes WHERE guild_id = ? AND {column} = ?"
        changes.append(int((await run(_capped(sql), [guild_id, member_id, limit]))[0][0]))
    timeouts.sort(key=lambda t: t.entry_id, reverse=True)
    return MemberCounts(groups, tuple(timeouts), decisions, (changes[0], changes[1]), cap)


_NAMES: Final = (
    "SELECT kind, name, first_seen, last_seen FROM name_history WHERE id = ? AND kind IN ('user', 'member')"
    " ORDER BY first_seen, kind, name"
)


async def name_history(run: Run, user_id: int) -> list[tuple[str, str, int, int]]:
    """(kind, name, first seen, last seen) of every username and display name ``user_id`` had."""
    return [(str(k), str(n), int(a), int(b)) for k, n, a, b in await run(_NAMES, [user_id])]


#: Every note action on a record involving the member, or written from their view (arguments:
#: the guild, then the member six times). Notes are few (people write them), so the guild's are
#: read and each record looked up by id.
_NOTES: Final = (
    f"SELECT {Note.COLUMNS} FROM notes n WHERE guild_id = ? AND (member_id = ?"
    " OR (record_kind = 'audit' AND EXISTS (SELECT 1 FROM audit_entries a WHERE a.id = n.record_id"
    " AND (a.actor_id = ? OR a.target_id = ?)))"
    " OR (record_kind = 'decision' AND EXISTS (SELECT 1 FROM decisions d WHERE d.id = n.record_id AND d.actor_id = ?))"
    " OR (record_kind = 'role_change' AND EXISTS (SELECT 1 FROM role_changes r WHERE r.id = n.record_id"
    " AND (r.member_id = ? OR r.requested_by = ?)))) ORDER BY id"
)


async def member_notes(run: Run, guild_id: int, member_id: int) -> list[Note]:
    """The current notes (``console.model.notes.current``) about a member, oldest first."""
    return current(Note.from_row(tuple(r)) for r in await run(_NOTES, [guild_id, *[member_id] * 6]))


#: Remembering names: the name a person had until now was last seen now; the new one is seen now
#: (first seen the first time). Arguments: (now, kind, id, old name) and (kind, id, name, now, now).
CLOSE_NAME: Final = "UPDATE name_history SET last_seen = ? WHERE kind = ? AND id = ? AND name = ?"
OPEN_NAME: Final = (
    "INSERT INTO name_history (kind, id, name, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (kind, id, name) DO UPDATE SET last_seen = excluded.last_seen"
)


def history_rows(
    kind: str, changed: Sequence[tuple[int, str]], known: dict[int, str], now: int
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The CLOSE_NAME and OPEN_NAME arguments for names that changed (``known``: the names
    before); nothing for kinds that are not a person's."""
    if kind not in PERSON_KINDS:
        return [], []
    closing = [(now, kind, i, known[i]) for i, _ in changed if i in known]
    opening = [(kind, i, n, now, now) for i, n in changed]
    return closing, opening
