"""What ``add_entries`` decides in Python, the same for every backend: a batch of raw payloads
parsed into rows (or parse failures), copies of one id within the batch sorted out, and — once the
backend has read what it already holds for those ids — which rows are new, which changed in place
(kept as revisions) and which links the integrity chain gets. The SQL is each backend's."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import orjson

from console.model import entry as entries
from console.model.actions import target_name_kinds
from console.model.snowflake import parse as parse_id
from console.store import chain
from console.store.results import IngestResult

#: Where a row's values sit (the columns of ``audit_entries`` an insert writes, in this order).
ROW_COLUMNS = (
    "id, guild_id, action_type, actor_id, target_id, reason, created_at, received_at, source, raw, content_hash"
)
REASON, RAW = 5, 9

#: (kind, id) → cached name, or None.
NameOf = Callable[[str, int | None], str | None]


class Batch:
    """One batch parsed: a row per distinct id, what the full-text index holds of it, its chain
    content hash; the parse failures; later copies of an id that changed within the batch."""

    __slots__ = ("result", "rows", "fts", "hashes", "linked", "failures", "later")

    def __init__(self, source: str) -> None:
        self.result = IngestResult(source=source)
        #: id → the row (ROW_COLUMNS)
        self.rows: dict[int, tuple[Any, ...]] = {}
        #: id → (id, reason, names, changes): the full-text columns
        self.fts: dict[int, tuple[int, str, str, str]] = {}
        self.hashes: dict[int, bytes] = {}
        #: id → the integrity chain's content hash of the new row
        self.linked: dict[int, bytes] = {}
        #: (guild id, received at, source, error, raw text)
        self.failures: list[tuple[Any, ...]] = []
        #: second copies of an id in this batch, with other content: stored after it, as updates
        self.later: list[Mapping[str, Any]] = []


async def parse_batch(
    raws: Iterable[Mapping[str, Any]], *, source: str, guild_id: int | None, now: int, name_of: NameOf
) -> Batch:
    """Parse raw payloads into rows; what cannot be keyed becomes a parse failure."""
    batch = Batch(source)
    result = batch.result
    for n, raw in enumerate(raws):
        if n and n % 50 == 0:
            # Parsing takes a while per row: give the loop a turn now and then, so a big
            # batch never holds it long (the loop-lag goal in docs/performance.md).
            await asyncio.sleep(0)
        if isinstance(raw, Mapping) and not isinstance(raw, dict):
            raw = dict(raw)
        try:
            e = entries.parse_entry(raw, guild_id)
            if e.guild_id is None:
                raise entries.MalformedEntry(f"entry {e.id} has no guild_id")
            raw_json = orjson.dumps(raw, option=orjson.OPT_NON_STR_KEYS).decode()
        except (entries.MalformedEntry, TypeError, orjson.JSONEncodeError) as exc:
            batch.failures.append((guild_id, now, source, chain.column_text(str(exc)[:500]), dump_any(raw)))
            continue
        h = entries.content_hash(raw)
        if e.id in batch.hashes:
            # The same entry twice in one batch (a count bumped between gateway and REST):
            # identical, it is a duplicate; changed, it is applied after this batch as an
            # update, so the earlier content is kept as a revision instead of vanishing.
            if batch.hashes[e.id] == h:
                result.duplicates += 1
            else:
                batch.later.append(raw)
            continue
        batch.hashes[e.id] = h
        target = parse_id(e.target_id)
        reason = chain.column_text(e.reason)
        batch.rows[e.id] = row = (
            e.id,
            e.guild_id,
            e.action_type,
            e.actor_id,
            target,
            reason,
            e.created_ms,
            now,
            source,
            raw_json,
            h,
        )
        batch.linked[e.id] = chain.entry_hash(row[:9], raw_json)
        batch.fts[e.id] = (
            e.id,
            reason or "",
            chain.column_text(fts_names(e, name_of)) or "",
            chain.column_text(entries.changes_text(e)) or "",
        )
        result.guild_ids.add(e.guild_id)
    return batch


def fts_names(e: entries.AuditEntry, name_of: NameOf) -> str:
    """The names the full-text index holds for an entry: its actor's, its target's."""
    found = []
    if e.actor_id is not None:
        found.append(name_of("user", e.actor_id) or "")
    target = parse_id(e.target_id)
    if target is not None:
        for kind in target_name_kinds(e.action_type):
            name = name_of(kind, target)
            if name:
                found.append(name)
                break
    return " ".join(n for n in found if n)


class Stored:
    """What the store already holds of a batch's ids: per id its content hash, revision and raw
    JSON, and its ENTRY_HEAD columns (what an in-place update keeps)."""

    __slots__ = ("existing", "heads")

    def __init__(self) -> None:
        self.existing: dict[int, tuple[bytes, int, str]] = {}
        self.heads: dict[int, tuple[Any, ...]] = {}

    def add(self, row: Iterable[Any]) -> None:
        """One row of ``SELECT id, content_hash, revision, raw, <ENTRY_HEAD>``."""
        rid, h, rev, raw, *head = row
        self.existing[rid] = (bytes(h), rev, raw)
        self.heads[rid] = tuple(head)


#: The SELECT list :meth:`Stored.add` reads.
STORED_COLUMNS = f"id, content_hash, revision, raw, {chain.ENTRY_HEAD}"


class Plan:
    """What to write for a batch: new rows, ids changed in place (with their revision rows and
    updates), and the chain's new links by guild."""

    __slots__ = ("new_rows", "changed", "revisions", "updates", "links")

    def __init__(self) -> None:
        self.new_rows: list[tuple[Any, ...]] = []
        self.changed: list[int] = []
        #: (entry id, revision, raw, content hash, replaced at): the content being replaced
        self.revisions: list[tuple[int, int, str, bytes, int]] = []
        #: (raw, content hash, reason, id)
        self.updates: list[tuple[str, bytes, str | None, int]] = []
        self.links: dict[int, list[chain.Item]] = {}


