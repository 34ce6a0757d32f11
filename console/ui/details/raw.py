"""Raw JSON, pretty-printed and sanitised line by line, cut when very long."""

from __future__ import annotations

from typing import Any

import orjson
from rich.console import Group, RenderableType
from rich.style import Style
from rich.text import Text

from console.model.records import Decision, Gap, RoleChange
from console.model.sanitize import safe_text
from console.ui.details.context import _Ctx

#: Raw JSON beyond this many lines is cut (a channel with hundreds of overwrites).
RAW_MAX_LINES = 2000


def render_raw_json(raw: Any, ctx: _Ctx | None = None) -> RenderableType:
    """Raw JSON pretty-printed, each line sanitised (ESC, C1, bidi inside strings made visible)."""
    muted = ctx.style("muted") if ctx else Style(dim=True)
    if isinstance(raw, str | bytes):
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError:
            text_lines = (raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw).splitlines()
            return _raw_block(text_lines, muted)
    try:
        pretty = orjson.dumps(raw, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        pretty = repr(raw)
    return _raw_block(pretty.splitlines(), muted)


def _raw_block(lines: list[str], muted: Style) -> RenderableType:
    shown = [Text(safe_text(line, 1024), no_wrap=False) for line in lines[:RAW_MAX_LINES]]
    if len(lines) > RAW_MAX_LINES:
        shown.append(Text(f"… {len(lines) - RAW_MAX_LINES} more lines", muted))
    body = Text("\n").join(shown)
    body.overflow = "fold"
    return Group(Text("Raw JSON", Style(bold=True)), body)


def _record_dict(record: Decision | RoleChange | Gap) -> dict[str, Any]:
    return record._asdict()
