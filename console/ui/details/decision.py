"""A policy decision: result and reason, capability, resource, the actor's context and the
decision path step by step."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Group, RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text

from console.model.records import Decision
from console.model.sanitize import safe_text
from console.ui.details.context import VALUE_MAX, _compact, _Ctx, _field_table, _role, _styled, _times, _who
from console.ui.details.raw import _record_dict, render_raw_json

DECIDED_MARK = "▶"


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _resource(ctx: _Ctx, rtype: str, rid: int | None) -> Text:
    text = _styled(safe_text(rtype, 32), Style(bold=True))
    if rid is None:
        return text
    text.append(" ")
    kind = {"guild": "guild", "category": "channel", "channel": "channel", "role": "role"}.get(rtype)
    prefix = "@" if kind == "role" else "#" if kind == "channel" and rtype == "channel" else ""
    text.append_text(_who(ctx, kind, rid, prefix=prefix))
    return text


def _step_value(value: Any) -> str:
    return _compact(value, VALUE_MAX)


def _render_decision(d: Decision, ctx: _Ctx, *, show_raw: bool = False) -> RenderableType:
    """A policy decision: result, reason, capability, resource, actor context and the path."""
    allow = str(d.result).upper() == "ALLOW"
    result_style = ctx.style("decision-allow" if allow else "decision-deny", "bold")
    head = _styled("DECISION ", Style(bold=True))
    head.append(safe_text(str(d.result).upper(), 16), result_style)
    head.append("  ")
    head.append(safe_text(d.reason_code, 48), Style(bold=True))
    head.append(f"  decision {d.id}", ctx.style("muted"))

    grid = _field_table()
    grid.add_row("Capability", Text(safe_text(d.capability, 64)))
    grid.add_row("Resource", _resource(ctx, d.resource_type, d.resource_id))
    grid.add_row("Source", Text(safe_text(d.source, 16)))
    grid.add_row("Time", _times(ctx, d.created_at))
    actor = _who(ctx, "user", d.actor_id, fallback=d.actor_name)
    grid.add_row("Actor", actor)
    # The actor's context comes after the path: in a short drawer the step that decided is what a
    # moderator looks for first, and a long name (display name, username and id) takes two lines.
    context = _field_table()
    context.columns[0].min_width = len("Capability")  # aligned with the fields above
    roles = [_role(ctx, r, guild_id=d.guild_id) for r in d.actor_roles or ()]
    context.add_row("Roles", Text(", ").join(roles) if roles else Text("none", ctx.style("muted")))
    flags = _styled(f"admin {_yes_no(d.actor_admin)}", ctx.style("danger") if d.actor_admin else Style())
    flags.append(" · ", ctx.style("muted"))
    flags.append(f"owner {_yes_no(d.actor_owner)}", ctx.style("danger") if d.actor_owner else Style())
    context.add_row("", flags)
    context.add_row("Policy", Text(safe_text(d.policy_version, 64)))

    parts: list[RenderableType] = [head, grid, Text(""), Text("Decision path", Style(bold=True))]
    parts += [_path(ctx, d.path, result_style), Text(""), context]
    if show_raw:
        parts += [Text(""), render_raw_json(_record_dict(d), ctx)]
    return Group(*parts)


def _path(ctx: _Ctx, path: Any, decided_style: Style) -> RenderableType:
    if not isinstance(path, list) or not path:
        return Text("no steps recorded", ctx.style("muted"))
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True)  # marker + number
    table.add_column(overflow="fold")
    for i, step in enumerate(path, 1):
        if not isinstance(step, Mapping):
            table.add_row(Text(f"  {i}."), Text(_step_value(step)))
            continue
        decided = step.get("decided") is True
        num = Text(f"{DECIDED_MARK} {i}." if decided else f"  {i}.", decided_style if decided else Style())
        body = Text()
        body.append(safe_text(step.get("step", "?"), 80), Style(bold=True))
        if "found" in step:
            body.append(" → ", ctx.style("muted"))
            body.append(_step_value(step["found"]))
        if decided:
            body.append("  ◀ decided", decided_style)
        # "outcome" repeats the decided mark; the gate's "detail" is the resolver's own steps.
        extras = [(k, v) for k, v in step.items() if k not in ("step", "found", "decided", "outcome") and v is not None]
        for k, v in extras:
            if k == "detail" and isinstance(v, list):
                for line in v:
                    body.append("\n  · ", ctx.style("muted"))
                    body.append(_step_value(line))
                continue
            body.append(f"\n{safe_text(k, 32)}: ", ctx.style("muted"))
            body.append(_step_value(v))
        table.add_row(num, body)
    return table
