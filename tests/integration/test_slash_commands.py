"""`/audit` end to end: the simulated Discord dispatches INTERACTION_CREATE to the real hikari
client; the console checks the policy (source BOT), records the decision, answers ephemerally,
and — when allowed — carries the role change through to confirmation."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from console.config import Settings
from console.discord.bot import HikariGateway, attach_services
from console.ingest.collector import Collector
from console.model.filters import Filter
from console.model.location import StoreLocation
from console.roles.reconciler import Schedule
from console.secret import Secret
from console.services import Services
from console.sim import SimServer
from console.sim.demo_policy import demo_policy_text
from console.store import AuditStore, open_store
from console.store import timeline as tl

from .conftest import eventually


class Clock:
    """Wall time plus an offset a test can move (break-glass expiry without waiting 15 minutes)."""

    def __init__(self) -> None:
        self.offset_ms = 0

    def __call__(self) -> int:
        return int(time.time() * 1000) + self.offset_ms


class Live:
    def __init__(self, store: AuditStore, collector: Collector, services: Services, responder, clock: Clock) -> None:
        self.store, self.collector, self.services, self.responder, self.clock = (
            store,
            collector,
            services,
            responder,
            clock,
        )


async def start_live(
    sim: SimServer, tmp_path: Path, policy_text: str, clock: Clock | None = None, location: StoreLocation | None = None
) -> Live:
    """The collector and the services on the store at ``location`` (a SQLite file in ``tmp_path``
    unless given)."""
    clock = clock or Clock()
    location = location or tmp_path / "audit.db"
    (tmp_path / "policy.toml").write_text(policy_text)
    store = await open_store(location, clock=clock)
    collector = Collector(store, guild_ids=[sim.guild_id])
    gateway = HikariGateway(Secret(sim.token), rest_url=sim.rest_url, events=collector)
    await collector.start(gateway)
    await eventually(lambda: sim.guild_id in collector.guilds, what="guild state")
    services = Services(
        store,
        Settings(db=location, policy=tmp_path / "policy.toml"),
        live_guild=collector.guilds.snapshot,
        # No change expires, nor a revert goes unlinked, because a loaded machine is slow.
        schedule=Schedule(first_s=0.3, cap_s=1.0, deadline_s=3600, link_wait_s=300),
    )
    responder = await attach_services(gateway, collector, services)
    await eventually(lambda: sim.commands.by_name("audit") is not None, what="/audit registered")
    return Live(store, collector, services, responder, clock)


async def stop_live(live: Live) -> None:
    await live.responder.close()
    await live.services.close()
    await live.collector.stop()
    await live.store.close()


@pytest.fixture
async def live(sim: SimServer, tmp_path: Path) -> AsyncIterator[Live]:
    text = demo_policy_text(sim) + (
        f'\n[[grants]]\nrole = "{sim.guild.role_id("Helpers")}"\ncapability = "policy.break_glass"\n'
        'effect = "ALLOW"\npriority = 5\n'
    )
    text = text.replace("max_minutes = 15", "max_minutes = 15\nlifts_discord_gate = true")
    lv = await start_live(sim, tmp_path, text)
    try:
        yield lv
    finally:
        await stop_live(lv)


def member_with(sim: SimServer, role_name: str) -> int:
    rid = sim.guild.role_id(role_name)
    return next(u for u in sim.guild.staff_ids() if rid in [int(r) for r in sim.guild.member_object(u)["roles"]])


def grant(sim: SimServer, actor: int, member: int, role: int, reason: str = "verified in #intro"):
    return sim.invoke_command(
        actor,
        "audit",
        [
            {
                "name": "role",
                "options": [
                    {
                        "name": "grant",
                        "options": [
                            {"name": "member", "value": str(member)},
                            {"name": "role", "value": str(role)},
                            {"name": "reason", "value": reason},
                        ],
                    }
                ],
            }
        ],
    )


def member_has(sim: SimServer, uid: int, rid: int) -> bool:
    return rid in [int(r) for r in sim.guild.member_object(uid)["roles"]]


async def test_denied_with_no_grant_and_by_the_discord_gate(sim: SimServer, live: Live) -> None:
    verified = sim.guild.role_id("Verified")
    newcomer = next(u for u in sim.guild.regular_ids() if not member_has(sim, u, verified))

    helper = grant(sim, member_with(sim, "Helpers"), newcomer, verified)
    answer = await helper.wait_response()
    assert helper.ephemeral
    assert "Denied: **NO_GRANT**" in answer["data"]["content"]
    assert "decided at `no_grant`" in answer["data"]["content"]

    trial = grant(sim, member_with(sim, "Trial Mod"), newcomer, verified)
    answer = await trial.wait_response()
    assert "Denied: **DISCORD_GATE_DENIED**" in answer["data"]["content"]
    assert "lacks MANAGE_ROLES" in answer["data"]["content"]
    assert not member_has(sim, newcomer, verified), "a denied request changes nothing"

    # Both are recorded, from source BOT, with their paths: the feed's DENY filter finds them.
    refs = await tl.page_refs(live.store.reader, Filter(results=frozenset({"DENY"})), limit=10)
    decisions = [r for r in await tl.fetch(live.store.reader, refs)]
    codes = sorted(d.reason_code for d in decisions)
    assert codes == ["DISCORD_GATE_DENIED", "NO_GRANT"]
    gate = next(d for d in decisions if d.reason_code == "DISCORD_GATE_DENIED")
    assert gate.source == "BOT"
    assert gate.capability == "roles.grant"
    assert gate.resource_id == verified
    assert [s["step"] for s in gate.path][-2:] == ["rbac", "discord_gate"]


async def test_an_allowed_grant_is_confirmed_in_discord(sim: SimServer, live: Live) -> None:
    verified = sim.guild.role_id("Verified")
    newcomer = next(u for u in sim.guild.regular_ids() if not member_has(sim, u, verified))
    mod = member_with(sim, "Moderators")
    inv = grant(sim, mod, newcomer, verified, "passed verification")
    answer = await inv.wait_response()
    assert "allowed (RBAC_GRANT_ALLOW)" in answer["data"]["content"]

    async def confirmed() -> bool:
        rows = await live.store.reader.execute_fetchall("SELECT state FROM role_changes")
        return [r[0] for r in rows] == ["confirmed"]

    await eventually(confirmed, what="confirmed")
    assert member_has(sim, newcomer, verified)
    entry = sim.guild.audit_log[-1]
    assert entry["action_type"] == 25
    assert "passed verification [request " in entry["reason"]


async def test_break_glass_activates_is_used_expires(sim: SimServer, live: Live) -> None:
    helper = member_with(sim, "Helpers")
    verified = sim.guild.role_id("Verified")
    newcomer = next(u for u in sim.guild.regular_ids() if not member_has(sim, u, verified))

    on = sim.invoke_command(
        helper,
        "audit",
        [{"name": "break-glass", "options": [{"name": "state", "value": "on"}, {"name": "minutes", "value": 60}]}],
    )
    assert "Break-glass on for 15 min (RBAC_GRANT_ALLOW)" in (await on.wait_response())["data"]["content"]

    used = grant(sim, helper, newcomer, verified, "urgent: raid cleanup")
    assert "allowed (BREAK_GLASS)" in (await used.wait_response())["data"]["content"]
    await eventually(lambda: member_has(sim, newcomer, verified), what="the break-glass grant applied")

    live.clock.offset_ms += 16 * 60_000
    other = next(u for u in sim.guild.regular_ids() if not member_has(sim, u, verified))
    expired = grant(sim, helper, other, verified)
    assert "Denied: **NO_GRANT**" in (await expired.wait_response())["data"]["content"]

    rows = await live.store.reader.execute_fetchall(
        "SELECT capability, result, reason_code, path FROM decisions ORDER BY id"
    )
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("policy.break_glass", "ALLOW", "RBAC_GRANT_ALLOW"),
        ("roles.grant", "ALLOW", "BREAK_GLASS"),
        ("roles.grant", "DENY", "NO_GRANT"),
    ]
    assert '"expired at' in rows[-1][3]


async def test_explain_and_audit_set(sim: SimServer, live: Live) -> None:
    trial = member_with(sim, "Trial Mod")
    inv = sim.invoke_command(
        trial, "audit", [{"name": "explain", "options": [{"name": "capability", "value": "roles.grant"}]}]
    )
    content = (await inv.wait_response())["data"]["content"]
    assert f"<@{trial}> roles.grant: **DENIED** (DISCORD_GATE_DENIED)" in content
    assert "→ discord_gate: lacks MANAGE_ROLES" in content

    mod_log = sim.guild.core_channels["mod-log"]
    refused = sim.invoke_command(
        member_with(sim, "Moderators"),
        "audit",
        [{"name": "audit-set", "options": [{"name": "channel", "value": str(mod_log)}]}],
    )
    assert "Denied: **NO_GRANT**" in (await refused.wait_response())["data"]["content"]
    admin = member_with(sim, "Admin")
    ok = sim.invoke_command(
        admin, "audit", [{"name": "audit-set", "options": [{"name": "channel", "value": str(mod_log)}]}]
    )
    assert f"<#{mod_log}>" in (await ok.wait_response())["data"]["content"]
    assert await live.store.setting(f"audit_channel:{sim.guild_id}") == str(mod_log)
