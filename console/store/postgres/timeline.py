"""The one timeline of every kind of record on PostgreSQL: the SQL of its pages, counts, jump index
and activity histogram (``browse.py`` runs it). Same semantics as the SQLite store's
``console/store/timeline.py``; what a filter keeps comes from the same neutral code
(``queries.entry_where``, ``timeline_filter.record_where``), full text from ``fulltext.py``.

Why the SQL looks as it does: every kind's branch is ordered by id and limited on its own
(``(SELECT … ORDER BY id DESC LIMIT n)``), so each reads at most ``n`` rows off an index whatever
the store's size or the page's depth, and the outer ORDER BY sorts at most four times ``n`` rows.
A capped count limits each branch the same way. Placeholders are written ``?`` (as the shared
clauses are) and numbered ``$n`` once the statement is whole."""

from __future__ import annotations

from typing import Any

from console.model.filters import Filter
from console.store import queries
from console.store.postgres import fulltext
from console.store.postgres.placeholders import numbered
from console.store.timeline_filter import (
    BUCKET_SQL,
    KIND_CODES,
    TABLES,
    bucket_args,
    histogram_window,
    range_clause,
    record_where,
)

Statement = tuple[str, list[Any]]


def entry_clauses(flt: Filter, side: str | None = None) -> tuple[list[str], list[Any], str | None] | None:
    """WHERE clauses for audit entries (``?`` placeholders, no time bounds: the shared
    ``queries.entry_clauses``) and the tsquery text of the filter's words, if any; None when the
    words can match nothing."""
    m = fulltext.TextMarks()
    where = queries.entry_clauses(flt, m, side)
    query = fulltext.tsquery(flt.text) if flt.text else None
    if query == fulltext.NOTHING:
        return None
    return where, m.args, query


def _branch(
    kind: str, flt: Filter, extra: str, extra_args: list[Any], side: str | None = None
) -> tuple[str, list[Any], str] | None:
    """``SELECT id, <code> FROM …`` for one kind and its id column, or None when the filter
    excludes the kind. ``extra``: a condition on ``{id}`` (the cursor); ``side``: for entries, one
    side of the members (``queries.member_sides``)."""
    if not flt.includes_kind(kind):
        return None
    table, id_col = TABLES[kind], "id"
    if kind == "audit":
        clauses = entry_clauses(flt, side)
        if clauses is None:
            return None
        where, args, query = clauses
        if query is not None and not where:
            # Words alone: the full-text table itself, walked by its key (= entry id) when the
            # words are common, or through its GIN index when they are rare (the planner picks).
            table, id_col = "audit_fts", "entry_id"
            where, args = ["doc @@ ?::tsquery"], [query]
        elif query is not None:
            where.append(
                "EXISTS (SELECT 1 FROM audit_fts f WHERE f.entry_id = audit_entries.id AND f.doc @@ ?::tsquery)"
            )
            args.append(query)
    else:
        where, args = record_where(kind, flt, like=fulltext.PG_LIKE)
    bounds, bargs = queries._bounds(id_col, *queries.id_bounds(flt))
    where = [*where, *bounds]
    args = [*args, *bargs]
    if extra:
        where.append(extra.replace("{id}", id_col))
        args += extra_args
    sql = f"SELECT {id_col} AS id, {KIND_CODES[kind]} AS k FROM {table}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return sql, args, id_col


def _note_arm(flt: Filter, extra: str, extra_args: list[Any]) -> tuple[str, list[Any], str] | None:
    """The audit entries the filter's words find in their notes and not in themselves (the audit
    branch has those): few, as notes are, read by id."""
    clauses = entry_clauses(flt) if flt.includes_kind("audit") else None
    if clauses is None or clauses[2] is None:
        return None
    where, args, query = clauses
    where = [
        *where,
        "id IN (SELECT n.record_id FROM notes n WHERE n.doc @@ ?::tsquery AND n.record_kind = 'audit'"
        f" AND {queries.CURRENT_NOTE})",
        "NOT EXISTS (SELECT 1 FROM audit_fts f WHERE f.entry_id = audit_entries.id AND f.doc @@ ?::tsquery)",
    ]
    args = [*args, query, query]
    bounds, bargs = queries._bounds("id", *queries.id_bounds(flt))
    where += bounds
    args += bargs
    if extra:
        where.append(extra.replace("{id}", "id"))
        args += extra_args
    return f"SELECT id, {KIND_CODES['audit']} AS k FROM audit_entries WHERE " + " AND ".join(where), args, "id"


