"""An audit entry: header, fields (time, actor, target, reason, source, overwrite), the changes
table, the options and, on request, the raw JSON."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.style import Style
from rich.text import Text

from console.model import entry as entries
from console.model.actions import action_category, action_name, target_kind
from console.model.sanitize import safe_text
from console.model.snowflake import to_ms
from console.model.stored import StoredEntry
from console.model.times import local_time, utc_time
from console.ui.details.changes import _changes_table, _overwrite_target
from console.ui.details.context import (
    REASON_MAX,
    _as_int,
    _compact,
    _Ctx,
    _entity,
    _field_table,
    _plural,
    _styled,
    _times,
    _who,
)
from console.ui.details.raw import render_raw_json

TRIGGER_TYPES: dict[str, str] = {
    "1": "KEYWORD",
    "3": "SPAM",
    "4": "KEYWORD_PRESET",
    "5": "MENTION_SPAM",
    "6": "MEMBER_PROFILE",
}


def _option_rows(ctx: _Ctx, e: entries.AuditEntry) -> list[tuple[Text, Text]]:
    opts = e.options or {}
    rows: list[tuple[Text, Text]] = []
    for key, value in opts.items():
        k = str(key)
        if k == "channel_id":
            shown = _entity(ctx, "channel", value)
        elif k == "id" and e.action_type in (13, 14, 15):
            kind = "user" if str(opts.get("type")) == "1" else "role"
            shown = _entity(ctx, kind, value)
        elif k == "type" and e.action_type in (13, 14, 15):
            shown = Text({"0": "0 role", "1": "1 member"}.get(str(value), _compact(value)))
        elif k == "delete_member_days":
            n = _as_int(value)
            shown = Text(_plural(n, "day") if n is not None else _compact(value))
        elif k == "auto_moderation_rule_trigger_type":
            label = TRIGGER_TYPES.get(str(value))
            shown = Text(f"{safe_text(value, 8)} {label}" if label else _compact(value))
        elif k == "message_id":
            shown = Text(_compact(value))
        elif value is None:
            shown = Text("null", ctx.style("muted"))
        else:
            shown = Text(_compact(value))
        rows.append((Text(safe_text(k, 48)), shown))
    return rows


def _header(ctx: _Ctx, action_type: int, entry_id: int) -> Text:
    category = action_category(action_type)
    head = _styled(action_name(action_type), ctx.style(f"action-{category}", "bold"))
    head.append(f"  {category}", ctx.style("muted"))
    head.append(f"  entry {entry_id}", ctx.style("muted"))
    return head


def _render_audit(
    record: StoredEntry | entries.AuditEntry,
    ctx: _Ctx,
    *,
    show_raw: bool = False,
) -> RenderableType:
    """An audit entry: header, before/after table of every change, options, raw JSON on request."""
    stored = record if isinstance(record, StoredEntry) else None
    parsed: entries.AuditEntry | None
    problem: str | None = None
    raw: Any = None
    if isinstance(record, entries.AuditEntry):
        parsed, raw = record, record.raw
    else:
        try:
            raw = record.raw
            parsed = entries.parse_entry(raw, record.guild_id)
        except (entries.MalformedEntry, ValueError, TypeError) as err:
            parsed, problem = None, str(err)
    action_type = parsed.action_type if parsed else record.action_type
    entry_id = parsed.id if parsed else record.id
    parts: list[RenderableType] = [_header(ctx, action_type, entry_id)]

    fields = _field_table()
    fields.add_row("Time", _times(ctx, to_ms(entry_id), local=False))
    fields.add_row("Local", Text(local_time(to_ms(entry_id), ctx.tz), ctx.style("muted")))
    actor_id = parsed.actor_id if parsed else record.actor_id
    target_id: Any = parsed.target_id if parsed else record.target_id
    fields.add_row("Actor", _who(ctx, "user", actor_id))
    kind = target_kind(action_type)
    target = _entity(ctx, kind, target_id)
    if target_id is not None and kind is None:
        target.append(" (id)", ctx.style("muted"))
    fields.add_row("Target", target)
    reason = parsed.reason if parsed else record.reason
    if reason is None:
        fields.add_row("Reason", Text("no reason given", ctx.style("muted")))
    else:
        fields.add_row(
            "Reason",
            Text(safe_text(reason, REASON_MAX)) if reason else Text('""', ctx.style("muted")),
        )
    if stored is not None:
        src = Text(safe_text(stored.source, 32))
        src.append("  received ", ctx.style("muted"))
        src.append(utc_time(stored.received_at))
        if stored.revision > 0:
            src.append(f"  revision {stored.revision}", ctx.style("muted"))
        fields.add_row("Source", src)
    if parsed is not None and parsed.action_type in (13, 14, 15):
        ow = entries.overwrite_diff(parsed)
        if ow is not None and ow.id is not None:
            role_name = (parsed.options or {}).get("role_name")
            who = _overwrite_target(ctx, ow.id, ow.type, parsed.guild_id, role_name)
            if ow.type:
                who.append(f"  {ow.type} overwrite", ctx.style("muted"))
            fields.add_row("Overwrite", who)
    parts.append(fields)

    if problem is not None:
        parts.append(Text(f"Cannot read this entry: {safe_text(problem, 200)}", ctx.style("danger")))
    elif parsed is not None:
        parts.append(Text(""))
        parts.append(_changes_table(ctx, parsed))
        opt_rows = _option_rows(ctx, parsed)
        if opt_rows:
            parts.append(Text(""))
            parts.append(Text("Options", Style(bold=True)))
            grid = _field_table()
            for k, v in opt_rows:
                grid.add_row(k, v)
            parts.append(grid)
    if show_raw:
        raw_text = raw if raw is not None else (stored.raw_json if stored else None)
        parts.append(Text(""))
        parts.append(render_raw_json(raw_text, ctx))
    return Group(*parts)
