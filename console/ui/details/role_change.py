"""A role change (grant or revoke): who and what, its state, linked records, the audit message and
the attempts timeline."""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Group, RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text

from console.model.records import Attempt, RoleChange
from console.model.sanitize import safe_text
from console.model.snowflake import to_ms
from console.model.times import utc_time
from console.ui.details.context import (
    MINUS,
    REASON_MAX,
    VALUE_MAX,
    _Ctx,
    _field_table,
    _lines,
    _role,
    _state_style,
    _styled,
    _times,
    _who,
)
from console.ui.details.raw import _record_dict, render_raw_json


def _render_role_change(
    rc: RoleChange, ctx: _Ctx, *, attempts: Sequence[Attempt] = (), show_raw: bool = False
) -> RenderableType:
    """A grant or revoke: who, what, its state, linked records and the attempts timeline."""
    op = str(rc.op).lower()
    grant = op in ("grant", "add", "+")
    op_label = "Grant" if grant else "Revoke" if op in ("revoke", "remove", "-", MINUS) else safe_text(rc.op, 16)
    head = _styled("ROLE CHANGE ", Style(bold=True))
    head.append(op_label, ctx.style("diff-added" if grant else "diff-removed", "bold"))
    head.append(" ")
    head.append_text(_role(ctx, rc.role_id, guild_id=rc.guild_id))
    head.append("  ")
    head.append(safe_text(rc.state, 24), _state_style(ctx, rc.state))
    head.append(f"  change {rc.id}", ctx.style("muted"))

    grid = _field_table()
    grid.add_row("Member", _who(ctx, "user", rc.member_id))
    grid.add_row("Role", _role(ctx, rc.role_id, guild_id=rc.guild_id))
    grid.add_row("Op", Text(op_label))
    grid.add_row("State", Text(safe_text(rc.state, 24), _state_style(ctx, rc.state)))
    grid.add_row(
        "Reason",
        Text(safe_text(rc.reason, REASON_MAX)) if rc.reason else Text("no reason given", ctx.style("muted")),
    )
    grid.add_row("Requested by", _who(ctx, "user", rc.requested_by))
    grid.add_row("Source", Text(safe_text(rc.source, 16)))
    grid.add_row("Created", _times(ctx, rc.created_at))
    grid.add_row("Updated", _times(ctx, rc.updated_at))
    if rc.observed_at is not None:
        grid.add_row("Observed", _times(ctx, rc.observed_at))
    grid.add_row("Attempts", Text(str(rc.attempts)))
    if rc.next_attempt_at is not None and not rc.final:
        grid.add_row("Next attempt", _times(ctx, rc.next_attempt_at))
    if rc.deadline_at is not None:
        grid.add_row("Deadline", _times(ctx, rc.deadline_at))
    if rc.error:
        grid.add_row("Error", Text(safe_text(rc.error, REASON_MAX), ctx.style("danger")))
    if rc.cancelled_by is not None:
        grid.add_row("Cancelled by", _who(ctx, "user", rc.cancelled_by))
    grid.add_row("Decision", _link(ctx, "decision", rc.decision_id))
    grid.add_row("Audit entry", _link(ctx, "entry", rc.linked_entry_id))
    grid.add_row("Audit message", _message_status(ctx, rc))

    parts: list[RenderableType] = [head, grid, Text(""), Text("Attempts", Style(bold=True))]
    parts.append(_attempts(ctx, attempts))
    if show_raw:
        parts += [Text(""), render_raw_json(_record_dict(rc), ctx)]
    return Group(*parts)


def _message_status(ctx: _Ctx, rc: RoleChange) -> Text:
    """Where the audit message stands: a failure stays visible until it is posted."""
    state = getattr(rc, "message_state", None)
    if state == "posted":
        return Text(f"posted (message {safe_text(rc.message_id, 32)})" if rc.message_id else "posted")
    if state == "failed":
        return Text(
            f"not posted, retrying: {safe_text(getattr(rc, 'message_error', None) or '?', 200)}", ctx.style("danger")
        )
    if state == "pending":
        return Text("to be posted")
    return Text("none (no audit channel set)" if rc.final else "when final", ctx.style("muted"))


def _link(ctx: _Ctx, label: str, ident: int | None) -> Text:
    if ident is None:
        return Text("none", ctx.style("muted"))
    text = Text(f"{label} {ident}")
    if label == "entry" or label == "decision":
        text.append(f"  {utc_time(to_ms(ident))}", ctx.style("muted"))
    return text


def _attempts(ctx: _Ctx, attempts: Sequence[Attempt]) -> RenderableType:
    """The attempts timeline: time, HTTP status, latency, then what was observed or went wrong.

    Narrow columns stay on one line; only the last column wraps, so it reads at any width.
    """
    if not attempts:
        return Text("no attempts yet", ctx.style("muted"))
    ordered = sorted(attempts, key=lambda a: (a.at, a.id))
    days = {utc_time(a.at)[:10] for a in ordered}
    one_day = len(days) == 1
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style=Style(bold=True))
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column(f"UTC {next(iter(days))}" if one_day else "UTC", no_wrap=True)
    table.add_column("HTTP", justify="right", no_wrap=True)
    table.add_column("Latency", justify="right", no_wrap=True)
    table.add_column("Observed / error", overflow="fold", ratio=1, min_width=12)
    for i, a in enumerate(ordered, 1):
        if a.http_status is None:
            status = Text("—", ctx.style("muted"))
        else:
            ok = 200 <= a.http_status < 300
            status = Text(str(a.http_status), ctx.style("decision-allow" if ok else "decision-deny"))
        when = utc_time(a.at)[:-4]  # drop " UTC": the header says so
        outcome: list[Text] = []
        if a.observed:
            outcome.append(Text(safe_text(a.observed, VALUE_MAX)))
        if a.error:
            outcome.append(Text(safe_text(a.error, VALUE_MAX), ctx.style("danger")))
        table.add_row(
            Text(str(i)),
            Text(when[11:] if one_day else when[5:]),
            status,
            Text("—", ctx.style("muted")) if a.latency_ms is None else Text(f"{a.latency_ms} ms"),
            _lines(outcome) if outcome else Text("—", ctx.style("muted")),
        )
    return table
