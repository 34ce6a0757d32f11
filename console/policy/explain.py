"""``explain``: why may (or may not) a member do something — a capability through the whole
policy, or one Discord permission through Discord's own algorithm. Shared by the CLI and the TUI."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from console.model.permissions import FLAGS
from console.policy.document import Policy
from console.policy.engine import BreakGlassSession, Request, UnknownCapability, evaluate, permission_names
from console.policy.guild import GuildSnapshot, SnapshotError
from console.policy.resolver import UnknownChannel, UnknownMember, resolve

_BITS = {name: 1 << bit for bit, name in FLAGS.items()}
#: The reason code when Discord says the member is not in the guild (left, or never joined).
MEMBER_UNKNOWN = "MEMBER_UNKNOWN"


class ExplainError(ValueError):
    """Bad input for explain (unknown member, channel, capability or permission; a bad state file)."""


@dataclass(frozen=True, slots=True)
class Explanation:
    allowed: bool
    reason_code: str | None  # None: a Discord-permission question allowed by Discord alone
    permissions: list[str]
    path: list[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        return {
            "allowed": self.allowed,
            "reason_code": self.reason_code,
            "permissions": self.permissions,
            "path": self.path,
        }

    def lines(self) -> list[str]:
        out = []
        for step in self.path:
            mark = "→" if step.get("decided") else " "
            outcome = f" [{step['outcome']}]" if step.get("outcome") else ""
            out.append(f"{mark} {step['step']}: {step['found']}{outcome}")
            for detail in step.get("detail") or ():
                out.append(f"    · {detail}")
        return out


def load_state(path: Path) -> GuildSnapshot:
    """A guild snapshot file as Discord's REST returns it: ``{"guild", "channels", "members"}``."""
    try:
        data = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        raise ExplainError(f"--state: no such file {path}") from None
    except OSError as e:
        raise ExplainError(f"--state: cannot read {path}: {e.strerror or e}") from None
    except orjson.JSONDecodeError as e:
        raise ExplainError(f"--state {path}: not JSON ({e})") from None
    if not isinstance(data, dict):
        raise ExplainError(f"--state {path}: expected an object with guild, channels and members")
    try:
        return GuildSnapshot.from_rest(data)
    except SnapshotError as e:
        raise ExplainError(f"--state {path}: {e}") from None


def explain_capability(
    policy: Policy,
    guild: GuildSnapshot,
    member_id: int,
    capability: str,
    *,
    channel_id: int | None,
    now_ms: int,
    break_glass: BreakGlassSession | None = None,
) -> Explanation:
    resource = ("channel", channel_id) if channel_id is not None else ("guild", guild.id)
    request = Request(member_id, capability, resource[0], resource[1], channel_id)
    try:
        v = evaluate(policy, guild, request, now_ms=now_ms, break_glass=break_glass)
    except (UnknownMember, UnknownChannel, UnknownCapability) as e:
        raise ExplainError(_message(e)) from None
    return Explanation(v.allowed, v.reason_code, permission_names(v.permissions), [dict(s) for s in v.path])


def explain_permission(
    guild: GuildSnapshot, member_id: int, permission: str, *, channel_id: int | None, now_ms: int
) -> Explanation:
    bit = _BITS.get(permission.upper())
    if bit is None:
        raise ExplainError(f"unknown permission {permission!r} (Discord's names, e.g. MANAGE_ROLES)")
    try:
        r = resolve(guild, member_id, channel_id, now_ms=now_ms)
    except (UnknownMember, UnknownChannel) as e:
        raise ExplainError(_message(e)) from None
    allowed = bool(r.permissions & bit)
    channel = guild.channels.get(channel_id) if channel_id is not None else None
    place = "guild-wide" if channel_id is None else f"in #{channel.name}" if channel else f"in channel {channel_id}"
    path: list[dict[str, Any]] = [
        {"step": s.name, "found": s.detail, "decided": False, "outcome": None} for s in r.steps
    ]
    path.append(
        {
            "step": "discord_permission",
            "found": f"{'holds' if allowed else 'lacks'} {permission.upper()} {place}",
            "decided": True,
            "outcome": "ALLOW" if allowed else "DENY",
        }
    )
    return Explanation(allowed, None if allowed else "DISCORD_GATE_DENIED", permission_names(r.permissions), path)


def member_unknown(member_id: int, why: str) -> Explanation:
    """The answer about someone Discord says is not in the guild: nothing is allowed them."""
    return Explanation(False, MEMBER_UNKNOWN, [], [not_in_guild_step(member_id, why)])


def not_in_guild_step(member_id: int, why: str) -> dict[str, Any]:
    """The one step of a decision about someone Discord says is not in the guild (explain and the
    gate alike)."""
    return {"step": "member", "found": f"{member_id} is not in the guild ({why})", "decided": True, "outcome": "DENY"}


def _message(e: Exception) -> str:
    return str(e.args[0]) if e.args else str(e)
