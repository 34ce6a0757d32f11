"""SQL for the feed, exports and names. Keyset pages on the snowflake id everywhere (time order),
so a page 500 000 deep costs what the first does; date ranges become id ranges."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from console.model.actions import ACTION_TYPES, action_category
from console.model.filters import Exclusions, Filter, fts_query
from console.model.snowflake import from_ms

#: SQLite's LIKE of a column (``{col}``) and one argument (``?``), case ignored for ASCII letters.
SQLITE_LIKE: Final = "{col} LIKE ? ESCAPE '\\'"


def like_pattern(text: str) -> str:
    """``text`` anywhere in a column, as a LIKE pattern (its own % and _ matched as themselves)."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class Marks:
    """The placeholders of one statement's arguments, collected in order: SQLite's ``?`` here,
    PostgreSQL's ``$n`` in its store's subclass. The filter's clauses are written once, for both."""

    #: An always-false condition.
    false = "0"
    #: The backend's spelling of SQLite's LIKE (:data:`SQLITE_LIKE`'s placeholders).
    like = SQLITE_LIKE

    def __init__(self, args: list[Any] | None = None, *, page: bool = False) -> None:
        """``page``: the clauses are for a page (read until it is full), not a count."""
        self.args: list[Any] = [] if args is None else args
        self.page = page

    def __call__(self, value: Any) -> str:
        """The placeholder of one more argument."""
        self.args.append(value)
        return "?"

    def within(self, column: str, values: Iterable[Any], *, negate: bool = False) -> str:
        """``column`` is (``negate``: is not) one of ``values``."""
        found = sorted(values)
        if len(found) == 1:
            return f"{column} {'<>' if negate else '='} {self(found[0])}"
        return f"{column} {'NOT IN' if negate else 'IN'} ({','.join(self(v) for v in found)})"

    def outside(self, column: str, values: Iterable[Any]) -> str:
        """``column`` is none of ``values``, or NULL (a NULL is no value it was asked to drop)."""
        return f"({self.within(column, values)}) IS NOT TRUE"

    def without_text(self, text: str) -> str | None:
        """Entries whose full text matches none of the terms of ``text`` (the query's ``-word``),
        or None when no term can match anything."""
        match = fts_query(text, any_term=True)
        if not match:
            return None
        if self.page:
            # A page stops once full: one probe of the index per entry it reads, instead of
            # collecting every match of a common word first (docs/performance.md, Q6).
            return (
                f"NOT EXISTS (SELECT 1 FROM audit_fts WHERE audit_fts MATCH {self(match)} AND rowid = audit_entries.id)"
            )
        # A count reads every entry: the matches are collected once, not probed for each entry.
        return f"id NOT IN (SELECT rowid FROM audit_fts WHERE audit_fts MATCH {self(match)})"


#: The two halves of "involving a member" (``Filter.member_ids``) for entries: what they did, and
#: what others did to them. Read apart, each walks its own index in id order (actor_id, id) /
#: (target_id, id); as one OR, the database collects and sorts every match before the first page.
MEMBER_SIDES = ("actor", "target")


def entry_clauses(flt: Filter, m: Marks, side: str | None = None) -> list[str]:
    """WHERE clauses for audit entries: every field of the filter but time and text (the
    excluded text is here: ``m`` knows the backend's full-text index). ``side`` (one of
    :data:`MEMBER_SIDES`): only that half of ``member_ids``; None: both, as one OR."""
    where: list[str] = []
    if not flt.includes_kind("audit"):
        where.append(m.false)
    entry_sources = sorted(flt.sources & {"gateway", "backfill"})
    if entry_sources:
        where.append(m.within("source", entry_sources))
    if flt.guild_ids:
        where.append(m.within("guild_id", flt.guild_ids))
    actions = set(flt.actions)
    if flt.categories:
        if "unknown" in flt.categories and not actions:
            where.append(_in_categories(flt.categories, m))
        else:
            # With explicit actions, keep those whose category was chosen; an undocumented value
            # (category "unknown") must survive an "unknown" category too.
            in_categories = {v for v, (_, cat) in ACTION_TYPES.items() if cat in flt.categories}
            actions = {a for a in actions if action_category(a) in flt.categories} if actions else in_categories
            if not actions:
                where.append(m.false)
    if actions:
        where.append(m.within("action_type", actions))
    if flt.actor_ids:
        where.append(m.within("actor_id", flt.actor_ids))
    if flt.target_ids:
        where.append(m.within("target_id", flt.target_ids))
    if flt.member_ids:
        if side == "actor":
            where.append(m.within("actor_id", flt.member_ids))
        elif side == "target":
            acted = m.within("actor_id", flt.member_ids, negate=True)
            where.append(f"{m.within('target_id', flt.member_ids)} AND (actor_id IS NULL OR {acted})")
        else:
            where.append(f"({m.within('actor_id', flt.member_ids)} OR {m.within('target_id', flt.member_ids)})")
    return where + note_clauses("audit", flt, m) + _entry_exclusions(flt.exclude, m)


