"""An audit entry's changes as a before/after table: one or more rows per change, each value shown
by what its key means (ids with names, durations, colours, enums, timeouts, overwrites,
command permissions), anything unexpected as its JSON."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from rich import box
from rich.console import RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text

from console.model import entry as entries
from console.model.actions import target_kind
from console.model.sanitize import safe_text
from console.model.times import human_seconds, readable_iso
from console.ui.details.context import (
    EMPTY,
    MINUS,
    _as_int,
    _compact,
    _Ctx,
    _entity,
    _lines,
    _plain,
    _role,
    _styled,
    _who,
)
from console.ui.details.flags import _bits, _permission_cells

# Change keys by what their values mean (Discord's documented keys, as hikari converts them).

#: Keys whose value is an id, with the kind of name to look up (None: an id without a name).
SNOWFLAKE_KEYS: dict[str, str | None] = {
    "owner_id": "user",
    "inviter_id": "user",
    "afk_channel_id": "channel",
    "rules_channel_id": "channel",
    "public_updates_channel_id": "channel",
    "widget_channel_id": "channel",
    "system_channel_id": "channel",
    "safety_alerts_channel_id": "channel",
    "channel_id": "channel",
    "parent_id": "channel",
    "guild_id": "guild",
    "application_id": None,
    "command_id": None,
}
SECONDS_KEYS = frozenset({"rate_limit_per_user", "afk_timeout", "max_age"})
MINUTES_KEYS = frozenset({"auto_archive_duration", "default_auto_archive_duration"})
DAYS_KEYS = frozenset({"prune_delete_days", "expire_grace_period"})
ENUM_KEYS: dict[str, dict[int, str]] = {
    "verification_level": {0: "NONE", 1: "LOW", 2: "MEDIUM", 3: "HIGH", 4: "VERY_HIGH"},
    "explicit_content_filter": {0: "DISABLED", 1: "MEMBERS_WITHOUT_ROLES", 2: "ALL_MEMBERS"},
    "default_message_notifications": {0: "ALL_MESSAGES", 1: "ONLY_MENTIONS"},
    "mfa_level": {0: "NONE", 1: "ELEVATED"},
}

#: Application command permission types (action 121).
COMMAND_PERMISSION_TYPES: dict[int, str] = {1: "role", 2: "user", 3: "channel"}

Row = tuple[Text, Text, Text]


def _absent_before(ctx: _Ctx) -> Text:
    return Text(f"{EMPTY} (created)", ctx.style("muted"))


def _absent_after(ctx: _Ctx) -> Text:
    return Text(f"{EMPTY} reset", ctx.style("muted"))


def _value_cells(ctx: _Ctx, c: entries.Change, fmt: Callable[[Any], Text]) -> tuple[Text, Text]:
    """Before/after cells through ``fmt``; absent sides shown as ``∅``, null as ``null``."""

    def one(value: Any, present: bool, absent: Callable[[_Ctx], Text]) -> Text:
        if not present:
            return absent(ctx)
        if value is None:
            return Text("null", ctx.style("muted"))
        try:
            return fmt(value)
        except Exception:  # noqa: BLE001 - an odd value falls back to its JSON
            return _plain(ctx, value, True)

    return one(c.old, c.has_old, _absent_before), one(c.new, c.has_new, _absent_after)


def _duration(value: Any, unit_seconds: int, unit: str, *, zero: str | None = None) -> Text:
    n = _as_int(value)
    if n is None:
        return Text(_compact(value))
    if n == 0 and zero:
        return Text(f"{zero} (0)")
    human = human_seconds(n * unit_seconds)
    raw = f"{n} {unit}"
    return Text(human if human == raw else f"{human} ({raw})")


def _color(value: Any) -> Text:
    n = _as_int(value)
    if n is None or n > 0xFFFFFF:
        return Text(_compact(value))
    hexa = f"#{n:06x}"
    text = Text()
    text.append("■ ", Style(color=hexa))
    text.append(hexa if n else f"{hexa} (default)")
    return text


def _key_text(ctx: _Ctx, key: str, note: str = "") -> Text:
    text = _styled(safe_text(key, 48), Style(bold=True))
    if note:
        text.append(f" {note}", ctx.style("muted"))
    return text


def _change_rows(ctx: _Ctx, e: entries.AuditEntry, c: entries.Change) -> list[Row]:
    key = c.key
    if key in entries.PERMISSION_KEYS:
        before, after = _permission_cells(ctx, c.old if c.has_old else None, c.new if c.has_new else None)
        if not c.has_old and not c.has_new:
            before, after = _absent_before(ctx), _absent_after(ctx)
        return [(_key_text(ctx, key), before, after)]
    if key in ("$add", "$remove"):
        refs = (entries.roles_added(e) if key == "$add" else entries.roles_removed(e)) if c.has_new else []
        sign = "+" if key == "$add" else MINUS
        style = ctx.style("diff-added" if key == "$add" else "diff-removed")
        lines = []
        for rid, rname in refs:
            line = _styled(sign, style)
            line.append_text(_role(ctx, rid, rname, e.guild_id))
            lines.append(line)
        if not lines:
            lines = [_plain(ctx, c.new, c.has_new)]
        cell = _lines(lines)
        label = _key_text(ctx, key, "roles added" if key == "$add" else "roles removed")
        empty = Text("")
        return [(label, empty, cell) if key == "$add" else (label, cell, empty)]
    if key == "permission_overwrites":
        return _overwrite_rows(ctx, e, c)
    if key == "communication_disabled_until":
        return [_timeout_row(ctx, c)]
    if e.action_type == 121 and key.isdigit():
        return [_command_permission_row(ctx, e, c)]
    if key in SNOWFLAKE_KEYS or key == "id":
        kind = SNOWFLAKE_KEYS.get(key)
        if key == "id" and e.action_type in (13, 14, 15):
            ow = entries.overwrite_diff(e)
            kind = "user" if ow is not None and ow.type == "member" else "role"
        elif key == "id":
            kind = target_kind(e.action_type)
        before, after = _value_cells(ctx, c, lambda v: _entity(ctx, kind, v))
        return [(_key_text(ctx, key), before, after)]
    if key == "type" and e.action_type in (13, 14, 15):
        labels = {"0": "0 role", "1": "1 member"}
        before, after = _value_cells(ctx, c, lambda v: Text(labels.get(str(v), _compact(v))))
        return [(_key_text(ctx, key), before, after)]
    if key in SECONDS_KEYS:
        zero = "never" if key == "max_age" else "off"
        before, after = _value_cells(ctx, c, lambda v: _duration(v, 1, "s", zero=zero))
        return [(_key_text(ctx, key), before, after)]
    if key in MINUTES_KEYS:
        before, after = _value_cells(ctx, c, lambda v: _duration(v, 60, "min"))
        return [(_key_text(ctx, key), before, after)]
    if key in DAYS_KEYS:
        before, after = _value_cells(ctx, c, lambda v: _duration(v, 86400, "d"))
        return [(_key_text(ctx, key), before, after)]
    if key == "max_uses":
        before, after = _value_cells(ctx, c, lambda v: Text("unlimited (0)" if _as_int(v) == 0 else _compact(v)))
        return [(_key_text(ctx, key), before, after)]
    if key == "color":
        before, after = _value_cells(ctx, c, _color)
        return [(_key_text(ctx, key), before, after)]
    if key == "colors":
        before, after = _value_cells(ctx, c, lambda v: _colors(ctx, v))
        return [(_key_text(ctx, key), before, after)]
    if key in ENUM_KEYS:
        names = ENUM_KEYS[key]
        before, after = _value_cells(ctx, c, lambda v: _enum(names, v))
        return [(_key_text(ctx, key), before, after)]
    return [(_key_text(ctx, key), *_value_cells(ctx, c, lambda v: _plain(ctx, v, True)))]


def _enum(names: Mapping[int, str], value: Any) -> Text:
    """``3 HIGH`` for a documented enum value; the raw value otherwise."""
    n = _as_int(value)
    return Text(f"{n} {names[n]}" if n is not None and n in names else _compact(value))


def _colors(ctx: _Ctx, value: Any) -> Text:
    if not isinstance(value, Mapping):
        return _plain(ctx, value, True)
    parts = []
    for name in ("primary_color", "secondary_color", "tertiary_color"):
        if value.get(name) is not None:
            parts.append(_color(value[name]))
    return _lines(parts) if parts else _plain(ctx, value, True)


def _timeout_row(ctx: _Ctx, c: entries.Change) -> Row:
    def when(value: Any) -> Text:
        readable = readable_iso(value)
        return Text(readable) if readable else Text(_compact(value))

    before = when(c.old) if c.has_old and c.old is not None else Text(f"{EMPTY} not timed out", ctx.style("muted"))
    if c.has_new and c.new is not None:
        readable = readable_iso(c.new) or _compact(c.new)
        after = Text("timeout set until ", ctx.style("diff-removed"))
        after.append(readable)
    else:
        after = Text(f"{EMPTY} timeout lifted", ctx.style("diff-added"))
    return (_key_text(ctx, c.key), before, after)


def _overwrite_target(ctx: _Ctx, ident: str, otype: str | None, guild_id: int | None, role_name: Any = None) -> Text:
    """An overwrite target: ``@Role (id)``, ``@everyone (id)`` or ``member Name (id)``."""
    if otype == "member":
        text = _styled("member ", ctx.style("muted"))
        text.append_text(_who(ctx, "user", ident))
        return text
    name_then = role_name if isinstance(role_name, str) and role_name else None
    return _role(ctx, ident, name_then, guild_id)


def _overwrite_rows(ctx: _Ctx, e: entries.AuditEntry, c: entries.Change) -> list[Row]:
    """``permission_overwrites`` on channel entries: allow/deny diffs per role or member."""
    if not (isinstance(c.old, list | type(None)) and isinstance(c.new, list | type(None))):
        return [(_key_text(ctx, c.key), _plain(ctx, c.old, c.has_old), _plain(ctx, c.new, c.has_new))]
    old, new = entries.overwrite_map(c.old), entries.overwrite_map(c.new)
    rows: list[Row] = []
    for target in sorted(old.keys() | new.keys(), key=lambda t: (len(t), t)):
        o, n = old.get(target, {}), new.get(target, {})
        otype = {"0": "role", "1": "member"}.get(str((n or o).get("type")))
        who = _overwrite_target(ctx, target, otype, e.guild_id)
        note = "created" if not o else "removed" if not n else ""
        changed = False
        for part in ("allow", "deny"):
            if _bits(o.get(part)) == _bits(n.get(part)) or not (_bits(o.get(part)) or _bits(n.get(part))):
                continue
            changed = True
            label = _styled("overwrite ", ctx.style("muted"))
            label.append_text(who)
            label.append(f" {part}", Style(bold=True))
            if note:
                label.append(f" ({note})", ctx.style("muted"))
            before, after = _permission_cells(ctx, o.get(part), n.get(part))
            rows.append((label, before, after))
        if not changed and note:
            label = _styled("overwrite ", ctx.style("muted"))
            label.append_text(who)
            rows.append(
                (
                    label,
                    Text(EMPTY if not o else "no permissions", ctx.style("muted")),
                    Text(EMPTY if not n else "no permissions", ctx.style("muted")),
                )
            )
    if not rows:
        rows.append((_key_text(ctx, c.key), Text("no change", ctx.style("muted")), Text("")))
    return rows


def _command_permission_row(ctx: _Ctx, e: entries.AuditEntry, c: entries.Change) -> Row:
    """Action 121: the key is the role/user/channel id; values are ``{id, type, permission}``."""
    ident = int(c.key)
    sample = c.new if isinstance(c.new, Mapping) else c.old if isinstance(c.old, Mapping) else {}
    ptype = COMMAND_PERMISSION_TYPES.get(_as_int(sample.get("type")) or 0)
    label = _styled("permission for ", ctx.style("muted"))
    if e.guild_id is not None and ident == e.guild_id:
        label.append_text(_who(ctx, None, c.key, fallback="@everyone"))
    elif e.guild_id is not None and ident == e.guild_id - 1:
        label.append_text(_who(ctx, None, c.key, fallback="all channels"))
    elif ptype == "role":
        label.append_text(_role(ctx, c.key))
    elif ptype == "channel":
        label.append_text(_who(ctx, "channel", c.key, prefix="#"))
    else:
        label.append_text(_who(ctx, "user", c.key))
    if ptype:
        label.append(f" ({ptype})", ctx.style("muted"))

    def verdict(value: Any) -> Text:
        if isinstance(value, Mapping) and isinstance(value.get("permission"), bool):
            ok = value["permission"]
            return Text(
                "allowed" if ok else "denied",
                ctx.style("decision-allow" if ok else "decision-deny"),
            )
        return _plain(ctx, value, True)

    before, after = _value_cells(ctx, c, verdict)
    if not c.has_new or c.new is None:
        after = Text(f"{EMPTY} removed", ctx.style("muted"))
    return (label, before, after)


def _changes_table(ctx: _Ctx, e: entries.AuditEntry) -> RenderableType:
    if not e.changes:
        return Text("No changes recorded.", ctx.style("muted"))
    table = Table(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        expand=False,
        pad_edge=False,
        header_style=Style(bold=True),
        title=None,
    )
    # Sized by content (flag names need the room more than the key does); folded when narrow.
    table.add_column("Change", overflow="fold")
    table.add_column("Before", overflow="fold")
    table.add_column("After", overflow="fold")
    for c in e.changes:
        try:
            rows = _change_rows(ctx, e, c)
        except Exception:  # noqa: BLE001 - one odd change must not hide the others
            rows = [
                (
                    _key_text(ctx, c.key),
                    _plain(ctx, c.old, c.has_old),
                    _plain(ctx, c.new, c.has_new),
                )
            ]
        for row in rows:
            table.add_row(*row)
    return table
