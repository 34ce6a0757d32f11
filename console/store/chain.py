"""The integrity chain: what a link is and how it is hashed, the same for every backend.

Per guild, every stored record is one link in a hash chain (table ``chain``)::

    link[n] = sha256(link[n-1] ‖ "n|kind|record id|revision|at|" ‖ content hash)

The content hash covers the record's canonical content (every stored column of an audit entry,
a decision, a role change's final state, a note). Links are written in the same transaction as the
records, so a committed record always has its link. Discord's in-place updates (revisions) and a
role change's later final state (confirmed, then reverted) are new links with the next revision.
``chain_heads`` keeps each guild's last link, so cutting links off the end is seen too.

Retention removes records outside a guild's window and says so in the chain: first a *prune*
link ("records before this id may be removed", with the window it applied), then the deletions,
then a *compact* link that drops the links no longer needed and records the hash the remaining
links start from. ``verify`` therefore knows which deletions were legitimate.

What this proves: any edit, insertion or deletion made with SQL behind the console's back, or
an in-between link removed or changed, is detected. It cannot stop someone who rewrites the whole
chain with this very code; write down (or post) the guild heads that ``verify`` prints to detect
that too.

Writing links is the backend's (``sqlite/links.py``); checking them is ``verify.py``'s.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any, Final

import orjson

from console.model import entry as entries
from console.model.notes import Note
from console.model.records import RoleChange

ENTRY, DECISION, ROLE_CHANGE, NOTE, COMPACT, PRUNE = 0, 1, 2, 3, 8, 9
RECORD_KINDS: Final = (ENTRY, DECISION, ROLE_CHANGE, NOTE)
KIND_NAMES: Final = {
    ENTRY: "entry",
    DECISION: "decision",
    ROLE_CHANGE: "role change",
    NOTE: "note",
    COMPACT: "compact",
    PRUNE: "prune",
}
PLURALS: Final = {ENTRY: "entries", DECISION: "decisions", ROLE_CHANGE: "role changes", NOTE: "notes"}

#: meta key set once every record stored before the chain existed has been linked.
STARTED_KEY: Final = "chain_started"

#: The columns whose content an audit entry's link covers (``raw`` is hashed after them).
ENTRY_HEAD: Final = "id, guild_id, action_type, actor_id, target_id, reason, created_at, received_at, source"
DECISION_COLUMNS: Final = (
    "id, guild_id, created_at, actor_id, actor_name, actor_roles, actor_admin, actor_owner, capability,"
    " resource_type, resource_id, source, result, reason_code, path, policy_version"
)
#: A role change's final state: not its retry schedule, nor its audit message's bookkeeping.
ROLE_CHANGE_COLUMNS: Final = (
    "id, guild_id, member_id, role_id, op, reason, requested_by, source, decision_id, state, created_at,"
    " updated_at, attempts, observed_at, error, linked_entry_id, cancelled_by"
)
#: A note's every column: a note is never changed once written (an edit is a new note).
NOTE_COLUMNS: Final = Note.COLUMNS
#: The final states as an SQL list: ``state IN (…)``.
FINAL_SQL: Final = "(" + ",".join(f"'{s}'" for s in sorted(RoleChange.FINAL)) + ")"
#: Records linked once, as inserted, whole: kind → (table, the columns their link covers).
ROW_KINDS: Final = {DECISION: ("decisions", DECISION_COLUMNS), NOTE: ("notes", NOTE_COLUMNS)}

#: kind, record id, revision, content hash, note (prune and compact links only)
Item = tuple[int, int, int, bytes, str | None]


def _digest(blob: bytes) -> bytes:
    return hashlib.sha256(blob).digest()[:16]


def _dump(values: Sequence[Any]) -> bytes:
    try:
        return orjson.dumps(list(values))
    except (TypeError, orjson.JSONEncodeError):
        # A value SQL put there that the console never writes (bytes, a huge int): it cannot
        # match what was linked, and must not crash the check.
        return repr(tuple(values)).encode("utf-8", "replace")


def entry_hash(head: Sequence[Any], raw_json: str | bytes) -> bytes:
    """Content hash of an audit entry: ``head`` are the ENTRY_HEAD values, then its raw JSON."""
    raw = raw_json.encode("utf-8", "surrogatepass") if isinstance(raw_json, str) else bytes(raw_json)
    return _digest(_dump(head) + b"\n" + raw)


def row_hash(values: Sequence[Any]) -> bytes:
    """Content hash of a decision or a role change (its DECISION_/ROLE_CHANGE_COLUMNS)."""
    return _digest(_dump(values))


def note_hash(note: str) -> bytes:
    return _digest(note.encode("utf-8", "surrogatepass"))


def genesis(guild_id: int) -> bytes:
    """The "previous link" of a guild's first link."""
    return hashlib.sha256(b"audit-console chain v1\0%d" % guild_id).digest()


