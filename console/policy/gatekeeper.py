"""Checks requests against the policy and records every decision, allowed or denied.

Everything the console or its bot does for a person goes through :meth:`Gatekeeper.check`; the
decision is committed before the caller acts on it, so the record exists even if acting fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from console.model.permissions import FLAGS
from console.model.records import Decision
from console.policy.engine import BreakGlassSession, Request, UnknownCapability, Verdict, evaluate
from console.policy.explain import Explanation, explain_capability, explain_permission
from console.policy.guild import GuildSnapshot, SnapshotError
from console.policy.policy_file import PolicyFile
from console.policy.resolver import UnknownChannel, UnknownMember
from console.store import Store

SOURCES = ("TUI", "CLI", "BOT")
PERMISSION_NAMES = frozenset(FLAGS.values())


class GateError(Exception):
    """The question cannot be answered (no guild state, unknown member, …): one line."""


@dataclass(frozen=True, slots=True)
class Checked:
    verdict: Verdict
    decision: Decision

    @property
    def allowed(self) -> bool:
        return self.verdict.allowed


class Gatekeeper:
    def __init__(
        self,
        store: Store,
        policy: PolicyFile,
        live_guild: Callable[[int], GuildSnapshot | None] | None = None,
    ) -> None:
        """``live_guild``: the collector's current guild state; without it (``open``, the CLI) the
        state stored by the last collector is used."""
        self.store = store
        self.policy = policy
        self._live_guild = live_guild

    async def guild(self, guild_id: int) -> GuildSnapshot:
        try:
            snap = self._live_guild(guild_id) if self._live_guild else None
            if snap is None:
                rest = await self.store.guild_state(guild_id)
                snap = GuildSnapshot.from_rest(rest) if rest is not None else None
        except SnapshotError as e:
            raise GateError(f"the guild state is not usable: {e}") from None
        if snap is None:
            raise GateError(
                f"no guild state for guild {guild_id}: run the console connected to it first, or use --state FILE"
            )
        return snap

    async def session(self, guild_id: int, user_id: int) -> BreakGlassSession | None:
        found = await self.store.break_glass_session(guild_id, user_id)
        if found is None:
            return None
        started, expires, ended = found
        return BreakGlassSession(user_id, started, expires if ended is None else min(expires, ended))

    async def check(
        self, guild_id: int, request: Request, source: str, *, guild: GuildSnapshot | None = None, record: bool = True
    ) -> Checked:
        """Decide and (unless ``record`` is False: explain answers questions, it does not act)
        record the decision."""
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}")
        snap = guild or await self.guild(guild_id)
        now = self.store.now_ms()
        session = await self.session(guild_id, request.actor_id)
        try:
            verdict = evaluate(self.policy.policy, snap, request, now_ms=now, break_glass=session)
        except (UnknownMember, UnknownChannel, UnknownCapability) as e:
            raise GateError(str(e).strip("'\"")) from None
        decision = to_decision(guild_id, now, self.store.ids.make(now), request, verdict, source)
        if record:
            await self.store.record_decision(decision)
        return Checked(verdict, decision)

    async def explain(self, guild_id: int, member_id: int, what: str, channel_id: int | None) -> Explanation:
        """Why may ``member_id`` do ``what`` (a capability, or a Discord permission name) here, with
        their break-glass session counted. A question, not an action: nothing is recorded.
        Raises GateError (no usable guild state) or ExplainError (unknown member, channel, name)."""
        guild = await self.guild(guild_id)
        now = self.store.now_ms()
        if what.upper() in PERMISSION_NAMES:
            return explain_permission(guild, member_id, what.upper(), channel_id=channel_id, now_ms=now)
        session = await self.session(guild_id, member_id)
        return explain_capability(
            self.policy.policy, guild, member_id, what, channel_id=channel_id, now_ms=now, break_glass=session
        )

    async def break_glass(
        self, guild_id: int, actor_id: int, *, on: bool, source: str, minutes: int | None = None
    ) -> tuple[Checked, str]:
        """Turn break-glass on or off for ``actor_id`` (itself a checked, recorded decision)."""
        checked = await self.check(guild_id, Request(actor_id, "policy.break_glass"), source)
        if not checked.allowed:
            return checked, "break-glass not changed"
        now = self.store.now_ms()
        rules = self.policy.policy.break_glass
        if not on:
            ended = await self.store.end_break_glass(guild_id, actor_id, ended_ms=now, ended_by=actor_id)
            return checked, "break-glass turned off" if ended else "break-glass was not on"
        if not rules.enabled:
            return checked, "break-glass is turned off in the policy"
        length = min(minutes or rules.max_minutes, rules.max_minutes)
        expires = now + length * 60_000
        await self.store.start_break_glass(
            guild_id,
            actor_id,
            session_id=self.store.ids.make(now),
            started_ms=now,
            expires_ms=expires,
            decision_id=checked.decision.id,
        )
        return checked, f"break-glass on for {length} min"


def to_decision(
    guild_id: int, now_ms: int, decision_id: int, request: Request, verdict: Verdict, source: str
) -> Decision:
    a = verdict.actor
    return Decision(
        id=decision_id,
        guild_id=guild_id,
        created_at=now_ms,
        actor_id=a.id,
        actor_name=a.name,
        actor_roles=list(a.roles),
        actor_admin=a.admin,
        actor_owner=a.owner,
        capability=request.capability,
        resource_type=request.resource_type,
        resource_id=request.resource_id,
        source=source,
        result=verdict.result,
        reason_code=verdict.reason_code,
        path=[dict(s) for s in verdict.path],
        policy_version=verdict.policy_version,
    )
