"""A gap in the collected log: what it means, how far it reaches, what backfill recovered, and what
is lost for good."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from console.model.records import Gap
from console.model.sanitize import safe_text
from console.model.snowflake import to_ms
from console.ui.details.context import REASON_MAX, _Ctx, _field_table, _plural, _state_style, _styled, _times
from console.ui.details.raw import _record_dict, render_raw_json


def _render_gap(g: Gap, ctx: _Ctx, *, show_raw: bool = False) -> RenderableType:
    """A gap: what it means, how far it reaches, what backfill recovered, what is lost for good."""
    head = _styled("GAP", ctx.style("gap", "bold"))
    head.append(f"  {safe_text(g.status, 16)}", _state_style(ctx, "failed" if g.status == "failed" else ""))
    head.append(f"  gap {g.id}", ctx.style("muted"))
    meaning = Text(safe_text(g.describe(), REASON_MAX), ctx.style("gap"))

    grid = _field_table()
    grid.add_row("Reason", Text(safe_text(g.reason, 64)))
    if g.from_id is not None:
        grid.add_row("From", _times(ctx, to_ms(g.from_id)))
        grid.add_row("", Text(f"after entry {g.from_id}", ctx.style("muted")))
    else:
        grid.add_row("From", Text("the beginning (nothing stored yet)", ctx.style("muted")))
    grid.add_row("Started", _times(ctx, g.started_at))
    grid.add_row("Detected", _times(ctx, g.detected_at))
    grid.add_row(
        "Ended",
        _times(ctx, g.ended_at) if g.ended_at is not None else Text("still open", ctx.style("gap")),
    )
    grid.add_row("Recovered", Text(_plural(g.recovered, "entry", "entries")))
    grid.add_row("Refreshed", Text(_plural(g.refreshed, "entry", "entries")))
    if g.beyond_retention_ms > 0:
        days = g.beyond_retention_ms / 86_400_000
        grid.add_row(
            "Lost",
            Text(
                f"{days:.1f} days beyond Discord's 45-day retention: cannot be recovered",
                ctx.style("danger", "bold"),
            ),
        )
    else:
        grid.add_row("Retention", Text("all of it within Discord's 45-day retention", ctx.style("muted")))
    grid.add_row("Status", Text(safe_text(g.status, 16)))
    if g.error:
        grid.add_row("Error", Text(safe_text(g.error, REASON_MAX), ctx.style("danger")))
    parts: list[RenderableType] = [head, meaning, grid]
    if show_raw:
        parts += [Text(""), render_raw_json(_record_dict(g), ctx)]
    return Group(*parts)