def link_hash(prev: bytes, seq: int, kind: int, record_id: int, revision: int, at: int, content: bytes) -> bytes:
    return hashlib.sha256(b"%s%d|%d|%d|%d|%d|%s" % (prev, seq, kind, record_id, revision, at, content)).digest()


def column_text(text: str | None) -> str | None:
    """Free text as a column holds it, on every backend: NUL (which PostgreSQL's text cannot hold)
    becomes U+FFFD, so the same record is stored, and hashed, alike. (The raw JSON keeps it.)"""
    return text.replace("\x00", "\ufffd") if text and "\x00" in text else text


def revision_content(head: Sequence[Any], old_raw: str, guild_id: int) -> bytes:
    """The content an entry had at an earlier revision: its columns then, from its raw JSON
    then (an in-place update rewrites ``raw`` and ``reason`` only)."""
    try:
        reason = entries.parse_entry(orjson.loads(old_raw), guild_id).reason
    except (entries.MalformedEntry, orjson.JSONDecodeError, TypeError):
        reason = None
    values = list(head)
    values[5] = column_text(reason)
    return entry_hash(values, old_raw)


#: A link as the ``chain`` table holds it: guild id, seq, kind, record id, revision, at, content
#: hash, link, note.
Link = tuple[int, int, int, int, int, int, bytes, bytes, str | None]


def extend(
    heads: Mapping[int, tuple[int, bytes]], by_guild: Mapping[int, Sequence[Item]], at: int
) -> tuple[list[Link], list[tuple[int, int, bytes]]]:
    """The links that append ``by_guild``'s items to each guild's chain, given its head (seq,
    link; a guild without one starts at its genesis), and the new heads (guild id, seq, link)."""
    links: list[Link] = []
    new_heads: list[tuple[int, int, bytes]] = []
    for gid, items in by_guild.items():
        seq, prev = heads.get(gid, (0, genesis(gid)))
        for kind, rid, rev, content, note in items:
            seq += 1
            prev = link_hash(prev, seq, kind, rid, rev, at, content)
            links.append((gid, seq, kind, rid, rev, at, content, prev, note))
        new_heads.append((gid, seq, prev))
    return links, new_heads


def adopted_rows() -> list[tuple[int, str]]:
    """(kind, SELECT of its rows in id order) of the records other than entries that a store
    links when it starts its chain over what it held before."""
    return [
        (DECISION, f"SELECT {DECISION_COLUMNS} FROM decisions ORDER BY id"),
        (ROLE_CHANGE, f"SELECT {ROLE_CHANGE_COLUMNS} FROM role_changes WHERE state IN {FINAL_SQL} ORDER BY id"),
        (NOTE, f"SELECT {NOTE_COLUMNS} FROM notes ORDER BY id"),
    ]


def adopted_entry(row: Sequence[Any], earlier: Mapping[int, str]) -> list[Item]:
    """The links of an entry stored before the chain was started: ``row`` is its ENTRY_HEAD
    columns, raw and revision; ``earlier`` its kept revisions' raw JSON by revision."""
    head, raw, rev = tuple(row[:9]), row[9], row[10]
    items: list[Item] = [
        (ENTRY, row[0], k, revision_content(head, earlier[k], row[1]), None) for k in range(rev) if k in earlier
    ]
    items.append((ENTRY, row[0], rev, entry_hash(head, raw), None))
    return items
