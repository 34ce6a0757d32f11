"""The notes on a record, as the drawer shows them under the record's head line: each current
note's text (sanitised, plain), who wrote it and when, and whether it was edited."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.style import Style
from rich.text import Text

from console.model.notes import MAX_LENGTH, Note
from console.model.sanitize import safe_text
from console.ui.details.context import _Ctx, _times, _who

NOTE_MARK = "✎"


def _render_notes(notes: Sequence[Note], ctx: _Ctx) -> RenderableType:
    head = Text(f"Notes ({len(notes)})", Style(bold=True))
    head.append("  n adds or edits one", ctx.style("muted"))
    parts: list[RenderableType] = [head]
    for note in notes:
        line = Text()
        line.append(f"{NOTE_MARK} ", ctx.style("muted"))
        line.append(safe_text(note.text, MAX_LENGTH))
        by = Text("  by ", ctx.style("muted"))
        by.append_text(_who(ctx, "user", note.actor_id, fallback=note.actor_name))
        by.append(" · ", ctx.style("muted"))
        by.append_text(_times(ctx, note.created_at, local=False))
        if note.action == "edit":
            by.append(" · edited", ctx.style("muted"))
        parts += [line, by]
    return Group(*parts)


def with_notes(content: RenderableType, notes: Sequence[Note], ctx: _Ctx) -> RenderableType:
    """``content`` (a record's details) with its notes right under its head line, where a short
    drawer still shows them; unchanged when there are none."""
    if not notes:
        return content
    block = _render_notes(notes, ctx)
    if isinstance(content, Group):
        return Group(content.renderables[0], block, Text(""), *content.renderables[1:])
    return Group(block, Text(""), content)
