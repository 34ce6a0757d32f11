"""Permission bitfields as flag diffs: removed flags before, added flags after, dangerous ones
marked, unknown bits kept."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.style import Style
from rich.text import Text

from console.model import permissions as perms
from console.ui.details.context import MINUS, _Ctx, _lines, _plain

DANGER_MARK = "⚠"


def _flag_lines(ctx: _Ctx, names: Sequence[str], bits: Sequence[int], sign: str) -> list[Text]:
    """``+NAME`` / ``−NAME`` one per line; dangerous flags marked, unknown bits kept."""
    diff_style = ctx.style("diff-added" if sign == "+" else "diff-removed")
    out: list[Text] = []
    for flag in names:
        line = Text()
        if flag in perms.DANGEROUS:
            line.append(f"{sign}{flag} {DANGER_MARK}", ctx.style("danger", "bold"))
        else:
            line.append(f"{sign}{flag}", diff_style)
        out.append(line)
    for bit in bits:
        out.append(Text(f"{sign}bit {bit}", diff_style + Style(italic=True)))
    return out


def _bits(value: Any) -> int | None:
    try:
        return perms.parse_bits(value)
    except ValueError:
        return None


def _permission_cells(ctx: _Ctx, old: Any, new: Any) -> tuple[Text, Text]:
    """Before: the flags that were removed; after: the flags that were added."""
    o, n = _bits(old), _bits(new)
    if (old is not None and o is None) or (new is not None and n is None):
        # Not a bitfield after all: show what Discord sent.
        return _plain(ctx, old, True), _plain(ctx, new, True)
    d = perms.diff(o, n)
    if d.empty:
        same = Text("no change", ctx.style("muted"))
        return same, same.copy()
    before = _flag_lines(ctx, d.removed, d.unknown_bits_removed, MINUS)
    after = _flag_lines(ctx, d.added, d.unknown_bits_added, "+")
    return (
        _lines(before) if before else Text("", ctx.style("muted")),
        _lines(after) if after else Text("", ctx.style("muted")),
    )
