"""What the detail drawer shows, as Rich renderables: pure functions, no widgets, no I/O.

Everything here is built from plain strings with explicit styles, never from markup. Every
untrusted string (names, reasons, change values, option values, role names, rule names,
statuses, topics, raw JSON) goes through :func:`console.model.sanitize.safe_text` first, so
Textual markup stays inert and terminal escapes, bidi and zero-width characters become visible.

``name_of(kind, id)`` (kind ``"user"``, ``"role"``, ``"channel"`` or ``"guild"``) returns a raw
cached name or None. ``styles`` maps theme-variable names (``action-<category>``,
``decision-allow``, ``decision-deny``, ``danger``, ``diff-added``, ``diff-removed``, ``muted``,
``gap``) to Rich style strings; missing or unparseable ones fall back to plain defaults.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import orjson
from rich import box
from rich.console import Group, RenderableType
from rich.errors import StyleSyntaxError
from rich.style import Style
from rich.table import Table
from rich.text import Text

from console.model import entry as entries
from console.model import permissions as perms
from console.model.actions import action_category, action_name, target_kind
from console.model.records import Attempt, Decision, Gap, RoleChange
from console.model.sanitize import safe_text
from console.model.snowflake import to_ms
from console.model.stored import StoredEntry
from console.model.times import human_seconds, local_time, readable_iso, relative, short_local, utc_time

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
DANGER_MARK = "⚠"
DECIDED_MARK = "▶"

#: Longest untrusted value shown in a table cell; reasons keep Discord's 512 cap.
VALUE_MAX = 200
NAME_MAX = 128  # role names may be 100 characters; escapes make them longer
REASON_MAX = 512
#: Raw JSON beyond this many lines is cut (a channel with hundreds of overwrites).
RAW_MAX_LINES = 2000

# -- change keys by meaning (discord-protocol.md §2, hikari's converter table) --------------------

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
TRIGGER_TYPES: dict[str, str] = {
    "1": "KEYWORD",
    "3": "SPAM",
    "4": "KEYWORD_PRESET",
    "5": "MENTION_SPAM",
    "6": "MEMBER_PROFILE",
}
#: Application command permission types (action 121).
COMMAND_PERMISSION_TYPES: dict[int, str] = {1: "role", 2: "user", 3: "channel"}


# -- small helpers ---------------------------------------------------------------------------------


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


# -- names and ids -------------------------------------------------------------------------------


def _who(ctx: _Ctx, kind: str | None, ident: Any, *, prefix: str = "", fallback: str | None = None) -> Text:
    """``Name (id)`` with the id muted; ``id`` alone when no name is known; ``—`` for none."""
    text = Text()
    if ident is None or ident == "":
        text.append("—", ctx.style("muted"))
        text.append(" none", ctx.style("muted"))
        return text
    n = _as_int(ident)
    name = ctx.name(kind, n) if (kind and n is not None) else None
    name = name or fallback
    if name:
        text.append(prefix + safe_text(name, NAME_MAX))
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


# -- permission diffs ------------------------------------------------------------------------------


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


# -- one change → (key cell, before cell, after cell) rows ----------------------------------------

Row = tuple[Text, Text, Text]


def _plain(ctx: _Ctx, value: Any, present: bool) -> Text:
    if not present:
        return Text(EMPTY, ctx.style("muted"))
    if value is None:
        return Text("null", ctx.style("muted"))
    if isinstance(value, str) and value == "":
        return Text('""', ctx.style("muted"))
    return Text(_compact(value))


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


# -- audit entries ---------------------------------------------------------------------------------


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


# -- decisions -----------------------------------------------------------------------------------


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
    roles = [_role(ctx, r, guild_id=d.guild_id) for r in d.actor_roles or ()]
    grid.add_row("Roles", Text(", ").join(roles) if roles else Text("none", ctx.style("muted")))
    flags = _styled(f"admin {_yes_no(d.actor_admin)}", ctx.style("danger") if d.actor_admin else Style())
    flags.append(" · ", ctx.style("muted"))
    flags.append(f"owner {_yes_no(d.actor_owner)}", ctx.style("danger") if d.actor_owner else Style())
    grid.add_row("", flags)
    grid.add_row("Policy", Text(safe_text(d.policy_version, 64)))

    parts: list[RenderableType] = [head, grid, Text(""), Text("Decision path", Style(bold=True))]
    parts.append(_path(ctx, d.path, result_style))
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


# -- role changes --------------------------------------------------------------------------------


def _state_style(ctx: _Ctx, state: str) -> Style:
    if state == "confirmed":
        return ctx.style("decision-allow", "bold")
    if state in ("failed", "expired", "reverted"):
        return ctx.style("decision-deny", "bold")
    if state == "cancelled":
        return ctx.style("muted", "bold")
    return Style(bold=True)


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


# -- gaps ------------------------------------------------------------------------------------------


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


def _record_dict(record: Decision | RoleChange | Gap) -> dict[str, Any]:
    return record._asdict()


# -- entry point ---------------------------------------------------------------------------------


def render_record(
    record: object,
    *,
    name_of: NameOf,
    styles: Mapping[str, str],
    show_raw: bool = False,
    attempts: Sequence[Attempt] = (),
    now_ms: int | None = None,
    tz: dt.tzinfo | None = None,
) -> RenderableType:
    """The drawer's content for any record: an audit entry (stored or parsed), a decision,
    a role change (with its ``attempts``) or a gap.

    ``now_ms`` turns times into "in 4s"/"3m ago" as well; without it nothing reads the clock.
    ``tz`` is the zone for the local times (None: the system's).
    """
    ctx = _Ctx(name_of, styles, now_ms, tz)
    if isinstance(record, StoredEntry | entries.AuditEntry):
        return _render_audit(record, ctx, show_raw=show_raw)
    if isinstance(record, Decision):
        return _render_decision(record, ctx, show_raw=show_raw)
    if isinstance(record, RoleChange):
        return _render_role_change(record, ctx, attempts=attempts, show_raw=show_raw)
    if isinstance(record, Gap):
        return _render_gap(record, ctx, show_raw=show_raw)
    return Text(f"Nothing to show for a {type(record).__name__}.", ctx.style("muted"))
