"""What every renderer shares: the context (names, styles, clock, zone), how ids are shown with
their names, and small styled-text helpers.

Names with a leading underscore are for the renderers in this package only; the rest of the
console calls :func:`console.ui.details.render_record`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import orjson
from rich.errors import StyleSyntaxError
from rich.style import Style
from rich.table import Table
from rich.text import Text

from console.model.naming import person
from console.model.sanitize import safe_text
from console.model.times import relative, short_local, utc_time

NameOf = Callable[[str, int | None], str | None]

#: Style used when a theme does not define a key (or defines one Rich cannot parse).
DEFAULT_STYLES: dict[str, str] = {
    "decision-allow": "green",
    "decision-deny": "red",
    "danger": "red",
    "diff-added": "green",
    "diff-removed": "red",
    "muted": "dim",
    "gap": "yellow",
}

EMPTY = "∅"
MINUS = "−"

#: Longest untrusted value shown in a table cell; reasons keep Discord's 512 cap.
VALUE_MAX = 200
NAME_MAX = 128  # role names may be 100 characters; escapes make them longer
REASON_MAX = 512


class _Ctx:
    """What every renderer needs: names, styles, the clock and the time zone for local times."""

    def __init__(self, name_of: NameOf, styles: Mapping[str, str], now_ms: int | None, tz: dt.tzinfo | None) -> None:
        self.name_of = name_of
        self._styles = styles
        self._cache: dict[str, Style] = {}
        self.now_ms = now_ms
        self.tz = tz

    def style(self, key: str, extra: str = "") -> Style:
        """The theme's style for ``key`` (plus ``extra`` such as ``"bold"``), or a safe default."""
        cache_key = f"{key}|{extra}"
        cached = self._cache.get(cache_key)
        if cached is not None:
            return cached
        base = Style.null()
        for candidate in (self._styles.get(key), DEFAULT_STYLES.get(key)):
            if not candidate:
                continue
            try:
                base = Style.parse(str(candidate))
                break
            except (StyleSyntaxError, ValueError):
                continue
        style = base + Style.parse(extra) if extra else base
        self._cache[cache_key] = style
        return style

    def name(self, kind: str, ident: int | None) -> str | None:
        """A cached name, tolerating a name_of that raises or returns a non-string."""
        if ident is None:
            return None
        try:
            value = self.name_of(kind, ident)
        except Exception:  # noqa: BLE001 - a broken name cache must not break the drawer
            return None
        return value if isinstance(value, str) and value else None


def _as_int(value: Any) -> int | None:
    """A snowflake or count from an int or a digit string; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit() and len(value) <= 20:
        return int(value)
    return None


def _compact(value: Any, limit: int = VALUE_MAX) -> str:
    """A raw value as one sanitised line: strings as they are, anything else as compact JSON."""
    if isinstance(value, str):
        return safe_text(value, limit)
    try:
        text = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        text = repr(value)
    return safe_text(text, limit)


def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {many or word + 's'}"


def _styled(text: str, style: Style) -> Text:
    """A Text whose first part is styled; unlike ``Text(text, style)`` what is appended later
    does not inherit the style."""
    out = Text()
    out.append(text, style)
    return out


def _lines(parts: Iterable[Text]) -> Text:
    """Join Text pieces into one multi-line Text."""
    return Text("\n").join(list(parts))


def _who(ctx: _Ctx, kind: str | None, ident: Any, *, prefix: str = "", fallback: str | None = None) -> Text:
    """``Name (id)`` with the id muted; ``id`` alone when no name is known; ``—`` for none."""
    text = Text()
    if ident is None or ident == "":
        text.append("—", ctx.style("muted"))
        text.append(" none", ctx.style("muted"))
        return text
    n = _as_int(ident)
    if kind == "user" and n is not None:
        # People are named as everywhere else (console.model.naming); ``fallback`` is the name
        # the record kept (a decision's actor).
        shown = person(ctx.name, n, recorded=fallback, max_len=NAME_MAX)
    else:
        name = (ctx.name(kind, n) if (kind and n is not None) else None) or fallback
        shown = safe_text(name, NAME_MAX) if name else None
    if shown:
        text.append(prefix + shown)
        text.append(f" ({safe_text(ident, 32)})", ctx.style("muted"))
    else:
        text.append(safe_text(ident, 32))
    return text


def _entity(ctx: _Ctx, kind: str | None, ident: Any) -> Text:
    """Any id with its cached name: roles as ``@Name``, channels as ``#name``."""
    if kind == "role":
        return _role(ctx, ident)
    return _who(ctx, kind, ident, prefix="#" if kind == "channel" else "")


def _role(ctx: _Ctx, ident: Any, name_then: str | None = None, guild_id: int | None = None) -> Text:
    """A role as ``@Name (id)``, preferring the name recorded with the entry; notes a rename."""
    if guild_id is not None and _as_int(ident) == guild_id:
        return _who(ctx, None, ident, fallback="@everyone")
    if not name_then:
        return _who(ctx, "role", ident, prefix="@")
    text = Text("@" + safe_text(name_then, NAME_MAX))
    text.append(f" ({safe_text(ident, 32)})", ctx.style("muted"))
    now = ctx.name("role", _as_int(ident))
    if now and now != name_then:
        text.append(f" now @{safe_text(now, NAME_MAX)}", ctx.style("muted"))
    return text


def _plain(ctx: _Ctx, value: Any, present: bool) -> Text:
    if not present:
        return Text(EMPTY, ctx.style("muted"))
    if value is None:
        return Text("null", ctx.style("muted"))
    if isinstance(value, str) and value == "":
        return Text('""', ctx.style("muted"))
    return Text(_compact(value))


def _field_table() -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    return grid


def _times(ctx: _Ctx, ms: int | None, *, local: bool = True) -> Text:
    """Exact UTC (with ms) and how long ago; the local time too when the zone is not UTC."""
    if ms is None:
        return Text("—", ctx.style("muted"))
    text = Text(utc_time(ms))
    rel = relative(ms, ctx.now_ms)
    if rel:
        text.append(f" ({rel})", ctx.style("muted"))
    short = short_local(ms, ctx.tz) if local else ""
    if short:
        text.append(f" · local {short}", ctx.style("muted"))
    return text


def _state_style(ctx: _Ctx, state: str) -> Style:
    if state == "confirmed":
        return ctx.style("decision-allow", "bold")
    if state in ("failed", "expired", "reverted"):
        return ctx.style("decision-deny", "bold")
    if state == "cancelled":
        return ctx.style("muted", "bold")
    return Style(bold=True)