def member_sides(flt: Filter) -> tuple[str | None, ...]:
    """The entry branches a timeline reads for ``flt``: both halves apart when it involves
    members (disjoint: an entry they did to themselves is theirs), else one."""
    return MEMBER_SIDES if flt.member_ids else (None,)


#: A note ``n`` that its record shows now: not a removal, superseded by no later note.
CURRENT_NOTE: Final = "n.action <> 'remove' AND NOT EXISTS (SELECT 1 FROM notes s WHERE s.supersedes = n.id)"


def note_text_ids(kind: str) -> str:
    """SQLite: the ids of records of ``kind`` whose current note matches a full-text query (the
    one argument, as :func:`fts_query` writes it)."""
    return (
        "SELECT n.record_id FROM notes_fts JOIN notes n ON n.id = notes_fts.rowid WHERE notes_fts MATCH ?"
        f" AND n.record_kind = '{kind}' AND {CURRENT_NOTE}"
    )


def note_clause(kind: str, words: Iterable[str], m: Marks, *, like: str | None = None) -> str:
    """Records of ``kind`` with a current note (not removed, not superseded by an edit) that holds
    any of ``words``, case ignored as SQLite's LIKE ignores it (``like``: its spelling, if not the
    marks')."""
    spelled = (like or m.like).format(col="n.text")
    likes = " OR ".join(spelled.replace("?", m(like_pattern(w))) for w in sorted(words))
    return f"id IN (SELECT n.record_id FROM notes n WHERE n.record_kind = '{kind}' AND {CURRENT_NOTE} AND ({likes}))"


def note_clauses(kind: str, flt: Filter, m: Marks, *, like: str | None = None) -> list[str]:
    """What ``note:`` keeps and ``-note:`` leaves out of records of ``kind``."""
    where = []
    if flt.note_words:
        where.append(note_clause(kind, flt.note_words, m, like=like))
    if flt.exclude.note_words:
        where.append("NOT " + note_clause(kind, flt.exclude.note_words, m, like=like))
    return where


def _in_categories(categories: frozenset[str], m: Marks) -> str:
    """The entry's action is in one of ``categories`` ("unknown": an undocumented action)."""
    known = {v for v, (_, cat) in ACTION_TYPES.items() if cat in categories}
    chosen = m.within("action_type", known) if known else None
    if "unknown" not in categories:
        return chosen or m.false
    unknown = m.within("action_type", ACTION_TYPES, negate=True)
    return f"({chosen} OR {unknown})" if chosen else unknown


def _entry_exclusions(ex: Exclusions, m: Marks) -> list[str]:
    """The clauses dropping what ``ex`` excludes; an entry without the column (no actor, no
    target) is never dropped by it."""
    where: list[str] = []
    for column, values in (
        ("guild_id", ex.guild_ids),
        ("action_type", ex.actions),
        ("actor_id", ex.actor_ids),
        ("target_id", ex.target_ids),
        ("source", ex.sources & {"gateway", "backfill"}),
    ):
        if values:
            where.append(m.outside(column, values))
    if ex.categories:
        where.append(f"NOT ({_in_categories(ex.categories, m)})")
    if ex.text:
        dropped = m.without_text(ex.text)
        if dropped:
            where.append(dropped)
    return where


def entry_where(flt: Filter, *, page: bool = False, side: str | None = None) -> tuple[list[str], list[Any], str | None]:
    """WHERE clauses for audit entries (without time bounds), plus the FTS query, if any
    (``page``: for a page, not a count: :meth:`Marks.without_text`; ``side``: see
    :func:`entry_clauses`)."""
    m = Marks(page=page)
    where = entry_clauses(flt, m, side)
    match = fts_query(flt.text) if flt.text else None
    return where, m.args, match or None


