"""The policy file: capabilities, grants per Discord role, per-user overrides, admin bypass and
break-glass. TOML; every problem is a :class:`PolicyError` naming the line and the reason.

A policy's *version* is the first 16 hex digits of the SHA-256 of the file's bytes, so a decision
names exactly the text that decided it (the built-in default's version is ``builtin-…``).
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from console.model import snowflake
from console.model.permissions import FLAGS

RISKS = ("low", "medium", "high", "critical")
EFFECTS = ("ALLOW", "DENY")
_FLAG_BITS = {name: 1 << bit for bit, name in FLAGS.items()}


class PolicyError(Exception):
    """An invalid policy file: one line, ``file:line: reason``."""


@dataclass(frozen=True, slots=True)
class Capability:
    name: str
    default_public: bool
    risk: str
    #: The Discord permission the person must hold themselves (None: no Discord gate).
    discord_permission: str | None
    #: For role capabilities: the role must rank below the person's highest role.
    hierarchy: bool = False
    description: str = ""

    @property
    def gate_bit(self) -> int:
        return _FLAG_BITS[self.discord_permission] if self.discord_permission else 0


@dataclass(frozen=True, slots=True)
class Grant:
    role_id: int
    capability: str
    effect: str  # ALLOW | DENY
    priority: int


@dataclass(frozen=True, slots=True)
class Override:
    user_id: int
    capability: str
    effect: str
    expires_ms: int | None  # None: until removed from the file
    reason: str


@dataclass(frozen=True, slots=True)
class BreakGlass:
    enabled: bool = True
    max_minutes: int = 60
    #: Whether an active break-glass also lifts the Discord gate (the person's own permissions).
    lifts_discord_gate: bool = False


# The capabilities the console itself checks. A policy file may change any of their settings
# and add its own; it cannot remove these (the console would have nothing to check against).
BUILTIN_CAPABILITIES: dict[str, Capability] = {
    c.name: c
    for c in (
        Capability("roles.grant", False, "high", "MANAGE_ROLES", True, "grant a role to a member"),
        Capability("roles.revoke", False, "high", "MANAGE_ROLES", True, "remove a role from a member"),
        Capability("console.export", False, "medium", "VIEW_AUDIT_LOG", False, "export records"),
        Capability("policy.explain", True, "low", None, False, "explain a decision or a permission"),
        Capability("policy.break_glass", False, "critical", None, False, "turn break-glass on or off"),
        Capability("audit.configure", False, "medium", "MANAGE_GUILD", False, "set the audit-message channel"),
        Capability("notes.write", False, "low", "VIEW_AUDIT_LOG", False, "write a note on a record"),
    )
}


@dataclass(frozen=True, slots=True)
class Policy:
    version: str
    source: str
    admin_bypass: bool
    break_glass: BreakGlass
    capabilities: dict[str, Capability]
    grants: tuple[Grant, ...]
    overrides: tuple[Override, ...]
    #: capability -> role id -> grants, for the engine's hot path.
    grants_by_capability: dict[str, dict[int, tuple[Grant, ...]]] = field(default_factory=dict)
    #: (user id, capability) -> overrides.
    overrides_by_key: dict[tuple[int, str], tuple[Override, ...]] = field(default_factory=dict)


def default_policy() -> Policy:
    """No policy file: admins (and the owner) may do everything, everyone else only what is public."""
    return _build(b"", "built-in default", {}, lambda *_: 0, version="builtin-1")


def load_policy(path: Path) -> Policy:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise PolicyError(f"{path}: no such policy file") from None
    except OSError as e:
        raise PolicyError(f"{path}: cannot read: {e.strerror or e}") from None
    return parse_policy(raw, str(path))


def parse_policy(raw: bytes, source: str = "<policy>") -> Policy:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise PolicyError(f"{source}: not UTF-8 text (byte {e.start})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        # tomllib says "… (at line 3, column 5)"; turn it into file:line: reason.
        m = re.search(r"\(at line (\d+), column \d+\)", str(e))
        reason = re.sub(r"\s*\(at line.*\)$", "", str(e))
        raise PolicyError(f"{source}:{m.group(1) if m else '?'}: {reason}") from None
    locate = _Locator(text)
    return _build(raw, source, data, locate.line)


def _build(raw: bytes, source: str, data: dict[str, Any], line_of: Any, version: str | None = None) -> Policy:
    def fail(line: int, reason: str) -> PolicyError:
        return PolicyError(f"{source}:{line or '?'}: {reason}")

    known = {"admin_bypass", "break_glass", "capabilities", "grants", "overrides"}
    for key in data:
        if key not in known:
            raise fail(line_of(None, key), f"unknown setting {key!r} (expected one of {', '.join(sorted(known))})")

    admin_bypass = data.get("admin_bypass", True)
    if not isinstance(admin_bypass, bool):
        raise fail(line_of(None, "admin_bypass"), "admin_bypass must be true or false")

    bg = data.get("break_glass", {})
    if not isinstance(bg, dict):
        raise fail(line_of(None, "break_glass"), "break_glass must be a table")
    for key in bg:
        if key not in ("enabled", "max_minutes", "lifts_discord_gate"):
            raise fail(line_of("break_glass", key), f"break_glass: unknown setting {key!r}")
    enabled = bg.get("enabled", True)
    lifts = bg.get("lifts_discord_gate", False)
    max_minutes = bg.get("max_minutes", 60)
    for key, value in (("enabled", enabled), ("lifts_discord_gate", lifts)):
        if not isinstance(value, bool):
            raise fail(line_of("break_glass", key), f"break_glass.{key} must be true or false")
    if isinstance(max_minutes, bool) or not isinstance(max_minutes, int) or not 1 <= max_minutes <= 24 * 60:
        raise fail(line_of("break_glass", "max_minutes"), "break_glass.max_minutes must be 1 to 1440 minutes")

    capabilities = dict(BUILTIN_CAPABILITIES)
    caps = data.get("capabilities", {})
    if not isinstance(caps, dict):
        raise fail(line_of(None, "capabilities"), "capabilities must be a table of tables")
    for name, body in caps.items():
        table = f"capabilities.{name}"
        if not re.fullmatch(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_-]*)+", name):
            raise fail(line_of(table, None), f"capability name {name!r} must look like area.action")
        if not isinstance(body, dict):
            raise fail(line_of(table, None), f"capabilities.{name} must be a table")
        capabilities[name] = _capability(name, body, capabilities.get(name), lambda k, t=table: line_of(t, k), fail)

    grants = []
    raw_grants = data.get("grants", [])
    if not isinstance(raw_grants, list):
        raise fail(line_of(None, "grants"), "grants must be an array of tables ([[grants]])")
    for i, g in enumerate(raw_grants):
        where = f"grants[{i}]"
        line = lambda k, i=i: line_of(("grants", i), k)  # noqa: E731
        if not isinstance(g, dict):
            raise fail(line(None), f"{where} must be a table")
        _only(g, ("role", "capability", "effect", "priority"), where, line, fail)
        grants.append(
            Grant(
                role_id=_id(g, "role", where, line, fail),
                capability=_capability_name(g, capabilities, where, line, fail),
                effect=_effect(g, where, line, fail),
                priority=_int(g, "priority", where, line, fail, default=0),
            )
        )

    overrides = []
    raw_overrides = data.get("overrides", [])
    if not isinstance(raw_overrides, list):
        raise fail(line_of(None, "overrides"), "overrides must be an array of tables ([[overrides]])")
    for i, o in enumerate(raw_overrides):
        where = f"overrides[{i}]"
        line = lambda k, i=i: line_of(("overrides", i), k)  # noqa: E731
        if not isinstance(o, dict):
            raise fail(line(None), f"{where} must be a table")
        _only(o, ("user", "capability", "effect", "expires", "reason"), where, line, fail)
        reason = o.get("reason", "")
        if not isinstance(reason, str) or not reason.strip():
            raise fail(line("reason"), f"{where}.reason: say why (a non-empty string)")
        overrides.append(
            Override(
                user_id=_id(o, "user", where, line, fail),
                capability=_capability_name(o, capabilities, where, line, fail),
                effect=_effect(o, where, line, fail),
                expires_ms=_expires(o, where, line, fail),
                reason=reason.strip(),
            )
        )

    by_cap: dict[str, dict[int, list[Grant]]] = {}
    for g in grants:
        by_cap.setdefault(g.capability, {}).setdefault(g.role_id, []).append(g)
    by_key: dict[tuple[int, str], list[Override]] = {}
    for o in overrides:
        by_key.setdefault((o.user_id, o.capability), []).append(o)
    return Policy(
        version=version or hashlib.sha256(raw).hexdigest()[:16],
        source=source,
        admin_bypass=admin_bypass,
        break_glass=BreakGlass(enabled, max_minutes, lifts),
        capabilities=capabilities,
        grants=tuple(grants),
        overrides=tuple(overrides),
        grants_by_capability={c: {r: tuple(gs) for r, gs in roles.items()} for c, roles in by_cap.items()},
        overrides_by_key={k: tuple(v) for k, v in by_key.items()},
    )


def _capability(name: str, body: dict[str, Any], base: Capability | None, line: Any, fail: Any) -> Capability:
    where = f"capabilities.{name}"
    _only(body, ("default_public", "risk", "discord_permission", "hierarchy", "description"), where, line, fail)
    default_public = body.get("default_public", base.default_public if base else False)
    if not isinstance(default_public, bool):
        raise fail(line("default_public"), f"{where}.default_public must be true or false")
    risk = body.get("risk", base.risk if base else None)
    if risk not in RISKS:
        raise fail(line("risk"), f"{where}.risk must be one of {', '.join(RISKS)}")
    perm = body.get("discord_permission", base.discord_permission if base else "")
    if perm == "":
        perm = None
    if perm is not None and perm not in _FLAG_BITS:
        raise fail(
            line("discord_permission"),
            f'{where}.discord_permission: {perm!r} is not a Discord permission (e.g. MANAGE_ROLES), or "" for none',
        )
    hierarchy = body.get("hierarchy", base.hierarchy if base else False)
    if not isinstance(hierarchy, bool):
        raise fail(line("hierarchy"), f"{where}.hierarchy must be true or false")
    description = body.get("description", base.description if base else "")
    if not isinstance(description, str):
        raise fail(line("description"), f"{where}.description must be a string")
    return Capability(name, default_public, risk, perm, hierarchy, description)


def _only(table: dict[str, Any], allowed: tuple[str, ...], where: str, line: Any, fail: Any) -> None:
    for key in table:
        if key not in allowed:
            raise fail(line(key), f"{where}: unknown setting {key!r} (expected {', '.join(allowed)})")


def _id(table: dict[str, Any], key: str, where: str, line: Any, fail: Any) -> int:
    value = table.get(key)
    if value is None:
        raise fail(line(None), f"{where}.{key} is missing (a Discord id, as a string)")
    n = snowflake.parse(value) if isinstance(value, str | int) and not isinstance(value, bool) else None
    if n is None:
        raise fail(line(key), f"{where}.{key}: {value!r} is not a Discord id")
    return n


def _capability_name(table: dict[str, Any], caps: dict[str, Capability], where: str, line: Any, fail: Any) -> str:
    name = table.get("capability")
    if name is None:
        raise fail(line(None), f"{where}.capability is missing")
    if name not in caps:
        raise fail(
            line("capability"), f"{where}.capability: unknown capability {name!r} (known: {', '.join(sorted(caps))})"
        )
    return str(name)


def _effect(table: dict[str, Any], where: str, line: Any, fail: Any) -> str:
    effect = table.get("effect")
    if not isinstance(effect, str) or effect.upper() not in EFFECTS:
        raise fail(line("effect" if "effect" in table else None), f'{where}.effect must be "ALLOW" or "DENY"')
    return effect.upper()


def _int(table: dict[str, Any], key: str, where: str, line: Any, fail: Any, default: int) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not -1_000_000 <= value <= 1_000_000:
        raise fail(line(key), f"{where}.{key} must be a whole number from -1000000 to 1000000")
    return value


def _expires(table: dict[str, Any], where: str, line: Any, fail: Any) -> int | None:
    value = table.get("expires")
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise fail(
                line("expires"), f"{where}.expires: {value!r} is not a date and time (e.g. 2026-12-31T00:00:00Z)"
            ) from None
    if not isinstance(value, datetime) or value.tzinfo is None:
        # A time without a zone would mean different instants on different machines.
        raise fail(line("expires"), f"{where}.expires needs a time zone (e.g. 2026-12-31T00:00:00Z)")
    return int(value.timestamp() * 1000)


class _Locator:
    """Finds the line of a key for error messages (tomllib reports lines only for syntax errors)."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def line(self, table: str | tuple[str, int] | None, key: str | None) -> int:
        start, end = 0, len(self.lines)
        if table is not None:
            bounds = self._table(table)
            if bounds is None:
                return 0
            start, end = bounds
            if key is None:
                return start + 1
        if key is None:
            return 0
        pattern = re.compile(rf'^\s*("?){re.escape(key)}\1\s*=|^\s*\[+\s*"?{re.escape(key)}"?\s*[\].]')
        for i in range(start, end):
            if pattern.match(self.lines[i]):
                return i + 1
        return start + 1 if table is not None else 0

    def _table(self, table: str | tuple[str, int]) -> tuple[int, int] | None:
        if isinstance(table, tuple):
            name, index = table
            header = re.compile(rf"^\s*\[\[\s*{re.escape(name)}\s*\]\]")
        else:
            parts = table.split(".", 1)
            name, index = table, 0
            sub = re.escape(parts[1]) if len(parts) > 1 else None
            header = re.compile(
                rf'^\s*\[\s*{re.escape(parts[0])}(\s*\.\s*"?{sub}"?)?\s*\]'
                if sub
                else rf"^\s*\[\s*{re.escape(parts[0])}\s*\]"
            )
        seen = -1
        for i, text in enumerate(self.lines):
            if header.match(text):
                seen += 1
                if seen == index:
                    end = next(
                        (j for j in range(i + 1, len(self.lines)) if self.lines[j].lstrip().startswith("[")),
                        len(self.lines),
                    )
                    return i, end
        return None
