"""Audit-log entries: parsing Discord's raw entry object and what it means.

Everything works from the raw JSON Discord sent, never from hikari's typed models (hikari 2.7.0
silently drops entries whose type it has no options model for). Parsing is tolerant: only an
entry without a usable ``id`` or ``action_type`` is malformed.
"""

from collections.abc import Mapping
from typing import Any, NamedTuple

import orjson

from console.model import permissions as perms
from console.model.actions import action_name
from console.model.snowflake import MAX_ID, to_ms
from console.model.snowflake import parse as parse_id
from console.model.times import readable_iso

#: Change keys whose values are permission bitfields (decimal strings).
PERMISSION_KEYS = frozenset({"permissions", "allow", "deny"})


class MalformedEntry(ValueError):
    """The payload is not an audit-log entry we can key (no integer id or action type)."""


class Change(NamedTuple):
    """One change object. ``old``/``new`` are raw; ``has_old``/``has_new`` tell absent from null."""

    key: str
    old: Any = None
    new: Any = None
    has_old: bool = False
    has_new: bool = False


class OverwriteDiff(NamedTuple):
    """Allow/deny changes on one channel overwrite target."""

    id: str | None
    type: str | None  # "role" | "member" | None when unknown
    allow: perms.PermissionDiff
    deny: perms.PermissionDiff

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "allow_added": self.allow.added,
            "allow_removed": self.allow.removed,
            "deny_added": self.deny.added,
            "deny_removed": self.deny.removed,
            "allow_unknown_bits_added": self.allow.unknown_bits_added,
            "allow_unknown_bits_removed": self.allow.unknown_bits_removed,
            "deny_unknown_bits_added": self.deny.unknown_bits_added,
            "deny_unknown_bits_removed": self.deny.unknown_bits_removed,
        }


class AuditEntry(NamedTuple):
    """One audit-log entry as Discord sent it, its changes parsed."""

    id: int
    guild_id: int | None
    action_type: int
    actor_id: int | None
    target_id: str | None
    reason: str | None
    changes: tuple[Change, ...]
    options: Mapping[str, Any] | None
    raw: Mapping[str, Any]

    def __repr__(self) -> str:  # without the raw payload, which holds everything above again
        return (
            f"AuditEntry(id={self.id!r}, guild_id={self.guild_id!r}, action_type={self.action_type!r}, "
            f"actor_id={self.actor_id!r}, target_id={self.target_id!r}, reason={self.reason!r}, "
            f"changes={self.changes!r}, options={self.options!r})"
        )

    @property
    def created_ms(self) -> int:
        return to_ms(self.id)

    def change(self, key: str) -> Change | None:
        for c in self.changes:
            if c.key == key:
                return c
        return None


def parse_entry(raw: Mapping[str, Any], guild_id: int | None = None) -> AuditEntry:
    """Parse a raw entry (REST page item or gateway dispatch). Raises MalformedEntry."""
    if not isinstance(raw, Mapping):
        raise MalformedEntry(f"entry is a {type(raw).__name__}, not an object")
    entry_id = parse_id(raw.get("id"))
    if entry_id is None:
        raise MalformedEntry(f"entry has no usable id: {raw.get('id')!r}")
    action = raw.get("action_type")
    if isinstance(action, bool) or not isinstance(action, int):
        if isinstance(action, str) and action.isdigit():
            action = int(action)
        else:
            raise MalformedEntry(f"entry {entry_id} has no usable action_type: {action!r}")
    if not 0 <= action <= MAX_ID:  # SQLite's INTEGER is signed 64-bit: 2**64-1 would not bind
        raise MalformedEntry(f"entry {entry_id} has an action_type out of range: {action}")
    gid = parse_id(raw.get("guild_id")) or guild_id
    target = raw.get("target_id")
    reason = raw.get("reason")
    changes: list[Change] = []
    for c in raw.get("changes") or ():
        if isinstance(c, Mapping) and isinstance(c.get("key"), str):
            changes.append(
                Change(
                    key=c["key"],
                    old=c.get("old_value"),
                    new=c.get("new_value"),
                    has_old="old_value" in c,
                    has_new="new_value" in c,
                )
            )
    options = raw.get("options")
    return AuditEntry(
        id=entry_id,
        guild_id=gid,
        action_type=action,
        actor_id=parse_id(raw.get("user_id")),
        target_id=None if target is None else str(target),
        reason=reason if isinstance(reason, str) else (None if reason is None else str(reason)),
        changes=tuple(changes),
        options=options if isinstance(options, Mapping) else None,
        raw=raw,
    )


