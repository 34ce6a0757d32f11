"""``/audit`` slash commands: what they are, and what the console answers. Pure (no hikari): the
Discord side (``console/discord/interactions.py``) registers :data:`COMMAND` and hands every raw
INTERACTION_CREATE to :meth:`SlashHandler.handle`, then sends the answer ephemerally.

Discord authenticates who typed a command; each is checked by the policy with source ``BOT``.
A denial says the reason code and the step that decided.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from console.model.snowflake import parse as parse_id
from console.policy.engine import Request
from console.policy.explain import ExplainError
from console.policy.gatekeeper import Checked, GateError, Gatekeeper
from console.roles.reconciler import audit_channel_key
from console.roles.requests import RoleRequests

SUB_COMMAND, SUB_COMMAND_GROUP, STRING, INTEGER, USER, CHANNEL, ROLE = 1, 2, 3, 4, 6, 7, 8
TEXT_CHANNELS = [0, 5]  # where audit messages can go: text and announcement channels


def _opt(name: str, kind: int, description: str, *, required: bool = False, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": kind, "description": description, "required": required, **extra}


_MEMBER_ROLE_REASON = [
    _opt("member", USER, "The member", required=True),
    _opt("role", ROLE, "The role", required=True),
    _opt("reason", STRING, "Why (shown in the audit log)", required=True, max_length=400),
]
#: The command tree in Discord's own JSON shape (application command object).
COMMAND: dict[str, Any] = {
    "name": "audit",
    "description": "Audit Console: roles, explain, audit channel, break-glass",
    "type": 1,
    "options": [
        {
            "name": "role",
            "type": SUB_COMMAND_GROUP,
            "description": "Grant or revoke a role, confirmed",
            "options": [
                {"name": "grant", "type": SUB_COMMAND, "description": "Grant a role", "options": _MEMBER_ROLE_REASON},
                {"name": "revoke", "type": SUB_COMMAND, "description": "Revoke a role", "options": _MEMBER_ROLE_REASON},
            ],
        },
        {
            "name": "explain",
            "type": SUB_COMMAND,
            "description": "Why may (or may not) a member do something",
            "options": [
                _opt(
                    "capability",
                    STRING,
                    "e.g. roles.grant",
                    required=True,
                    choices=[
                        {"name": c, "value": c}
                        for c in (
                            "roles.grant",
                            "roles.revoke",
                            "console.export",
                            "policy.explain",
                            "policy.break_glass",
                            "audit.configure",
                        )
                    ],
                ),
                _opt("member", USER, "Who (default: you)"),
                _opt("channel", CHANNEL, "Where (default: guild-wide)"),
            ],
        },
        {
            "name": "audit-set",
            "type": SUB_COMMAND,
            "description": "The channel for role-change confirmations",
            "options": [_opt("channel", CHANNEL, "The channel", required=True, channel_types=TEXT_CHANNELS)],
        },
        {
            "name": "break-glass",
            "type": SUB_COMMAND,
            "description": "Emergency access, time-limited",
            "options": [
                _opt(
                    "state",
                    STRING,
                    "on or off",
                    required=True,
                    choices=[{"name": "on", "value": "on"}, {"name": "off", "value": "off"}],
                ),
                _opt("minutes", INTEGER, "How long (capped by the policy)", min_value=1, max_value=1440),
            ],
        },
    ],
}


@dataclass(frozen=True, slots=True)
class Invocation:
    guild_id: int
    actor_id: int
    channel_id: int | None
    path: tuple[str, ...]  # ("role", "grant"), ("explain",), …
    options: dict[str, Any]


def parse(payload: Mapping[str, Any]) -> Invocation | None:
    """The ``/audit`` use in a raw INTERACTION_CREATE, or None (another command, a DM, a ping)."""
    data = payload.get("data")
    member = payload.get("member")
    if payload.get("type") != 2 or not isinstance(data, Mapping) or data.get("name") != COMMAND["name"]:
        return None
    guild_id = parse_id(payload.get("guild_id"))
    user = member.get("user") if isinstance(member, Mapping) else None
    actor = parse_id(user.get("id")) if isinstance(user, Mapping) else None
    if guild_id is None or actor is None:
        return None
    path: list[str] = []
    options: list[Any] = list(data.get("options") or [])
    while len(options) == 1 and options[0].get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP):
        path.append(str(options[0].get("name")))
        options = list(options[0].get("options") or [])
    values = {str(o.get("name")): o.get("value") for o in options if isinstance(o, Mapping)}
    return Invocation(guild_id, actor, parse_id(payload.get("channel_id")), tuple(path), values)


def _denied(checked: Checked) -> str:
    step = checked.verdict.deciding_step
    return f"Denied: **{checked.verdict.reason_code}** — decided at `{step.step}`: {step.found}"


class SlashHandler:
    def __init__(self, gatekeeper: Gatekeeper, roles: RoleRequests | None) -> None:
        self.gatekeeper = gatekeeper
        self.roles = roles

    async def handle(self, inv: Invocation) -> str:
        """The ephemeral answer. Never raises for a person's mistake: it says what is wrong."""
        try:
            if inv.path[:1] == ("role",) and len(inv.path) == 2:
                return await self._role(inv, inv.path[1])
            if inv.path == ("explain",):
                return await self._explain(inv)
            if inv.path == ("audit-set",):
                return await self._audit_set(inv)
            if inv.path == ("break-glass",):
                return await self._break_glass(inv)
        except GateError as e:
            return f"Cannot decide: {e}"
        return f"Unknown command /audit {' '.join(inv.path)}"

    async def _role(self, inv: Invocation, op: str) -> str:
        member, role = parse_id(inv.options.get("member")), parse_id(inv.options.get("role"))
        reason = str(inv.options.get("reason") or "").strip() or None
        if member is None or role is None or op not in ("grant", "revoke"):
            return "Usage: /audit role grant|revoke member role reason"
        if self.roles is None:
            return "Role changes are not available: the console is not connected to this guild."
        done = await self.roles.request(inv.guild_id, inv.actor_id, member, role, op, reason=reason, source="BOT")
        what = f"{'Grant' if op == 'grant' else 'Revoke'} <@&{role}> {'to' if op == 'grant' else 'from'} <@{member}>"
        if done.change is None:
            return f"{what}: {_denied(done.checked)}"
        return (
            f"{what}: allowed ({done.checked.verdict.reason_code}). Request {done.change.id} is pending until the "
            "console sees it applied; the audit channel gets the outcome."
        )

    async def _explain(self, inv: Invocation) -> str:
        gate = await self.gatekeeper.check(inv.guild_id, Request(inv.actor_id, "policy.explain"), "BOT")
        if not gate.allowed:
            return _denied(gate)
        who = parse_id(inv.options.get("member")) or inv.actor_id
        channel = parse_id(inv.options.get("channel"))
        capability = str(inv.options.get("capability") or "")
        try:
            answer = await self.gatekeeper.explain(inv.guild_id, who, capability, channel)
        except ExplainError as e:
            return f"Cannot explain: {e}"
        head = f"<@{who}> {capability}: **{'ALLOWED' if answer.allowed else 'DENIED'}** ({answer.reason_code})"
        body = "\n".join(line for line in answer.lines() if not line.startswith("    ·"))
        return f"{head}\n```\n{body[:1700]}\n```"

    async def _audit_set(self, inv: Invocation) -> str:
        channel = parse_id(inv.options.get("channel"))
        if channel is None:
            return "Usage: /audit audit-set channel"
        checked = await self.gatekeeper.check(
            inv.guild_id, Request(inv.actor_id, "audit.configure", "channel", channel, channel), "BOT"
        )
        if not checked.allowed:
            return _denied(checked)
        await self.gatekeeper.store.set_setting(audit_channel_key(inv.guild_id), str(channel))
        return f"Role-change confirmations will be posted in <#{channel}>."

    async def _break_glass(self, inv: Invocation) -> str:
        state = inv.options.get("state")
        if state not in ("on", "off"):
            return "Usage: /audit break-glass on|off [minutes]"
        minutes = inv.options.get("minutes")
        checked, message = await self.gatekeeper.break_glass(
            inv.guild_id,
            inv.actor_id,
            on=state == "on",
            source="BOT",
            minutes=minutes if isinstance(minutes, int) else None,
        )
        if not checked.allowed:
            return _denied(checked)
        return f"{message[0].upper()}{message[1:]} ({checked.verdict.reason_code})."