def id_bounds(flt: Filter, before: int | None = None, after: int | None = None) -> tuple[int | None, int | None]:
    """The filter's date range and the keyset cursor as one id range: [low, high)."""
    low = from_ms(flt.since_ms) if flt.since_ms is not None else None
    if after is not None:
        low = after + 1 if low is None else max(low, after + 1)
    high = from_ms(flt.until_ms) if flt.until_ms is not None else None
    if before is not None:
        high = before if high is None else min(high, before)
    return low, high


def bounds(column: str, low: int | None, high: int | None, m: Marks) -> list[str]:
    """``column`` within [low, high) (either end open when None)."""
    clauses = []
    if low is not None:
        clauses.append(f"{column} >= {m(low)}")
    if high is not None:
        clauses.append(f"{column} < {m(high)}")
    return clauses


def _bounds(column: str, low: int | None, high: int | None) -> tuple[list[str], list[int]]:
    m = Marks()
    return bounds(column, low, high, m), m.args


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
    where, args, match = entry_where(flt, page=True)
    low, high = id_bounds(flt, before, after)
    if order is None:
        if before is not None:
            order = "DESC"
        elif after is not None:
            order = "ASC"
        else:
            order = "DESC" if flt.newest_first else "ASC"
    if match is not None:
        # Ordering the FTS side by rowid (= entry id = time) keeps full-text pages index-fast.
        fb, fargs = _bounds("rowid", low, high)
        sub = "SELECT rowid FROM audit_fts WHERE audit_fts MATCH ?" + "".join(f" AND {b}" for b in fb)
        sub += f" ORDER BY rowid {order}"
        if not where:
            # Text alone: the page's worth of full-text matches, and the entries whose notes match
            # (few: people write them), of which the page is the first ``limit``.
            sub += " LIMIT ?"
            fargs = [*fargs, limit]
        where.append(f"(id IN ({sub}) OR id IN ({note_text_ids('audit')}))")
        args += [match, *fargs, match]
    b, bargs = _bounds("id", low, high)
    where += b
    args += bargs
    sql = f"SELECT {columns} FROM audit_entries"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY id {order} LIMIT ?"
    return sql, [*args, limit]


def entry_count(flt: Filter) -> tuple[str, list[Any]]:
    where, args, match = entry_where(flt)
    b, bargs = _bounds("id", *id_bounds(flt))
    where += b
    args += bargs
    if match is not None:
        where.append(
            f"(id IN (SELECT rowid FROM audit_fts WHERE audit_fts MATCH ?) OR id IN ({note_text_ids('audit')}))"
        )
        args += [match, match]
    sql = "SELECT count(*) FROM audit_entries"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return sql, args


_NAMES_OF_KIND = "SELECT kind, id, name FROM names WHERE kind = "
_IDS_PER_SELECT = 400
_ARGS_PER_STATEMENT = 900  # under 999, the limit of SQLite builds before 3.32


def names_by_key(wanted: Iterable[tuple[str, int]]) -> list[tuple[str, list[Any]]]:
    """Statements reading the names ``wanted`` (kind, id) and every guild's, each with its
    arguments: as few statements (trips to the database thread) as SQLite's limit on arguments
    allows.

    ``kind = ? AND id IN (…)`` searches the primary key; the row-value form
    ``(kind, id) IN (VALUES …)`` would scan the whole table, every member of a large guild."""
    by_kind: dict[str, set[int]] = {}
    for kind, ident in wanted:
        by_kind.setdefault(kind, set()).add(ident)
    selects: list[tuple[str, list[Any]]] = [(_NAMES_OF_KIND + "'guild'", [])]
    for kind in sorted(by_kind):
        ids = sorted(by_kind[kind])
        for start in range(0, len(ids), _IDS_PER_SELECT):
            part = ids[start : start + _IDS_PER_SELECT]
            selects.append((f"{_NAMES_OF_KIND}? AND id IN ({','.join('?' * len(part))})", [kind, *part]))
    statements: list[tuple[str, list[Any]]] = []
    sqls: list[str] = []
    args: list[Any] = []
    for sql, select_args in selects:
        if sqls and len(args) + len(select_args) > _ARGS_PER_STATEMENT:
            statements.append((" UNION ALL ".join(sqls), args))
            sqls, args = [], []
        sqls.append(sql)
        args += select_args
    statements.append((" UNION ALL ".join(sqls), args))
    return statements
