"""Feed rows: one line per record, built from sanitised strings as plain text in styled parts —
never markup. Pure functions of the record and a small context, so they cache well."""

import datetime as dt
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import NamedTuple

from console.model import entry as entries
from console.model import times
from console.model.actions import action_category, action_name, target_kind
from console.model.naming import person
from console.model.records import Decision, Gap, RoleChange
from console.model.sanitize import safe_text
from console.model.snowflake import to_ms
from console.model.stored import StoredEntry

NameOf = Callable[[str, int | None], str | None]


class Row:
    """A row's text as parts, each with a Rich style string or none. Not a Rich ``Text``: a row
    is a dozen appends that never overlap, and ``Text.render`` sorts and divides spans on every
    paint (half the cost of painting a page of new rows)."""

    __slots__ = ("parts",)

    def __init__(self) -> None:
        self.parts: list[tuple[str, str | None]] = []

    def append(self, text: str, style: str | None = None) -> None:
        if text:
            self.parts.append((text, style))


class RowContext(NamedTuple):
    """What rendering a row needs beyond the record: names, colours, clock, width."""

    name_of: NameOf
    styles: Mapping[str, str] = MappingProxyType({})
    tz: dt.tzinfo | None = None
    relative: bool = False
    now_ms: int = 0
    compact: bool = False


def clock_text(ms: int, ctx: RowContext) -> str:
    if ctx.relative and ctx.now_ms:
        return times.ago(ms, ctx.now_ms).rjust(14)
    return times.clock(ms, ctx.tz)


def who(kind: str, ident: int | None, ctx: RowContext, *, recorded: str | None = None) -> str:
    """A person as :func:`console.model.naming.person` names them (anything else by its cached
    name), with the id unless the row is compact. ``recorded``: the name a record kept."""
    if ident is None:
        return "—"
    if kind != "user":
        name = ctx.name_of(kind, ident)
        shown = safe_text(name, 20 if ctx.compact else 32) if name else None
    elif ctx.compact:  # the label cut as a whole: a compact row has no room for two long names
        name = person(ctx.name_of, ident, recorded=recorded)
        shown = safe_text(name, 24) if name else None
    else:
        shown = person(ctx.name_of, ident, recorded=recorded, max_len=32)
    if ctx.compact:
        return shown or str(ident)
    return f"{shown} ({ident})" if shown else str(ident)


def _reason(text: Row, reason: str | None, ctx: RowContext) -> None:
    if reason:
        text.append("  “", ctx.styles.get("muted", "dim"))
        text.append(safe_text(reason, 200), "italic")
        text.append("”", ctx.styles.get("muted", "dim"))


def _column(label: str, ctx: RowContext) -> str:
    """``label`` in the action column's width; a cut one ends in "…" (``AUTO_MODERATION_BLOCK_``
    read as a whole name)."""
    width = 22 if ctx.compact else 28
    return f"{label:<{width}}" if len(label) <= width else label[: width - 1] + "…"


def _head(text: Row, ms: int, kind: str, ctx: RowContext) -> None:
    text.append(clock_text(ms, ctx), ctx.styles.get("muted", "dim"))
    text.append("  ")
    if not ctx.compact:
        text.append(f"{kind:<8}", ctx.styles.get("muted", "dim"))


def entry_row(e: StoredEntry, ctx: RowContext) -> Row:
    """``time kind action actor → target summary “reason”``."""
    try:
        summary = entries.summary(e.parsed())
    except (entries.MalformedEntry, ValueError):
        summary = ""
    text = Row()
    _head(text, to_ms(e.id), "audit", ctx)
    text.append(
        _column(action_name(e.action_type), ctx), ctx.styles.get(f"action-{action_category(e.action_type)}", "bold")
    )
    text.append(" ")
    text.append(who("user", e.actor_id, ctx))
    text.append(" → ", ctx.styles.get("muted", "dim"))
    text.append(who(target_kind(e.action_type) or "user", e.target_id, ctx))
    if summary:
        text.append("  ")
        text.append(safe_text(summary, 160))
    _reason(text, e.reason, ctx)
    return text


def decision_row(d: Decision, ctx: RowContext) -> Row:
    text = Row()
    _head(text, d.created_at, "decision", ctx)
    style = ctx.styles.get("decision-allow" if d.result == "ALLOW" else "decision-deny", "bold")
    text.append(_column(f"{d.result} {d.capability}", ctx), style)
    text.append(" ")
    text.append(who("user", d.actor_id, ctx, recorded=d.actor_name))
    text.append("  ")
    text.append(d.reason_code, style)
    text.append(f"  via {d.source}", ctx.styles.get("muted", "dim"))
    return text


def role_change_row(c: RoleChange, ctx: RowContext) -> Row:
    text = Row()
    _head(text, c.updated_at, "role", ctx)
    final_ok = c.state == "confirmed"
    style = ctx.styles.get("decision-allow" if final_ok else "decision-deny" if c.final else "action-role", "bold")
    text.append(_column(f"{'GRANT' if c.op == 'grant' else 'REVOKE'} {c.state.upper()}", ctx), style)
    text.append(" ")
    sign = "+" if c.op == "grant" else "−"
    role = ctx.name_of("role", c.role_id)
    text.append(f"{sign}@{safe_text(role, 32)}" if role else f"{sign}role {c.role_id}")
    text.append(" → ", ctx.styles.get("muted", "dim"))
    text.append(who("user", c.member_id, ctx))
    text.append(f"  attempt {c.attempts}", ctx.styles.get("muted", "dim"))
    _reason(text, c.reason, ctx)
    return text


def gap_row(g: Gap, ctx: RowContext) -> Row:
    text = Row()
    _head(text, g.detected_at, "gap", ctx)
    style = ctx.styles.get("gap", "bold yellow")
    text.append("── GAP ", style)
    text.append(safe_text(g.describe(), 300), style)
    text.append(" ──", style)
    return text


def record_row(record: object, ctx: RowContext) -> Row:
    if isinstance(record, StoredEntry):
        return entry_row(record, ctx)
    if isinstance(record, Decision):
        return decision_row(record, ctx)
    if isinstance(record, RoleChange):
        return role_change_row(record, ctx)
    if isinstance(record, Gap):
        return gap_row(record, ctx)
    row = Row()
    row.append(safe_text(repr(record), 200))
    return row


def names_shown(record: object) -> list[tuple[str, int | None]]:
    """The names (kind, id) the record's row looks up: the start reads just these for its first
    page (tests hold it to what the row functions above ask ``name_of`` for)."""
    if isinstance(record, StoredEntry):
        shown = [("user", record.actor_id), (target_kind(record.action_type) or "user", record.target_id)]
    elif isinstance(record, Decision):
        shown = [("user", record.actor_id)]
    elif isinstance(record, RoleChange):
        shown = [("role", record.role_id), ("user", record.member_id)]
    else:
        return []
    # A person is named by two cached names (console.model.naming).
    return shown + [("member", i) for k, i in shown if k == "user"]


def record_key(record: object) -> tuple[str, int]:
    """(kind, id): how bookmarks and caches name a record."""
    if isinstance(record, Decision):
        return ("decision", record.id)
    if isinstance(record, RoleChange):
        return ("role_change", record.id)
    if isinstance(record, Gap):
        return ("gap", record.id)
    return ("audit", getattr(record, "id", 0))
