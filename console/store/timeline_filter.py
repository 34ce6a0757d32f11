"""The timeline's logic both backends share: which decisions, role changes and gaps a Filter keeps
(WHERE clauses with ``?`` placeholders; the backend says how text is matched without case), the
kinds' codes, and the arithmetic of the activity histogram and of fetching records by ref.

Audit entries are each backend's own (full-text search differs); their other clauses come from
``queries.entry_where``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from console.model.filters import Filter, text_terms
from console.model.records import Decision, Gap, RoleChange
from console.model.snowflake import DISCORD_EPOCH_MS
from console.store import queries
from console.store.results import Ref

KIND_CODES: Final = {"audit": 0, "decision": 1, "role_change": 2, "gap": 3}
CODE_KINDS: Final = {v: k for k, v in KIND_CODES.items()}
ENTRY_COLUMNS: Final = (
    "id, guild_id, action_type, actor_id, target_id, reason, created_at, received_at, source, raw, revision"
)
#: kind → the table holding it (audit entries: without full text).
TABLES: Final = {"audit": "audit_entries", "decision": "decisions", "role_change": "role_changes", "gap": "gaps"}

Record = Any  # StoredEntry | Decision | RoleChange | Gap


def _plain_words(flt: Filter) -> list[str]:
    return [w.strip('"*') for w in flt.text.split() if w.strip('"*')]


#: kind → (its actor column, its target column, its text columns, its own choice columns).
_RECORD_COLUMNS: Final = {
    "decision": (
        "actor_id",
        "resource_id",
        ("capability", "reason_code", "actor_name"),
        (("result", "results"), ("reason_code", "reason_codes"), ("capability", "capabilities"), ("source", "sources")),
    ),
    "role_change": ("requested_by", "member_id", ("reason", "error"), (("state", "states"),)),
    "gap": (None, None, (), ()),
}


def record_where(kind: str, flt: Filter, like: str = queries.SQLITE_LIKE) -> tuple[list[str], list[Any]]:
    """WHERE clauses (without time bounds) for a decision, role change or gap. ``like`` is the
    backend's spelling of SQLite's LIKE (``{col}`` the column, ``?`` the pattern)."""
    m = queries.Marks()
    where: list[str] = []
    actor, target, texts, choices = _RECORD_COLUMNS[kind]
    ex = flt.exclude
    for column, values, dropped in (
        ("guild_id", flt.guild_ids, ex.guild_ids),
        (actor, flt.actor_ids, ex.actor_ids),
        (target, flt.target_ids, ex.target_ids),
        *((column, getattr(flt, field), getattr(ex, field)) for column, field in choices),
    ):
        if column and values:
            where.append(m.within(column, values))
        if column and dropped:
            where.append(m.outside(column, dropped))
    if flt.member_ids:
        # Decisions on their requests; role changes they asked for or that are aimed at them.
        if kind == "decision":
            where.append(m.within("actor_id", flt.member_ids))
        elif kind == "role_change":
            where.append(f"({m.within('member_id', flt.member_ids)} OR {m.within('requested_by', flt.member_ids)})")

    def matches(word: str) -> str:
        return "(" + " OR ".join(like.format(col=c).replace("?", m(queries.like_pattern(word))) for c in texts) + ")"

    def found(word: str) -> str:
        """The word in one of the record's text columns or in one of its notes."""
        return "(" + matches(word) + " OR " + queries.note_clause(kind, [word], m, like=like) + ")"

    if texts:
        where += [found(word) for word in _plain_words(flt)]
        # An excluded phrase is one pattern (``-"alt account"``), unlike the kept text's words.
        where += [f"{matches(term)} IS NOT TRUE" for term, _ in text_terms(flt.exclude.text)]
    if kind != "gap":  # gaps have no notes
        where += queries.note_clauses(kind, flt, m, like=like)
    return where, m.args


def range_clause(flt: Filter, newer_than: int | None, up_to: int | None) -> tuple[str, list[Any]]:
    """The clause (``{id}`` the column) keeping records listed before ``newer_than`` and from
    ``up_to`` on, in the filter's order, and its arguments."""
    before, from_ = ("{id} > ?", "{id} <= ?") if flt.newest_first else ("{id} < ?", "{id} >= ?")
    clauses, args = [], []
    if newer_than is not None:
        clauses.append(before)
        args.append(newer_than)
    if up_to is not None:
        clauses.append(from_)
        args.append(up_to)
    return " AND ".join(clauses), args


def histogram_window(flt: Filter, start_ms: int, end_ms: int, buckets: int) -> tuple[Filter, int]:
    """The filter cut to [start_ms, end_ms), and the width of a bucket in ms."""
    span = max(1, end_ms - start_ms)
    width = max(1, -(-span // buckets))  # ceiling: the last instant of the range still fits
    windowed = flt.with_(since_ms=max(start_ms, flt.since_ms or start_ms), until_ms=min(end_ms, flt.until_ms or end_ms))
    return windowed, width


#: SELECT column for a record's bucket; arguments: DISCORD_EPOCH_MS, start_ms, width.
BUCKET_SQL: Final = "((id >> 22) + ? - ?) / ?"


def bucket_args(start_ms: int, width: int) -> list[int]:
    return [DISCORD_EPOCH_MS, start_ms, width]


def fold_buckets(found: Sequence[Sequence[Any]], buckets: int) -> list[int]:
    counts = [0] * buckets
    for bucket, n in found:
        if 0 <= bucket < buckets:
            counts[int(bucket)] += int(n)
    return counts


def record_specs() -> dict[str, tuple[str, str, Any]]:
    """kind → (table, columns, row → record)."""
    from console.model.stored import StoredEntry

    return {
        "audit": ("audit_entries", ENTRY_COLUMNS, StoredEntry.from_row),
        "decision": ("decisions", Decision.COLUMNS, Decision.from_row),
        "role_change": ("role_changes", RoleChange.COLUMNS, RoleChange.from_row),
        "gap": ("gaps", Gap.COLUMNS, Gap.from_row),
    }


def ids_by_kind(refs: Sequence[Ref]) -> dict[str, list[int]]:
    by_kind: dict[str, list[int]] = {}
    for ref in refs:
        by_kind.setdefault(ref.kind, []).append(ref.id)
    return by_kind


def in_order(refs: Sequence[Ref], got: dict[tuple[str, int], Record]) -> list[Record]:
    """The records fetched, in the order of ``refs``; those not stored (any more) left out."""
    return [got[(r.kind, r.id)] for r in refs if (r.kind, r.id) in got]