def _branches(flt: Filter, extra: str = "", extra_args: list[Any] | None = None) -> list[tuple[str, list[Any], str]]:
    found = [
        _branch(kind, flt, extra, extra_args or [], side)
        for kind in KIND_CODES
        for side in (queries.member_sides(flt) if kind == "audit" else (None,))
    ]
    found.append(_note_arm(flt, extra, extra_args or []))
    return [b for b in found if b is not None]


def page(flt: Filter, *, anchor: int | None, offset: int, limit: int) -> Statement | None:
    """``limit`` records from ``offset`` past ``anchor`` (inclusive) in the filter's order."""
    order = "DESC" if flt.newest_first else "ASC"
    branches = _branches(flt, *range_clause(flt, None, anchor))
    if not branches:
        return None
    parts, args = [], []
    for sql, bargs, id_col in branches:
        parts.append(f"({sql} ORDER BY {id_col} {order} LIMIT ?)")
        args += [*bargs, offset + limit]
    union = " UNION ALL ".join(parts)
    return numbered(f"SELECT id, k FROM ({union}) t ORDER BY id {order} LIMIT ? OFFSET ?"), [*args, limit, offset]


def count(
    flt: Filter, *, newer_than: int | None = None, up_to: int | None = None, cap: int | None = None
) -> Statement | None:
    """How many records match (``newer_than``: those before it in the filter's order; ``up_to``:
    that id and those after it), at most ``cap`` (each branch stops there)."""
    extra, extra_args = range_clause(flt, newer_than, up_to)
    branches = _branches(flt, extra, extra_args)
    if not branches:
        return None
    parts, args = [], []
    for sql, bargs, _ in branches:
        if cap is None:
            parts.append(f"SELECT count(*) AS n FROM ({sql}) b")
            args += bargs
        else:
            parts.append(f"SELECT count(*) AS n FROM ({sql} LIMIT ?) b")
            args += [*bargs, cap]
    total = f"SELECT sum(n)::bigint FROM ({' UNION ALL '.join(parts)}) t"
    if cap is not None:
        total = f"SELECT least(({total}), ?::bigint)"
        args.append(cap)
    return numbered(total), args


def _union(flt: Filter) -> Statement | None:
    branches = _branches(flt)
    if not branches:
        return None
    return " UNION ALL ".join(sql for sql, _, _ in branches), [a for _, bargs, _ in branches for a in bargs]


def sparse_index(flt: Filter, every: int) -> Statement | None:
    """The id of every ``every``-th record from the start, in order."""
    union = _union(flt)
    if union is None:
        return None
    sql, args = union
    order = "DESC" if flt.newest_first else "ASC"
    return numbered(
        f"SELECT id FROM (SELECT id, row_number() OVER (ORDER BY id {order}) - 1 AS rn FROM ({sql}) t) r"
        f" WHERE rn % ? = 0 ORDER BY rn"
    ), [*args, every]


def histogram(flt: Filter, *, start_ms: int, end_ms: int, buckets: int) -> Statement | None:
    """(bucket, count) rows of the records in [start_ms, end_ms), buckets of equal width."""
    windowed, width = histogram_window(flt, start_ms, end_ms, buckets)
    union = _union(windowed)
    if union is None:
        return None
    sql, args = union
    return numbered(f"SELECT {BUCKET_SQL} AS b, count(*) FROM ({sql}) t GROUP BY b"), [
        *bucket_args(start_ms, width),
        *args,
    ]