def plan(batch: Batch, stored: Stored, now: int) -> Plan:
    """Decide what a parsed batch writes, given what is stored; counts duplicates in the result."""
    p = Plan()
    existing = stored.existing
    p.new_rows = [r for i, r in batch.rows.items() if i not in existing]
    p.changed = [i for i in existing if existing[i][0] != batch.hashes[i]]
    batch.result.duplicates += len(existing) - len(p.changed)
    for r in p.new_rows:
        p.links.setdefault(r[1], []).append((chain.ENTRY, r[0], 0, batch.linked[r[0]], None))
    for i in p.changed:
        old_hash, rev, old_raw = existing[i]
        new = batch.rows[i]
        p.revisions.append((i, rev, old_raw, old_hash, now))
        p.updates.append((new[RAW], batch.hashes[i], new[REASON], i))
        # Discord changed it in place: the new content is the entry's next link.
        head = list(stored.heads[i])
        head[REASON] = new[REASON]
        p.links.setdefault(head[1], []).append((chain.ENTRY, i, rev + 1, chain.entry_hash(head, new[RAW]), None))
    if p.new_rows:
        batch.result.inserted = [r[0] for r in p.new_rows]
    if p.changed:
        batch.result.updated = p.changed
    batch.result.failures = len(batch.failures)
    return p


def merge(result: IngestResult, more: IngestResult) -> None:
    """Add what the batch's later copies did (stored after it) to the batch's result."""
    result.updated = [*result.updated, *more.updated]
    result.inserted = [*result.inserted, *more.inserted]
    result.duplicates += more.duplicates
    result.failures += more.failures


def worth_telling(result: IngestResult) -> bool:
    """Whether listeners hear of a committed batch (duplicates alone change nothing)."""
    return bool(result.inserted or result.updated or result.failures)


def dump_any(raw: Any) -> str:
    """A payload as text, whatever it is (a parse failure keeps what arrived)."""
    try:
        return orjson.dumps(raw, option=orjson.OPT_NON_STR_KEYS).decode()
    except (TypeError, orjson.JSONEncodeError):
        return repr(raw)


def stored_text(raw: bytes) -> str:
    """Bytes that are not even JSON, as UTF-8 text with undecodable bytes (and NUL, which
    PostgreSQL's text cannot hold) as ``\\xNN`` escapes."""
    return raw.decode("utf-8", "backslashreplace").replace("\x00", "\\x00")
