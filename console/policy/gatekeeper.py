"""Checks requests against the policy and records every decision, allowed or denied.

Everything the console or its bot does for a person goes through :meth:`Gatekeeper.check`; the
decision is committed before the caller acts on it, so the record exists even if acting fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from console.ingest.source import SourceError
from console.model.permissions import FLAGS
from console.model.records import Decision
from console.policy.engine import Actor, BreakGlassSession, Request, UnknownCapability, Verdict, evaluate
from console.policy.explain import (
    MEMBER_UNKNOWN,
    Explanation,
    explain_capability,
    explain_permission,
    member_unknown,
    not_in_guild_step,
)
from console.policy.guild import GuildSnapshot, SnapshotError
from console.policy.policy_file import PolicyFile
from console.policy.resolver import UnknownChannel, UnknownMember
from console.store import AuditStore

SOURCES = ("TUI", "CLI", "BOT")
PERMISSION_NAMES = frozenset(FLAGS.values())


class Members(Protocol):
    """Members on demand (the collector's guild state, once connected)."""

    async def ensure_member(self, guild_id: int, user_id: int) -> str | None:
        """None once the guild state holds the member; else why they are not in the guild."""
        ...


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
        store: AuditStore,
        policy: PolicyFile,
        live_guild: Callable[[int], GuildSnapshot | None] | None = None,
    ) -> None:
        """``live_guild``: the collector's current guild state; without it (``open``, the CLI) the
        state stored by the last collector is used."""
        self.store = store
        self.policy = policy
        self._live_guild = live_guild
        #: Set when connected (console.discord.bot.attach_services): a member the guild state
        #: lacks is fetched from Discord before the decision, so the engine stays pure.
        self.members: Members | None = None

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

    async def with_member(self, guild_id: int, guild: GuildSnapshot, user_id: int) -> tuple[GuildSnapshot, str | None]:
        """The guild state holding ``user_id`` (fetched from Discord if the state lacks them), or
        why they are not in the guild. Without a way to fetch, the state as it is."""
        if self.members is None:
            return guild, None
        known = user_id in guild.members
        try:
            # Also for a member already held: it marks them used, the last the bound evicts.
            gone = await self.members.ensure_member(guild_id, user_id)
        except SourceError as e:
            raise GateError(f"cannot ask Discord about member {user_id}: {e}") from None
        except SnapshotError as e:
            raise GateError(str(e)) from None
        if gone is not None:
            return guild, gone
        return (guild if known else await self.guild(guild_id)), None

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
        snap, gone = await self.with_member(guild_id, guild or await self.guild(guild_id), request.actor_id)
        now = self.store.now_ms()
        if gone is not None:
            known = self.policy.policy.capabilities
            if request.capability not in known:
                raise GateError(f"unknown capability {request.capability!r} (known: {', '.join(sorted(known))})")
            verdict = _not_a_member(request.actor_id, gone, self.policy.policy.version)
        else:
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
        guild, gone = await self.with_member(guild_id, await self.guild(guild_id), member_id)
        if gone is not None:
            return member_unknown(member_id, gone)
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


def _not_a_member(user_id: int, why: str, policy_version: str) -> Verdict:
    """DENY: nothing is decided for someone who is not in the guild (recorded like any decision)."""
    return Verdict(
        False,
        MEMBER_UNKNOWN,
        (not_in_guild_step(user_id, why),),
        Actor(user_id, None, (), False, False),
        0,
        policy_version,
    )


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
