"""Deterministic stores for UI tests: the simulator's scenario with a frozen clock and seed,
plus hand-made decisions, role changes and gaps with fixed ids and times."""

from __future__ import annotations

from pathlib import Path

from console.ingest.names import names_from_guild
from console.model.records import Attempt, Decision, RoleChange
from console.model.snowflake import from_ms
from console.sim import SimConfig, SimServer
from console.store import Store

#: 2026-11-20 12:00:00 UTC: every "now" in UI tests.
FROZEN_MS = 1_795_262_400_000

HOSTILE = {
    "markup": "[@click=app.quit]click me[/] [bold red]x[/]",
    "escapes": "bidi\u202eevil\u202c esc\x1b]52;c;ZXZpbA==\x07 c1\x9b31m zw\u200bx",
}


def frozen_clock() -> int:
    return FROZEN_MS


async def seed_store(path: Path, *, history: int = 120, hostile: bool = True) -> dict[str, int]:
    """Fill a store at ``path``; returns ids tests refer to."""
    sim = SimServer(SimConfig(seed=11, clock=lambda: FROZEN_MS / 1000))
    sim.seed_history(history, days_back=3)
    made = sim.emit_all_types()
    store = await Store.open(path, clock=frozen_clock)
    gid = sim.guild_id
    for kind, items in names_from_guild(sim.guild.gateway_guild_object()).items():
        await store.upsert_names(gid, kind, items)
    await store.save_guild_state(
        gid,
        {"guild": {"id": str(gid)}, "channels": [], "members": [sim.guild.member_object(u) for u in sim.guild.members]},
    )
    await store.add_entries(sim.guild.audit_log, source="backfill", guild_id=gid, received_at=FROZEN_MS)
    ids: dict[str, int] = {"guild": gid, "role_update": next(int(e["id"]) for e in made if e["action_type"] == 31)}
    if hostile:
        actor = sim.guild.staff_ids()[0]
        hostile_entry = {
            "id": str(from_ms(FROZEN_MS + 1)),
            "action_type": 22,
            "user_id": str(actor),
            "target_id": str(sim.guild.regular_ids()[0]),
            "reason": HOSTILE["markup"] + " " + HOSTILE["escapes"],
        }
        await store.add_entries([hostile_entry], source="gateway", guild_id=gid, received_at=FROZEN_MS)
        await store.upsert_names(gid, "user", [(sim.guild.regular_ids()[0], HOSTILE["escapes"])])
        ids["hostile"] = int(hostile_entry["id"])
    # A gap that backfill closed, part of it beyond retention.
    gap = await store.open_gap(
        gid, "start", from_id=from_ms(FROZEN_MS - 50 * 86_400_000), started_at=FROZEN_MS - 50 * 86_400_000
    )
    await store.close_gap(gap, status="partial", recovered=37, beyond_retention_ms=5 * 86_400_000)
    ids["gap"] = gap.id
    staff = sim.guild.staff_ids()
    member = sim.guild.regular_ids()[1]
    role = sim.guild.assignable_role_ids()[0]
    decision = Decision(
        id=from_ms(FROZEN_MS - 90_000) | 1,
        guild_id=gid,
        created_at=FROZEN_MS - 90_000,
        actor_id=staff[1],
        actor_name=None,
        actor_roles=[role],
        actor_admin=False,
        actor_owner=False,
        capability="roles.grant",
        resource_type="role",
        resource_id=role,
        source="TUI",
        result="DENY",
        reason_code="DISCORD_GATE_DENIED",
        path=[
            {"step": "BREAK_GLASS", "found": "inactive", "decided": False},
            {"step": "RBAC_GRANT_ALLOW", "found": "@Moderators allows roles.grant", "decided": False},
            {"step": "DISCORD_GATE", "found": "lacks MANAGE_ROLES", "decided": True},
        ],
        policy_version="sha256:4f2a9c",
    )
    await store.record_decision(decision)
    ids["decision"] = decision.id
    for n, state in enumerate(("pending", "pending", "confirmed")):
        created = FROZEN_MS - 60_000 * (n + 1)
        change = RoleChange(
            id=from_ms(created) | 2 + n,
            guild_id=gid,
            member_id=sim.guild.regular_ids()[2 + n],
            role_id=role,
            op="grant" if n != 1 else "revoke",
            reason="promotion after review",
            requested_by=staff[0],
            source="TUI",
            decision_id=decision.id,
            state=state,
            created_at=created,
            updated_at=created + 5000,
            next_attempt_at=FROZEN_MS + 4000 if state == "pending" else None,
            deadline_at=created + 600_000,
            attempts=3 - n,
            observed_at=created + 7000 if state == "confirmed" else None,
            error=None,
            linked_entry_id=None,
            message_id=None,
            cancelled_by=None,
        )
        await store.record_role_change(change)
        for a in range(change.attempts):
            await store.record_attempt(Attempt(0, change.id, created + a * 2000, 204, 80 + a, "not applied yet", None))
        ids[f"role_change_{n}"] = change.id
    ids["member"] = member
    await store.close()
    return ids
