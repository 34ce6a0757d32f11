"""A grant or revoke asked for by a person (TUI, CLI or slash command): the policy first, the
decision linked to the change, and only an ALLOW reaches whoever carries changes out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from console.model.records import RoleChange
from console.policy.engine import Request
from console.policy.gatekeeper import Checked, Gatekeeper
from console.roles.reconciler import REASON_MAX, new_change

if TYPE_CHECKING:
    from console.store import AuditStore

CAPABILITY = {"grant": "roles.grant", "revoke": "roles.revoke"}


@dataclass(frozen=True, slots=True)
class Requested:
    checked: Checked
    change: RoleChange | None  # None when the policy denied it


class Submitter(Protocol):
    """Takes an allowed change: commits it pending, then sees it carried out."""

    async def submit(
        self,
        guild_id: int,
        member_id: int,
        role_id: int,
        op: str,
        *,
        reason: str | None,
        requested_by: int | None,
        source: str,
        decision_id: int | None,
    ) -> RoleChange: ...


class Handoff:
    """Hands an allowed change to the collector that runs on the store (``audit-console role``
    while a collector holds it): the change is committed pending, as the reconciler commits it,
    and that collector's reconciler carries it out."""

    def __init__(self, store: AuditStore, *, deadline_s: float) -> None:
        self.store = store
        self.deadline_s = deadline_s

    async def submit(
        self,
        guild_id: int,
        member_id: int,
        role_id: int,
        op: str,
        *,
        reason: str | None,
        requested_by: int | None,
        source: str,
        decision_id: int | None,
    ) -> RoleChange:
        change = new_change(
            self.store,
            guild_id,
            member_id,
            role_id,
            op,
            reason=reason,
            requested_by=requested_by,
            source=source,
            decision_id=decision_id,
            deadline_s=self.deadline_s,
        )
        await self.store.record_role_change(change)
        return change


class RoleRequests:
    def __init__(self, gatekeeper: Gatekeeper, submitter: Submitter) -> None:
        self.gatekeeper = gatekeeper
        #: The reconciler in a connected process; a Handoff beside a running collector.
        self.submitter = submitter

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
        change = await self.submitter.submit(
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
