"""One timeline of every kind of record — audit entries, decisions, role changes, gaps — in id
(time) order. Every id is a snowflake, so the kinds interleave by id; a page is a compound
SELECT that SQLite merges from index-ordered branches, then the rows are fetched by id."""

from collections.abc import Sequence
from typing import Any

import aiosqlite

from console.model.filters import Filter
from console.model.records import Decision, Gap, RoleChange
from console.store import queries
from console.store.connection import one, rows
from console.store.results import Ref

KIND_CODES = {"audit": 0, "decision": 1, "role_change": 2, "gap": 3}
CODE_KINDS = {v: k for k, v in KIND_CODES.items()}
ENTRY_COLUMNS = "id, guild_id, action_type, actor_id, target_id, reason, created_at, received_at, source, raw, revision"


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _plain_words(flt: Filter) -> list[str]:
    return [w.strip('"*') for w in flt.text.split() if w.strip('"*')]


def _branch(kind: str, flt: Filter) -> tuple[str, list[Any], str] | None:
    """``SELECT id, <code> FROM …`` for one kind, or None when the filter excludes it."""
    if not flt.includes_kind(kind):
        return None
    where: list[str] = []
    args: list[Any] = []
    id_col = "id"
    if kind == "audit":
        where, args, match = queries.entry_where(flt)
        table = "audit_entries"
        if match is not None and not where:
            # Text alone: read the full-text index directly, in rowid (= id) order, so a page
            # or a capped count stops early instead of collecting every match first.
            table, id_col = "audit_fts", "rowid"
            where, args = ["audit_fts MATCH ?"], [match]
        elif match is not None:
            where.append("id IN (SELECT rowid FROM audit_fts WHERE audit_fts MATCH ?)")
            args.append(match)
    else:
        table = {"decision": "decisions", "role_change": "role_changes", "gap": "gaps"}[kind]
        if flt.guild_ids:
            queries._in("guild_id", flt.guild_ids, where, args)
        actor = {"decision": "actor_id", "role_change": "requested_by"}.get(kind)
        target = {"decision": "resource_id", "role_change": "member_id"}.get(kind)
        if flt.actor_ids and actor:
            queries._in(actor, flt.actor_ids, where, args)
        if flt.target_ids and target:
            queries._in(target, flt.target_ids, where, args)
        if kind == "decision":
            for column, values in (
                ("result", flt.results),
                ("reason_code", flt.reason_codes),
                ("capability", flt.capabilities),
                ("source", flt.sources),
            ):
                if values:
                    queries._in(column, values, where, args)
            for word in _plain_words(flt):
                where.append(
                    "(capability LIKE ? ESCAPE '\\' OR reason_code LIKE ? ESCAPE '\\' OR actor_name LIKE ? ESCAPE '\\')"
                )
                args += [_like(word)] * 3
        elif kind == "role_change":
            if flt.states:
                queries._in("state", flt.states, where, args)
            for word in _plain_words(flt):
                where.append("(reason LIKE ? ESCAPE '\\' OR error LIKE ? ESCAPE '\\')")
                args += [_like(word)] * 2
    low, high = queries.id_bounds(flt)
    bounds, bargs = queries._bounds(id_col, low, high)
    where += bounds
    args += bargs
    sql = f"SELECT {id_col} AS id, {KIND_CODES[kind]} AS k FROM {table}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return sql, args, id_col


def _compound(flt: Filter, extra: str = "", extra_args: Sequence[Any] = ()) -> tuple[str, list[Any]] | None:
    parts, args = [], []
    for kind in KIND_CODES:
        branch = _branch(kind, flt)
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
    extra, extra_args = "", []
    if anchor is not None:
        extra, extra_args = ("{id} <= ?" if desc else "{id} >= ?"), [anchor]
    compound = _compound(flt, extra, extra_args)
    if compound is None:
        return []
    sql, args = compound
    order = "DESC" if desc else "ASC"
    found = await rows(db, f"{sql} ORDER BY id {order} LIMIT ? OFFSET ?", [*args, limit, offset])
    return [Ref(CODE_KINDS[k], i) for i, k in found]


async def count(db: aiosqlite.Connection, flt: Filter, *, newer_than: int | None = None, cap: int | None = None) -> int:
    """How many records match (``newer_than``: only those listed before that id in the filter's
    order). With ``cap``, counting stops there: a count the UI can afford at any store size."""
    extra, extra_args = "", []
    if newer_than is not None:
        extra, extra_args = ("{id} > ?" if flt.newest_first else "{id} < ?"), [newer_than]
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


Record = Any  # StoredEntry | Decision | RoleChange | Gap


async def fetch(db: aiosqlite.Connection, refs: Sequence[Ref]) -> list[Record]:
    """The records for ``refs``, in the same order."""
    from console.model.stored import StoredEntry

    by_kind: dict[str, list[int]] = {}
    for ref in refs:
        by_kind.setdefault(ref.kind, []).append(ref.id)
    got: dict[tuple[str, int], Record] = {}
    specs = {
        "audit": ("audit_entries", ENTRY_COLUMNS, StoredEntry.from_row),
        "decision": ("decisions", Decision.COLUMNS, Decision.from_row),
        "role_change": ("role_changes", RoleChange.COLUMNS, RoleChange.from_row),
        "gap": ("gaps", Gap.COLUMNS, Gap.from_row),
    }
    for kind, ids in by_kind.items():
        table, columns, make = specs[kind]
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            found = await rows(db, f"SELECT {columns} FROM {table} WHERE id IN ({','.join('?' * len(chunk))})", chunk)
            for row in found:
                got[(kind, row[0])] = make(row)
    return [got[(r.kind, r.id)] for r in refs if (r.kind, r.id) in got]


async def histogram(db: aiosqlite.Connection, flt: Filter, *, start_ms: int, end_ms: int, buckets: int) -> list[int]:
    """Records per time bucket in [start_ms, end_ms): the activity sparkline of the filter."""
    from console.model.snowflake import DISCORD_EPOCH_MS

    span = max(1, end_ms - start_ms)
    width = max(1, -(-span // buckets))  # ceiling: the last instant of the range still fits
    windowed = flt.with_(since_ms=max(start_ms, flt.since_ms or start_ms), until_ms=min(end_ms, flt.until_ms or end_ms))
    compound = _compound(windowed)
    counts = [0] * buckets
    if compound is None:
        return counts
    sql, args = compound
    found = await rows(
        db,
        f"SELECT ((id >> 22) + ? - ?) / ? AS b, count(*) FROM ({sql}) GROUP BY b",
        [DISCORD_EPOCH_MS, start_ms, width, *args],
    )
    for bucket, n in found:
        if 0 <= bucket < buckets:
            counts[int(bucket)] += n
    return counts
