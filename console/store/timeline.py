"""One timeline of every kind of record — audit entries, decisions, role changes, gaps — in id
(time) order. Every id is a snowflake, so the kinds interleave by id; a page is a compound
SELECT that SQLite merges from index-ordered branches, then the rows are fetched by id."""

from collections.abc import Sequence
from typing import Any

import aiosqlite

from console.model.filters import Filter
from console.store import queries
from console.store.connection import one, rows
from console.store.results import Ref
from console.store.timeline_filter import (
    BUCKET_SQL,
    CODE_KINDS,
    KIND_CODES,
    TABLES,
    Record,
    bucket_args,
    fold_buckets,
    histogram_window,
    ids_by_kind,
    in_order,
    range_clause,
    record_specs,
    record_where,
)

__all__ = ["CODE_KINDS", "KIND_CODES", "count", "fetch", "histogram", "page_refs", "sparse_index"]


def _branch(
    kind: str, flt: Filter, *, page: bool = False, side: str | None = None
) -> tuple[str, list[Any], str] | None:
    """``SELECT id, <code> FROM …`` for one kind (entries: one ``side`` of the members, see
    ``queries.member_sides``), or None when the filter excludes it (``page``: for a page, not a
    count: ``queries.Marks.without_text``)."""
    if not flt.includes_kind(kind):
        return None
    id_col = "id"
    table = TABLES[kind]
    if kind == "audit":
        where, args, match = queries.entry_where(flt, page=page, side=side)
        if match is not None and not where:
            # Text alone: read the full-text index directly, in rowid (= id) order, so a page
            # or a capped count stops early instead of collecting every match first.
            table, id_col = "audit_fts", "rowid"
            where, args = ["audit_fts MATCH ?"], [match]
        elif match is not None:
            where.append("id IN (SELECT rowid FROM audit_fts WHERE audit_fts MATCH ?)")
            args.append(match)
    else:
        where, args = record_where(kind, flt)
    low, high = queries.id_bounds(flt)
    bounds, bargs = queries._bounds(id_col, low, high)
    where += bounds
    args += bargs
    sql = f"SELECT {id_col} AS id, {KIND_CODES[kind]} AS k FROM {table}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return sql, args, id_col


def _note_arm(flt: Filter, *, page: bool = False) -> tuple[str, list[Any], str] | None:
    """The audit entries the filter's words find in their notes and not in themselves (the audit
    branch has those): few, as notes are, read by id."""
    if not flt.includes_kind("audit"):
        return None
    where, args, match = queries.entry_where(flt, page=page)
    if match is None:
        return None
    where += [
        f"id IN ({queries.note_text_ids('audit')})",
        "NOT EXISTS (SELECT 1 FROM audit_fts WHERE audit_fts MATCH ? AND rowid = audit_entries.id)",
    ]
    args += [match, match]
    bounds, bargs = queries._bounds("id", *queries.id_bounds(flt))
    sql = f"SELECT id, {KIND_CODES['audit']} AS k FROM audit_entries WHERE " + " AND ".join([*where, *bounds])
    return sql, [*args, *bargs], "id"


def _compound(
    flt: Filter, extra: str = "", extra_args: Sequence[Any] = (), *, page: bool = False
) -> tuple[str, list[Any]] | None:
    parts, args = [], []
    branches = [
        _branch(kind, flt, page=page, side=side)
        for kind in KIND_CODES
        for side in (queries.member_sides(flt) if kind == "audit" else (None,))
    ]
    branches.append(_note_arm(flt, page=page))
    for branch in branches:
        if branch is None:
            continue
        sql, bargs, id_col = branch
        if extra:
            # ``{id}``: the branch's own id column (rowid when reading the full-text index).
            sql += (" AND " if " WHERE " in sql else " WHERE ") + extra.replace("{id}", id_col)
            bargs = [*bargs, *extra_args]
        parts.append(sql)
        args += bargs
    if not parts:
        return None
    return " UNION ALL ".join(parts), args


async def page_refs(
    db: aiosqlite.Connection, flt: Filter, *, anchor: int | None = None, offset: int = 0, limit: int = 100
) -> list[Ref]:
    """``limit`` records starting ``offset`` records past ``anchor`` (inclusive) in the filter's
    order: newest first from ``anchor`` down, or oldest first from ``anchor`` up."""
    desc = flt.newest_first
    extra, extra_args = range_clause(flt, None, anchor)
    compound = _compound(flt, extra, extra_args, page=True)
    if compound is None:
        return []
    sql, args = compound
    order = "DESC" if desc else "ASC"
    found = await rows(db, f"{sql} ORDER BY id {order} LIMIT ? OFFSET ?", [*args, limit, offset])
    return [Ref(CODE_KINDS[k], i) for i, k in found]


async def count(
    db: aiosqlite.Connection,
    flt: Filter,
    *,
    newer_than: int | None = None,
    up_to: int | None = None,
    cap: int | None = None,
) -> int:
    """How many records match (``newer_than``: only those listed before that id in the filter's
    order; ``up_to``: only that id and those listed after it). With ``cap``, counting stops
    there: a count the UI can afford at any store size."""
    extra, extra_args = range_clause(flt, newer_than, up_to)
    compound = _compound(flt, extra, extra_args)
    if compound is None:
        return 0
    sql, args = compound
    if cap is not None:
        row = await one(db, f"SELECT count(*) FROM (SELECT 1 FROM ({sql}) LIMIT ?)", [*args, cap])
    else:
        row = await one(db, f"SELECT count(*) FROM ({sql})", args)
    return int(row[0]) if row else 0


async def sparse_index(db: aiosqlite.Connection, flt: Filter, every: int = 1000) -> tuple[int, list[int]]:
    """``(total, anchors)``: the id of every ``every``-th record from the start, for jumps."""
    compound = _compound(flt)
    if compound is None:
        return 0, []
    sql, args = compound
    order = "DESC" if flt.newest_first else "ASC"
    found = await rows(
        db,
        f"SELECT id, rn FROM (SELECT id, row_number() OVER (ORDER BY id {order}) - 1 AS rn FROM ({sql}))"
        f" WHERE rn % ? = 0 ORDER BY rn",
        [*args, every],
    )
    total = await count(db, flt)
    return total, [i for i, _ in found]


async def fetch(db: aiosqlite.Connection, refs: Sequence[Ref]) -> list[Record]:
    """The records for ``refs``, in the same order."""
    got: dict[tuple[str, int], Record] = {}
    specs = record_specs()
    for kind, ids in ids_by_kind(refs).items():
        table, columns, make = specs[kind]
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            found = await rows(db, f"SELECT {columns} FROM {table} WHERE id IN ({','.join('?' * len(chunk))})", chunk)
            for row in found:
                got[(kind, row[0])] = make(row)
    return in_order(refs, got)


async def histogram(db: aiosqlite.Connection, flt: Filter, *, start_ms: int, end_ms: int, buckets: int) -> list[int]:
    """Records per time bucket in [start_ms, end_ms): the activity sparkline of the filter."""
    windowed, width = histogram_window(flt, start_ms, end_ms, buckets)
    compound = _compound(windowed)
    if compound is None:
        return [0] * buckets
    sql, args = compound
    found = await rows(
        db, f"SELECT {BUCKET_SQL} AS b, count(*) FROM ({sql}) GROUP BY b", [*bucket_args(start_ms, width), *args]
    )
    return fold_buckets(found, buckets)
