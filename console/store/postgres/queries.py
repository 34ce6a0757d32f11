"""Filter → SQL for PostgreSQL: the clauses of ``console/store/queries.py`` (written once, for
both backends, over :class:`Marks`) with ``$n`` placeholders, full text through ``tsvector`` /
``tsquery`` (``fulltext.py``), the feed's keyset pages and counts. Date ranges are id ranges
(snowflakes), so a page deep in the history costs what the first does.

Building blocks for other queries (the timeline's): a :class:`PgMarks` collects the arguments of
one statement; :func:`entry_where` gives an entry filter's clauses and its text query;
:func:`text_ids` the full-text subquery; :func:`bounds` an id range."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from console.model.filters import Filter
from console.store.postgres import fulltext
from console.store.queries import CURRENT_NOTE, bounds, entry_clauses, id_bounds

__all__ = ["PgMarks", "bounds", "entry_count", "entry_page", "entry_where", "id_bounds", "names_by_key", "text_ids"]


class PgMarks(fulltext.TextMarks):
    """``$1``, ``$2``, … in the order the arguments are added; a set of values is one array
    argument (``column = ANY($n)``), so a statement's text does not change with their number."""

    def __call__(self, value: Any) -> str:
        self.args.append(value)
        return f"${len(self.args)}"

    def within(self, column: str, values: Iterable[Any], *, negate: bool = False) -> str:
        found = sorted(values)
        if len(found) == 1:
            return f"{column} {'<>' if negate else '='} {self(found[0])}"
        clause = f"{column} = ANY({self(found)})"
        return f"NOT ({clause})" if negate else clause


def entry_where(flt: Filter, m: PgMarks) -> tuple[list[str], str | None]:
    """WHERE clauses for audit entries (without time bounds; arguments added to ``m``), and the
    ``tsquery`` text of the filter's words, if any (a text that can match nothing is a ``false``
    clause instead)."""
    where = entry_clauses(flt, m)
    query = fulltext.tsquery(flt.text) if flt.text else None
    if query == fulltext.NOTHING:
        where.append(m.false)
        query = None
    return where, query


def text_ids(query: str, m: PgMarks, low: int | None = None, high: int | None = None, order: str = "") -> str:
    """``SELECT entry_id FROM audit_fts`` matching a ``tsquery`` text (from :func:`entry_where`),
    within the id range [low, high), in id ``order`` ("ASC"/"DESC") if given."""
    sql = f"SELECT entry_id FROM audit_fts WHERE doc @@ {m(query)}::tsquery"
    sql += "".join(f" AND {b}" for b in bounds("entry_id", low, high, m))
    return sql + (f" ORDER BY entry_id {order}" if order else "")


def note_text_ids(query: str, m: PgMarks, kind: str = "audit") -> str:
    """The ids of records of ``kind`` whose current note matches a ``tsquery`` text."""
    return (
        f"SELECT n.record_id FROM notes n WHERE n.doc @@ {m(query)}::tsquery AND n.record_kind = '{kind}'"
        f" AND {CURRENT_NOTE}"
    )


def entry_page(
    flt: Filter,
    *,
    before: int | None,
    after: int | None,
    limit: int,
    columns: str,
    order: str | None = None,
) -> tuple[str, list[Any]]:
    """One page: ``before`` pages towards older entries, ``after`` towards newer ones
    (``order``, ``"ASC"`` or ``"DESC"``, overrides that: an id range in a chosen order)."""
    m = PgMarks()
    where, query = entry_where(flt, m)
    low, high = id_bounds(flt, before, after)
    if order is None:
        if before is not None:
            order = "DESC"
        elif after is not None:
            order = "ASC"
        else:
            order = "DESC" if flt.newest_first else "ASC"
    if query is not None and not where:
        # Text alone: a page's worth of matching ids (in id = time order), and the entries whose
        # notes match (few: people write them), of which the page is the first ``limit``.
        where.append(
            f"(id IN ({text_ids(query, m, low, high, order)} LIMIT {m(limit)}) OR id IN ({note_text_ids(query, m)}))"
        )
    elif query is not None:
        where.append(f"(id IN ({text_ids(query, m, low, high)}) OR id IN ({note_text_ids(query, m)}))")
    where += bounds("id", low, high, m)
    sql = f"SELECT {columns} FROM audit_entries"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY id {order} LIMIT {m(limit)}"
    return sql, m.args


def entry_count(flt: Filter) -> tuple[str, list[Any]]:
    m = PgMarks()
    where, query = entry_where(flt, m)
    low, high = id_bounds(flt)
    if query is not None and not where:
        # Text alone: the full-text matches counted off their own index, plus the entries found
        # by their notes alone.
        only_notes = (
            f"SELECT count(*) FROM audit_entries WHERE id IN ({note_text_ids(query, m)})"
            " AND NOT EXISTS (SELECT 1 FROM audit_fts f WHERE f.entry_id = audit_entries.id"
            f" AND f.doc @@ {m(query)}::tsquery)" + "".join(f" AND {b}" for b in bounds("id", low, high, m))
        )
        return f"SELECT (SELECT count(*) FROM ({text_ids(query, m, low, high)}) AS f) + ({only_notes})", m.args
    where += bounds("id", low, high, m)
    if query is not None:
        where.append(f"(id IN ({text_ids(query, m)}) OR id IN ({note_text_ids(query, m)}))")
    sql = "SELECT count(*) FROM audit_entries"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return sql, m.args


def names_by_key(wanted: Iterable[tuple[str, int]]) -> tuple[str, list[Any]]:
    """One statement reading the names ``wanted`` (kind, id) and every guild's: per kind, its ids
    as one array (``kind = $1 AND id = ANY($2)`` searches the primary key)."""
    by_kind: dict[str, set[int]] = {}
    for kind, ident in wanted:
        by_kind.setdefault(kind, set()).add(ident)
    m = PgMarks()
    select = "SELECT kind, id, name FROM names WHERE kind = "
    selects = [select + "'guild'"]
    for kind in sorted(by_kind):
        selects.append(f"{select}{m(kind)} AND id = ANY({m(sorted(by_kind[kind]))})")
    return " UNION ALL ".join(selects), m.args
