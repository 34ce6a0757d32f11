"""A guild of 100,000 members: the policy gate and explain work for a member the console has never
seen, with one ``GET /guilds/{id}/members/{user}`` (counted by the simulator) and a bounded cache
kept current by GUILD_MEMBER_UPDATE/REMOVE; nobody's member list is ever asked for whole. The
real hikari client against the simulator, a real SQLite store."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from console.config import Settings
from console.discord.bot import HikariGateway, attach_services
from console.ingest.collector import Collector
from console.policy.engine import Request
from console.policy.gatekeeper import Checked, Gatekeeper
from console.roles.reconciler import Schedule
from console.secret import Secret
from console.services import Services
from console.sim import SimConfig, SimServer
from console.sim.demo_policy import demo_policy_text
from console.sim.testing import eventually
from console.store import Store

#: 40 members built at start and two bots, plus the crowd: 100,000 in all.
CROWD = 100_000 - 42


@dataclass
class Live:
    sim: SimServer
    store: Store
    collector: Collector
    services: Services
    responder: object

    @property
    def gate(self) -> Gatekeeper:
        return self.services.gatekeeper

    async def grant_check(self, actor: int, role: int) -> Checked:
        return await self.gate.check(self.sim.guild_id, Request(actor, "roles.grant", "role", role, None, role), "TUI")


async def start_live(sim: SimServer, tmp_path: Path, *, member_cache: int = 10_000) -> Live:
    (tmp_path / "policy.toml").write_text(demo_policy_text(sim))
    store = await Store.open(tmp_path / "audit.db")
    collector = Collector(store, guild_ids=[sim.guild_id])
    gateway = HikariGateway(Secret(sim.token), rest_url=sim.rest_url, events=collector)
    await collector.start(gateway)
    await eventually(lambda: sim.guild_id in collector.guilds, what="guild state")
    settings = Settings(db=tmp_path / "audit.db", policy=tmp_path / "policy.toml", member_cache=member_cache)
    services = Services(
        store, settings, live_guild=collector.guilds.snapshot, schedule=Schedule(first_s=0.3, cap_s=1.0)
    )
    responder = await attach_services(gateway, collector, services)
    return Live(sim, store, collector, services, responder)


async def stop_live(live: Live) -> None:
    await live.responder.close()  # type: ignore[attr-defined]
    await live.services.close()
    await live.collector.stop()
    await live.store.close()


@pytest.fixture
async def big() -> AsyncIterator[SimServer]:
    server = SimServer(SimConfig(seed=7, heartbeat_interval_ms=500, crowd=CROWD))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def live(big: SimServer, tmp_path: Path) -> AsyncIterator[Live]:
    lv = await start_live(big, tmp_path)
    try:
        yield lv
    finally:
        await stop_live(lv)


def moderator_never_seen(sim: SimServer, i: int = 54_321) -> int:
    """A crowd member who has been a moderator all along (no dispatch ever named them)."""
    uid = sim.guild.crowd_member(i)
    sim.guild.add_member_role(uid, sim.guild.role_id("Moderators"))
    return uid


def test_the_simulated_guild_is_big_and_cheap() -> None:
    started = time.perf_counter()
    sim = SimServer(SimConfig(seed=7, crowd=CROWD))
    assert time.perf_counter() - started < 2.0
    g = sim.guild
    assert g.member_total() == 100_000
    assert len(g.members) == 42, "the crowd is not built at start"
    created = g.gateway_guild_object()
    assert created["large"] is True
    assert created["member_count"] == 100_000
    assert [m["user"]["id"] for m in created["members"]] == [str(g.bot_id)], "GUILD_CREATE: only the bot"
    uid = g.crowd_member(99_957)
    assert g.is_member(uid)
    assert g.member_object(uid)["user"]["username"].endswith("_99957")
    assert not g.is_member(uid + 1)


def test_a_crowd_leaves_the_rest_of_the_world_as_it_was() -> None:
    def created(crowd: int) -> dict:
        return SimServer(SimConfig(seed=3, clock=lambda: 1_800_000_000.0, crowd=crowd)).guild.gateway_guild_object()

    plain, small = created(0), created(10)
    assert plain["large"] is small["large"] is False
    assert {k: v for k, v in plain.items() if k not in ("members", "member_count")} == {
        k: v for k, v in small.items() if k not in ("members", "member_count")
    }
    assert small["members"][:42] == plain["members"], "the built members are the same"
    assert (len(plain["members"]), len(small["members"]), small["member_count"]) == (42, 52, 52)


async def test_a_grant_by_a_moderator_never_seen_is_checked_with_one_fetch(big: SimServer, live: Live) -> None:
    mod = moderator_never_seen(big)
    assert mod not in live.collector.guilds.snapshot(big.guild_id).members
    assert live.collector.guilds.cached_members(big.guild_id) == 1, "GUILD_CREATE brought the bot alone"

    target = big.guild.crowd_member(1_234)
    hosts = big.guild.role_id("Event Hosts")
    assert live.services.roles is not None
    done = await live.services.roles.request(
        big.guild_id, mod, target, hosts, "grant", reason="hosts Friday's quiz", source="TUI"
    )
    assert done.checked.allowed, done.checked.verdict.denial()
    assert done.checked.verdict.reason_code == "RBAC_GRANT_ALLOW"
    assert big.rest.member_fetches[mod] == 1
    stored = await live.store.get_decision(done.checked.decision.id)
    assert stored is not None
    assert stored.actor_id == mod
    user = big.guild.member_object(mod)["user"]
    assert stored.actor_name == (user["global_name"] or user["username"])
    assert big.guild.role_id("Moderators") in stored.actor_roles

    # The grant is carried out and confirmed on a member the console never held either.
    await eventually(lambda: str(hosts) in big.guild.member_object(target)["roles"], what="the role applied")

    # The second decision about the same moderator: from the cache, no request.
    again = await live.grant_check(mod, hosts)
    assert again.allowed
    assert big.rest.member_fetches[mod] == 1

    # Two decisions at once about another unseen moderator: still one request.
    other = moderator_never_seen(big, 77_777)
    both = await asyncio.gather(live.grant_check(other, hosts), live.grant_check(other, hosts))
    assert [c.allowed for c in both] == [True, True]
    assert big.rest.member_fetches[other] == 1

    # Nobody asked for every member: no list page, no chunk request.
    assert big.rest.member_pages == 0
    assert big.gateway.member_requests == 0


async def test_a_member_update_changes_the_next_decision_without_a_fetch(big: SimServer, live: Live) -> None:
    mod = moderator_never_seen(big)
    role = big.guild.role_id("Event Hosts")
    assert (await live.grant_check(mod, role)).allowed
    assert big.rest.member_fetches[mod] == 1

    # Another admin takes the Moderators role away: Discord sends GUILD_MEMBER_UPDATE.
    moderators = big.guild.role_id("Moderators")
    big.member_role_change(mod, moderators, add=False, reason="stepping down", actor=big.guild.owner_id)
    await eventually(
        lambda: str(moderators) not in live.collector.guilds.member(big.guild_id, mod)["roles"],
        what="GUILD_MEMBER_UPDATE applied",
    )
    denied = await live.grant_check(mod, role)
    assert not denied.allowed
    assert denied.verdict.reason_code == "NO_GRANT"
    assert big.rest.member_fetches[mod] == 1, "the update came by the gateway, not by a fetch"


async def test_a_member_who_left_is_denied_in_one_clear_line(big: SimServer, live: Live) -> None:
    role = big.guild.role_id("Event Hosts")
    # Left while the console was away (no dispatch reached it): one fetch, Unknown Member.
    gone = moderator_never_seen(big, 10)
    assert big.guild.remove_member(gone)
    denied = await live.grant_check(gone, role)
    assert not denied.allowed
    assert denied.verdict.denial() == (
        f"MEMBER_UNKNOWN — member: {gone} is not in the guild "
        "(Discord answered Unknown Member: they left, or never joined)"
    )
    assert big.rest.member_fetches[gone] == 1
    stored = await live.store.get_decision(denied.decision.id)
    assert stored is not None
    assert (stored.result, stored.reason_code) == ("DENY", "MEMBER_UNKNOWN")

    answer = await live.gate.explain(big.guild_id, gone, "roles.grant", None)
    assert (answer.allowed, answer.reason_code) == (False, "MEMBER_UNKNOWN")
    assert answer.lines() == [
        f"→ member: {gone} is not in the guild (Discord answered Unknown Member: they left, or never joined) [DENY]"
    ]

    # Held, then left: GUILD_MEMBER_REMOVE says so, and no fetch is needed to know it.
    mod = moderator_never_seen(big, 11)
    assert (await live.grant_check(mod, role)).allowed
    big.member_leave(mod)
    await eventually(lambda: live.collector.guilds.member(big.guild_id, mod) is None, what="GUILD_MEMBER_REMOVE")
    answer = await live.gate.explain(big.guild_id, mod, "MANAGE_ROLES", None)
    assert answer.lines() == [f"→ member: {mod} is not in the guild (Discord reported them leaving) [DENY]"]
    assert big.rest.member_fetches[mod] == 1


async def test_the_member_cache_is_bounded(big: SimServer, tmp_path: Path) -> None:
    live = await start_live(big, tmp_path, member_cache=10)
    try:
        asked = [big.guild.crowd_member(500 + i) for i in range(15)]
        for uid in asked:
            answer = await live.gate.explain(big.guild_id, uid, "VIEW_AUDIT_LOG", None)
            assert answer.reason_code == "DISCORD_GATE_DENIED"  # plain members lack it
        assert live.collector.guilds.cached_members(big.guild_id) == 10
        # The oldest went first: asked about again, they are fetched again; the newest are not.
        await live.gate.explain(big.guild_id, asked[-1], "VIEW_AUDIT_LOG", None)
        assert big.rest.member_fetches[asked[-1]] == 1
        await live.gate.explain(big.guild_id, asked[0], "VIEW_AUDIT_LOG", None)
        assert big.rest.member_fetches[asked[0]] == 2
        assert live.collector.guilds.cached_members(big.guild_id) == 10
    finally:
        await stop_live(live)


async def _cli(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "console",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"} | env,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 300)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"audit-console {' '.join(args)} did not finish in 300 s") from None
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_explain_on_the_command_line_asks_discord_about_a_member_not_stored(
    big: SimServer, tmp_path: Path
) -> None:
    # What a collector of a big guild stores: roles and channels, a handful of members.
    g = big.guild
    store = await Store.open(tmp_path / "audit.db")
    await store.save_guild_state(
        big.guild_id,
        {"guild": g.guild_object(), "channels": g.channel_objects(), "members": [g.member_object(g.bot_id)]},
    )
    await store.close()
    (tmp_path / "policy.toml").write_text(demo_policy_text(big))
    base = ("explain", "--db", str(tmp_path / "audit.db"), "--policy", str(tmp_path / "policy.toml"))
    base += ("--rest-url", big.rest_url, "--guild", str(big.guild_id), "--capability", "roles.grant")
    mod, gone = moderator_never_seen(big), moderator_never_seen(big, 12)
    assert big.guild.remove_member(gone)

    code, out, err = await _cli(*base, "--member", str(mod), env={"DISCORD_TOKEN": big.token})
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == "roles.grant: ALLOWED (RBAC_GRANT_ALLOW)"
    assert big.rest.member_fetches[mod] == 1

    code, out, err = await _cli(*base, "--member", str(gone), env={"DISCORD_TOKEN": big.token})
    assert (code, err) == (1, "")
    assert out.splitlines() == [
        "roles.grant: DENIED (MEMBER_UNKNOWN)",
        f"→ member: {gone} is not in the guild (Discord answered Unknown Member: they left, or never joined) [DENY]",
    ]

    # Without the token the question cannot be answered: one line, exit 2, and nothing asked.
    code, out, err = await _cli(*base, "--member", str(gone), env={})
    assert code == 2
    assert err.splitlines() == [
        f"audit-console: member {gone} is not in the stored state of guild {big.guild_id} (it keeps the members "
        "the console needed): give the bot token (--token-file or $DISCORD_TOKEN) to ask Discord"
    ]
    assert big.rest.member_fetches[gone] == 1
