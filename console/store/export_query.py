"""``export --query``: the search bar's query language (model/query.py) for the command line.

Names (``actor:alice``) resolve against the store's ``names`` table; ``role:`` expands to the
members holding the role in the stored guild state and ``is:bot`` to the bot accounts in it, as
the TUI's search bar does. The query ANDs
with the other filter flags: a field set by both narrows to what both allow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import orjson

from console.model import filters, members
from console.model.filters import Filter
from console.model.query import QueryError, parse
from console.store.export_sql import SQLITE_SQL, ExportSql


def narrow(base: Filter, extra: Filter) -> Filter:
    """``base`` AND ``extra`` (the app's find rule); QueryError when a field would match nothing."""
    try:
        return filters.narrow(base, extra, strict=True)
    except filters.EmptyNarrowing as e:
        # An empty set would mean "any": say so rather than export everything.
        raise QueryError(f"the query's {e} and the flags' have nothing in common", 0) from None


def _members(db: Any, guild_ids: frozenset[int], pick: Callable[[dict[str, Any]], set[int]]) -> frozenset[int]:
    """The members ``pick`` chooses from each stored guild state (of ``guild_ids``, if any)."""
    found: set[int] = set()
    for gid, snapshot in db.execute("SELECT guild_id, snapshot FROM guild_state"):
        if guild_ids and gid not in guild_ids:
            continue
        try:
            state = orjson.loads(snapshot)
        except orjson.JSONDecodeError:
            continue
        if isinstance(state, dict):
            found |= pick(state)
    return frozenset(found)


def query_filter(db: Any, text: str, *, now_ms: int, base: Filter, sql: ExportSql = SQLITE_SQL) -> Filter:
    """``base`` narrowed by the query ``text``. Raises QueryError (with the column) on a bad query.
    ``db``: a read-only connection of the export's (``sql``: its backend's)."""

    def resolve(kind: str, name: str) -> list[int]:
        rows = db.execute(f"SELECT id FROM names WHERE kind = ? AND {sql.same_name}", (kind, name))
        return [int(r[0]) for r in rows]

    parsed = parse(text, now_ms=now_ms, resolve=resolve, base=Filter(newest_first=base.newest_first))
    guilds = parsed.filter.guild_ids | base.guild_ids
    if parsed.actor_role_ids:
        holding = _members(db, guilds, lambda state: members.holding(state, parsed.actor_role_ids))
        if not holding:
            raise QueryError("role: nobody holds that role in the stored guild state", max(0, text.find("role:")))
        actors = parsed.filter.actor_ids
        parsed = replace(parsed, filter=parsed.filter.with_(actor_ids=actors & holding if actors else holding))
    excluded = parsed.excluded_role_ids
    flt = parsed.with_people(
        _members(db, guilds, lambda state: members.holding(state, excluded)) if excluded else frozenset(),
        _members(db, guilds, members.bots) if parsed.bots is not None else frozenset(),
    )
    combined = narrow(base, flt)
    if combined.since_ms is not None and combined.until_ms is not None and combined.since_ms >= combined.until_ms:
        raise QueryError("since must be before until (with --since/--until)", 0)
    return combined
