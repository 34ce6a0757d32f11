"""The policy engine: pure, synchronous, fast. One call decides one request and says why.

Evaluation order (the first step that decides wins; the Discord gate then checks any ALLOW):

1. ``BREAK_GLASS``      an active break-glass for this person allows everything
2. ``ADMIN_BYPASS``     the owner or an ADMINISTRATOR, when the policy's ``admin_bypass`` is on
3. ``OVERRIDE_DENY``    a per-user override that has not expired; DENY wins over ALLOW
4. ``OVERRIDE_ALLOW``
5. ``RBAC_GRANT_DENY``  grants on the person's roles (and @everyone): the highest priority
6. ``RBAC_GRANT_ALLOW`` decides; at equal priority DENY wins
7. ``DEFAULT_PUBLIC``   the capability is public by default
8. ``NO_GRANT``         nothing allowed it: DENY
9. ``DISCORD_GATE_DENIED`` an ALLOW from 1–7 is turned into DENY when the person does not hold the
   capability's Discord permission themselves (Discord's own algorithm, in the channel if one is
   named) or, for role capabilities, the role does not rank below their highest role. Break-glass
   lifts the gate only when the policy says so.

The path lists every step evaluated, what it found, and which one decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from console.model.permissions import FLAGS
from console.model.times import iso_utc
from console.policy.document import Capability, Policy
from console.policy.guild import GuildSnapshot
from console.policy.resolver import can_manage_role, resolve

ADMINISTRATOR = 1 << 3
RESOURCE_TYPES = ("guild", "category", "channel", "role")


@dataclass(frozen=True, slots=True)
class Request:
    actor_id: int
    capability: str
    resource_type: str = "guild"
    resource_id: int | None = None
    #: Where the Discord gate is computed; None means guild-wide.
    channel_id: int | None = None
    #: The role a role capability acts on (for the hierarchy part of the gate).
    role_id: int | None = None


@dataclass(frozen=True, slots=True)
class Actor:
    id: int
    name: str | None
    roles: tuple[int, ...]
    admin: bool
    owner: bool


@dataclass(frozen=True, slots=True)
class BreakGlassSession:
    user_id: int
    started_ms: int
    expires_ms: int


class DecidingStep(NamedTuple):
    """The step of a decision path that decided it: its name, what it found and its outcome."""

    step: str
    found: str
    outcome: str


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    reason_code: str
    path: tuple[dict[str, Any], ...]
    actor: Actor
    #: The person's effective Discord permissions where the gate looked (channel or guild-wide).
    permissions: int
    policy_version: str

    @property
    def result(self) -> str:
        return "ALLOW" if self.allowed else "DENY"

    @property
    def deciding_step(self) -> DecidingStep:
        step = next(s for s in reversed(self.path) if s["decided"])
        return DecidingStep(str(step["step"]), str(step["found"]), str(step["outcome"]))

    def denial(self) -> str:
        """``CODE — step: what it found``: why the request was decided as it was, in one line."""
        step = self.deciding_step
        return f"{self.reason_code} — {step.step}: {step.found}"


class UnknownCapability(ValueError):
    pass


def evaluate(
    policy: Policy,
    guild: GuildSnapshot,
    request: Request,
    *,
    now_ms: int,
    break_glass: BreakGlassSession | None = None,
    explain: bool = True,
) -> Verdict:
    """Decide ``request``. Raises :class:`UnknownCapability`, or the resolver's ``UnknownMember`` /
    ``UnknownChannel`` when the guild state does not hold them."""
    cap = policy.capabilities.get(request.capability)
    if cap is None:
        raise UnknownCapability(
            f"unknown capability {request.capability!r} (known: {', '.join(sorted(policy.capabilities))})"
        )
    uid = request.actor_id
    where = resolve(guild, uid, request.channel_id, now_ms=now_ms, explain=explain)
    member = guild.members[uid]
    owner = uid == guild.owner_id
    if request.channel_id is None:
        admin = owner or bool(where.permissions & ADMINISTRATOR)
    else:
        admin = owner or bool(resolve(guild, uid, None, now_ms=now_ms, explain=False).permissions & ADMINISTRATOR)
    actor = Actor(uid, member.name, member.roles, admin, owner)

    path: list[dict[str, Any]] = []
    code = _decide(policy, guild, cap, actor, now_ms, break_glass, path)
    allowed = code not in ("NO_GRANT", "OVERRIDE_DENY", "RBAC_GRANT_DENY")
    if allowed:
        gate_ok = _gate(policy, guild, cap, request, where, code, path, explain)
        if not gate_ok:
            code, allowed = "DISCORD_GATE_DENIED", False
    return Verdict(allowed, code, tuple(path), actor, where.permissions, policy.version)


def _step(path: list[dict[str, Any]], step: str, found: str, outcome: str | None = None) -> None:
    path.append({"step": step, "found": found, "decided": outcome is not None, "outcome": outcome})


def _decide(
    policy: Policy,
    guild: GuildSnapshot,
    cap: Capability,
    actor: Actor,
    now_ms: int,
    session: BreakGlassSession | None,
    path: list[dict[str, Any]],
) -> str:
    # 1. Break-glass.
    if not policy.break_glass.enabled:
        _step(path, "break_glass", "break-glass is turned off in this policy")
    elif session is None:
        _step(path, "break_glass", "not active")
    elif session.expires_ms <= now_ms:
        _step(path, "break_glass", f"expired at {iso_utc(session.expires_ms)}")
    else:
        _step(path, "break_glass", f"active until {iso_utc(session.expires_ms)}", "ALLOW")
        return "BREAK_GLASS"

    # 2. Admin bypass.
    who = "the owner" if actor.owner else "an ADMINISTRATOR" if actor.admin else None
    if not policy.admin_bypass:
        _step(path, "admin_bypass", "admin bypass is off in this policy")
    elif who is None:
        _step(path, "admin_bypass", "not the owner and not an ADMINISTRATOR")
    else:
        _step(path, "admin_bypass", f"{who}, and admin bypass is on", "ALLOW")
        return "ADMIN_BYPASS"

    # 3–4. Per-user overrides: DENY wins over ALLOW.
    overrides = policy.overrides_by_key.get((actor.id, cap.name), ())
    live = [o for o in overrides if o.expires_ms is None or o.expires_ms > now_ms]
    expired = len(overrides) - len(live)
    note = f" ({expired} expired)" if expired else ""
    deny = next((o for o in live if o.effect == "DENY"), None)
    allow = next((o for o in live if o.effect == "ALLOW"), None)
    if deny is not None:
        _step(path, "override", f"DENY override{_until(deny.expires_ms)}: {deny.reason}{note}", "DENY")
        return "OVERRIDE_DENY"
    if allow is not None:
        _step(path, "override", f"ALLOW override{_until(allow.expires_ms)}: {allow.reason}{note}", "ALLOW")
        return "OVERRIDE_ALLOW"
    _step(path, "override", f"no override for {cap.name}{note}")

    # 5–6. Grants on the person's roles and on @everyone: highest priority decides, DENY wins ties.
    by_role = policy.grants_by_capability.get(cap.name)
    best: list[Any] = []
    if by_role:
        for rid in (guild.id, *actor.roles):
            for g in by_role.get(rid, ()):
                if not best or g.priority > best[0].priority:
                    best = [g]
                elif g.priority == best[0].priority:
                    best.append(g)
    if best:
        winner = next((g for g in best if g.effect == "DENY"), best[0])
        role = guild.roles.get(winner.role_id)
        label = "@everyone" if winner.role_id == guild.id else f"role {role.name if role else winner.role_id}"
        found = f"{winner.effect} on {label} at priority {winner.priority}"
        if len(best) > 1:
            found += f" ({len(best)} grants at that priority; DENY wins)"
        _step(path, "rbac", found, winner.effect)
        return "RBAC_GRANT_DENY" if winner.effect == "DENY" else "RBAC_GRANT_ALLOW"
    _step(path, "rbac", f"no grant for {cap.name} on the person's roles")

    # 7–8.
    if cap.default_public:
        _step(path, "default_public", f"{cap.name} is public by default", "ALLOW")
        return "DEFAULT_PUBLIC"
    _step(path, "default_public", f"{cap.name} is not public")
    _step(path, "no_grant", "nothing allowed it", "DENY")
    return "NO_GRANT"


def _gate(
    policy: Policy,
    guild: GuildSnapshot,
    cap: Capability,
    request: Request,
    where: Any,
    code: str,
    path: list[dict[str, Any]],
    explain: bool,
) -> bool:
    if not cap.discord_permission and not (cap.hierarchy and request.role_id is not None):
        return True
    place = "guild-wide" if request.channel_id is None else f"in channel {_channel_name(guild, request.channel_id)}"
    if code == "BREAK_GLASS" and policy.break_glass.lifts_discord_gate:
        _step(path, "discord_gate", "lifted by break-glass (this policy allows that)")
        return True
    detail = [s.detail for s in where.steps] if explain else []
    if cap.discord_permission and not where.permissions & cap.gate_bit:
        path.append(
            {
                "step": "discord_gate",
                "found": f"lacks {cap.discord_permission} {place}",
                "decided": True,
                "outcome": "DENY",
                "detail": detail,
            }
        )
        return False
    found = f"holds {cap.discord_permission} {place}" if cap.discord_permission else "no permission needed"
    if cap.hierarchy and request.role_id is not None:
        ok, why = can_manage_role(guild, request.actor_id, request.role_id)
        if not ok:
            path.append(
                {
                    "step": "discord_gate",
                    "found": f"{found}; {why}",
                    "decided": True,
                    "outcome": "DENY",
                    "detail": detail,
                }
            )
            return False
        found = f"{found}; {why}"
    path.append({"step": "discord_gate", "found": found, "decided": False, "outcome": None, "detail": detail})
    return True


def _channel_name(guild: GuildSnapshot, channel_id: int) -> str:
    ch = guild.channels.get(channel_id)
    return f"#{ch.name}" if ch and ch.name else str(channel_id)


def _until(expires_ms: int | None) -> str:
    return f" until {iso_utc(expires_ms)}" if expires_ms is not None else ""


def permission_names(bits: int) -> list[str]:
    """Discord permission names (discord-api-docs spelling), sorted."""
    return sorted(name for bit, name in FLAGS.items() if bits >> bit & 1)
