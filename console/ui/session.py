"""The console's session between runs: the last filter, bookmarks and pane layout per store, and
filters saved by name (the theme is remembered on its own). Kept in the state folder's
session.json (``session_state``); anything unreadable is ignored, never fatal.

A filter is kept field by field. An open-ended time window ("last 24h", ``since:7d``) is kept as
its length, so it still means "the last 24 hours" after a restart the next day.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from console.model.filters import SET_FIELDS, Exclusions, Filter

_ID_SETS = ("guild_ids", "actions", "actor_ids", "target_ids")


def _choices_to_json(flt: Filter | Exclusions) -> dict[str, Any]:
    out: dict[str, Any] = {name: sorted(getattr(flt, name)) for name in SET_FIELDS if getattr(flt, name)}
    if flt.text:
        out["text"] = flt.text
    if flt.note_words:
        out["note_words"] = sorted(flt.note_words)
    return out


def _choices_from_json(data: dict[str, Any]) -> dict[str, Any] | None:
    """The set fields, the text and the note words, or None when they are not what
    :func:`_choices_to_json` wrote."""
    values: dict[str, Any] = {}
    for name in SET_FIELDS:
        items = data.get(name) or []
        if not isinstance(items, list):
            return None
        kind = int if name in _ID_SETS else str
        values[name] = frozenset(kind(v) for v in items)
    text = data.get("text", "")
    note_words = data.get("note_words", [])
    if not isinstance(text, str) or not isinstance(note_words, list):
        return None
    return {**values, "text": text, "note_words": frozenset(str(w) for w in note_words)}


def filter_to_json(flt: Filter, now_ms: int) -> dict[str, Any]:
    out = _choices_to_json(flt)
    if not flt.exclude.is_empty:
        out["exclude"] = _choices_to_json(flt.exclude)
    if not flt.newest_first:
        out["newest_first"] = False
    if flt.since_ms is not None and flt.until_ms is None:
        out["last_ms"] = max(0, now_ms - flt.since_ms)
    else:
        if flt.since_ms is not None:
            out["since_ms"] = flt.since_ms
        if flt.until_ms is not None:
            out["until_ms"] = flt.until_ms
    return out


def filter_from_json(data: Any, now_ms: int) -> Filter | None:
    """The filter, or None when the saved data is not one (hand-edited, from another version)."""
    if not isinstance(data, dict):
        return None
    try:
        values = _choices_from_json(data)
        excluded = data.get("exclude", {})
        dropped = _choices_from_json(excluded) if isinstance(excluded, dict) else None
        newest = data.get("newest_first", True)
        if values is None or dropped is None or not isinstance(newest, bool):
            return None
        since, until = data.get("since_ms"), data.get("until_ms")
        if isinstance(data.get("last_ms"), int):
            since, until = now_ms - data["last_ms"], None
        for v in (since, until):
            if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
                return None
        return Filter(
            **values,
            exclude=Exclusions(**dropped),
            newest_first=newest,
            since_ms=since,
            until_ms=until,
        )
    except (TypeError, ValueError):
        return None


class Layout(NamedTuple):
    sidebar: bool | None = None  # None: decided by the terminal's width
    pending: bool | None = None
    sidebar_width: int | None = None
    drawer_height: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            k: v
            for k, v in (
                ("sidebar", self.sidebar),
                ("pending", self.pending),
                ("sidebar_width", self.sidebar_width),
                ("drawer_height", self.drawer_height),
            )
            if v is not None
        }

    @classmethod
    def from_json(cls, data: Any) -> Layout:
        if not isinstance(data, dict):
            return cls()

        def flag(key: str) -> bool | None:
            v = data.get(key)
            return v if isinstance(v, bool) else None

        def size(key: str, lo: int, hi: int) -> int | None:
            v = data.get(key)
            return v if isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi else None

        return cls(flag("sidebar"), flag("pending"), size("sidebar_width", 16, 60), size("drawer_height", 5, 200))


def view_of(session: dict[str, Any], store_key: str) -> dict[str, Any]:
    views = session.get("views")
    view = views.get(store_key) if isinstance(views, dict) else None
    return view if isinstance(view, dict) else {}


def with_view(session: dict[str, Any], store_key: str, view: dict[str, Any], keep: int = 20) -> dict[str, Any]:
    """``session`` with this store's view replaced; only the ``keep`` most recent stores stay."""
    stored = session.get("views")
    views = {k: v for k, v in stored.items() if k != store_key} if isinstance(stored, dict) else {}
    views[store_key] = view
    return {**session, "views": dict(list(views.items())[-keep:])}


def bookmarks_from_json(data: Any) -> set[tuple[str, int]]:
    out: set[tuple[str, int]] = set()
    if isinstance(data, list):
        for item in data[:10_000]:
            if (
                isinstance(item, list)
                and len(item) == 2
                and isinstance(item[0], str)
                and isinstance(item[1], int)
                and not isinstance(item[1], bool)
            ):
                out.add((item[0], item[1]))
    return out


def saved_filters(session: dict[str, Any]) -> dict[str, dict[str, Any]]:
    saved = session.get("saved_filters")
    return (
        {k: v for k, v in saved.items() if isinstance(k, str) and isinstance(v, dict)}
        if isinstance(saved, dict)
        else {}
    )
