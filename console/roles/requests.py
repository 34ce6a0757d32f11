"""A grant or revoke asked for by a person (TUI, CLI or slash command): the policy first, the
decision linked to the change, and only an ALLOW reaches the reconciler."""

from __future__ import annotations

from dataclasses import dataclass

from console.model.records import RoleChange
from console.policy.engine import Request
from console.policy.gatekeeper import Checked, Gatekeeper
from console.roles.reconciler import REASON_MAX, Reconciler

CAPABILITY = {"grant": "roles.grant", "revoke": "roles.revoke"}


@dataclass(frozen=True, slots=True)
class Requested:
    checked: Checked
    change: RoleChange | None  # None when the policy denied it


class RoleRequests:
    def __init__(self, gatekeeper: Gatekeeper, reconciler: Reconciler) -> None:
        self.gatekeeper = gatekeeper
        self.reconciler = reconciler

    async def request(
        self, guild_id: int, actor_id: int, member_id: int, role_id: int, op: str, *, reason: str | None, source: str
    ) -> Requested:
        """Raises GateError when the question cannot be answered (no guild state, unknown actor)."""
        if op not in CAPABILITY:
            raise ValueError("op must be grant or revoke")
        if reason is not None and len(reason) > REASON_MAX:
            raise ValueError(f"the reason is longer than {REASON_MAX} characters")
        checked = await self.gatekeeper.check(
            guild_id, Request(actor_id, CAPABILITY[op], "role", role_id, None, role_id), source
        )
        if not checked.allowed:
            return Requested(checked, None)
        change = await self.reconciler.submit(
            guild_id,
            member_id,
            role_id,
            op,
            reason=reason,
            requested_by=actor_id,
            source=source,
            decision_id=checked.decision.id,
        )
        return Requested(checked, change)