def content_hash(raw: Mapping[str, Any]) -> bytes:
    """A hash of the entry's content, the same whether it came from the gateway or REST.

    The gateway adds ``guild_id``; REST does not. Keys are sorted so order never matters.
    """
    body = {k: v for k, v in raw.items() if k != "guild_id"}
    try:
        blob = orjson.dumps(body, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    except TypeError:
        blob = repr(sorted(body.items(), key=lambda kv: str(kv[0]))).encode("utf-8", "replace")
    import hashlib  # here: a console that only browses hashes nothing, and its start skips the import

    return hashlib.sha256(blob).digest()[:16]


# -- what an entry means ------------------------------------------------------------------------


def _bits(value: Any) -> int | None:
    try:
        return perms.parse_bits(value)
    except ValueError:
        return None


def permission_diff(entry: AuditEntry) -> perms.PermissionDiff | None:
    """The role ``permissions`` change as flag names, or None when the entry has none."""
    c = entry.change("permissions")
    if c is None:
        return None
    return perms.diff(_bits(c.old), _bits(c.new))


def _overwrite_type(value: Any) -> str | None:
    text = str(value) if value is not None else ""
    return {"0": "role", "1": "member", "role": "role", "member": "member"}.get(text)


def overwrite_diff(entry: AuditEntry) -> OverwriteDiff | None:
    """For CHANNEL_OVERWRITE_* entries: the target and its allow/deny diffs."""
    if entry.action_type not in (13, 14, 15):
        return None
    opts = entry.options or {}
    id_change, type_change = entry.change("id"), entry.change("type")
    target = opts.get("id") or (id_change.new if id_change and id_change.has_new else None)
    target = target or (id_change.old if id_change else None)
    otype = opts.get("type")
    if otype is None and type_change is not None:
        otype = type_change.new if type_change.has_new else type_change.old
    allow, deny = entry.change("allow"), entry.change("deny")
    return OverwriteDiff(
        id=None if target is None else str(target),
        type=_overwrite_type(otype),
        allow=perms.diff(_bits(allow.old), _bits(allow.new)) if allow else perms.diff(None, None),
        deny=perms.diff(_bits(deny.old), _bits(deny.new)) if deny else perms.diff(None, None),
    )


def overwrite_map(value: Any) -> dict[str, Mapping[str, Any]]:
    """A ``permission_overwrites`` value (a list of overwrite objects) keyed by target id."""
    out: dict[str, Mapping[str, Any]] = {}
    if isinstance(value, list):
        for ow in value:
            if isinstance(ow, Mapping) and ow.get("id") is not None:
                out[str(ow["id"])] = ow
    return out


def channel_overwrite_diffs(entry: AuditEntry) -> list[OverwriteDiff]:
    """Per-target diffs of a ``permission_overwrites`` change (CHANNEL_CREATE/UPDATE/DELETE)."""
    c = entry.change("permission_overwrites")
    if c is None:
        return []
    old, new = overwrite_map(c.old), overwrite_map(c.new)
    diffs = []
    for target in sorted(old.keys() | new.keys()):
        o, n = old.get(target, {}), new.get(target, {})
        d = OverwriteDiff(
            id=target,
            type=_overwrite_type((n or o).get("type")),
            allow=perms.diff(_bits(o.get("allow")), _bits(n.get("allow"))),
            deny=perms.diff(_bits(o.get("deny")), _bits(n.get("deny"))),
        )
        if not (d.allow.empty and d.deny.empty):
            diffs.append(d)
    return diffs


def _role_refs(value: Any) -> list[tuple[str, str | None]]:
    refs = []
    if isinstance(value, list):
        for r in value:
            if isinstance(r, Mapping) and r.get("id") is not None:
                name = r.get("name")
                refs.append((str(r["id"]), name if isinstance(name, str) else None))
    return refs


def roles_added(entry: AuditEntry) -> list[tuple[str, str | None]]:
    """``$add`` as (role id, role name at the time)."""
    c = entry.change("$add")
    return _role_refs(c.new) if c else []


def roles_removed(entry: AuditEntry) -> list[tuple[str, str | None]]:
    c = entry.change("$remove")
    return _role_refs(c.new) if c else []


def _short(value: Any, limit: int = 40) -> str:
    if value is None:
        return "∅"
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _readable_time(value: Any) -> str:
    return readable_iso(value, seconds=False) or str(value)


def summary(entry: AuditEntry, role_name: Mapping[str, str] | None = None) -> str:
    """A one-line description of what changed, for the feed (plain, unsanitised text)."""
    role_name = role_name or {}
    parts: list[str] = []
    added, removed = roles_added(entry), roles_removed(entry)
    if added or removed:
        parts += [f"+@{n or role_name.get(i, i)}" for i, n in added]
        parts += [f"−@{n or role_name.get(i, i)}" for i, n in removed]
    pd = permission_diff(entry)
    if pd is not None and not pd.empty:
        parts.append(pd.summary())
    ow = overwrite_diff(entry)
    if ow is not None:
        who = (entry.options or {}).get("role_name") or ow.id or "?"
        bits = []
        if not ow.allow.empty:
            bits.append("allow " + ow.allow.summary())
        if not ow.deny.empty:
            bits.append("deny " + ow.deny.summary())
        mention = "@" if ow.type == "role" and not str(who).startswith("@") else ""
        parts.append(f"{mention}{who}: " + ("; ".join(bits) or "no change"))
    for ow in channel_overwrite_diffs(entry):
        bits = []
        if not ow.allow.empty:
            bits.append("allow " + ow.allow.summary())
        if not ow.deny.empty:
            bits.append("deny " + ow.deny.summary())
        name = role_name.get(ow.id or "", ow.id)
        parts.append(f"overwrite {name}: " + "; ".join(bits))
    timeout = entry.change("communication_disabled_until")
    if timeout is not None:
        parts.append(f"timeout until {_readable_time(timeout.new)}" if timeout.new else "timeout lifted")
    opts = entry.options or {}
    if "count" in opts:
        parts.append(f"count {opts['count']}")
    if "members_removed" in opts:
        parts.append(f"{opts['members_removed']} removed ({opts.get('delete_member_days', '?')} days)")
    if "auto_moderation_rule_name" in opts:
        parts.append(f"rule {opts['auto_moderation_rule_name']}")
    if not parts:
        shown = [c for c in entry.changes if c.key not in PERMISSION_KEYS | {"$add", "$remove", "id", "type"}]
        # A *_DELETE entry's old values describe what was deleted, not something cleared.
        deleted = action_name(entry.action_type).endswith("_DELETE")
        for c in shown[:3]:
            if c.key == "nick" or (c.has_old and c.has_new):
                parts.append(f"{c.key}: {_short(c.old)} → {_short(c.new)}")
            elif c.has_new:
                parts.append(f"{c.key}={_short(c.new)}")
            elif deleted:
                parts.append(f"{c.key}={_short(c.old)}")
            else:
                parts.append(f"{c.key} cleared")
        if len(shown) > 3:
            parts.append(f"+{len(shown) - 3} more")
    return " ".join(parts)


def changes_text(entry: AuditEntry) -> str:
    """The change values as searchable text (the full-text index's ``changes`` column)."""
    out: list[str] = []
    for c in entry.changes:
        out.append(c.key)
        for v in (c.old, c.new):
            if v is None:
                continue
            if isinstance(v, str):
                out.append(v)
            elif isinstance(v, list):
                out.extend(str(x.get("name")) for x in v if isinstance(x, Mapping) and x.get("name"))
    pd = permission_diff(entry)
    if pd is not None:
        out += pd.added + pd.removed
    for name in ("auto_moderation_rule_name", "role_name", "status"):
        v = (entry.options or {}).get(name)
        if isinstance(v, str):
            out.append(v)
    return " ".join(out)
