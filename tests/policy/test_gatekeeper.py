"""The gatekeeper against a real SQLite store: every check is recorded with its path; break-glass
turns on, is used, expires and is turned off, each step on record."""

from __future__ import annotations

import pytest

from console.model.filters import Filter
from console.policy.document import parse_policy
from console.policy.engine import Request
from console.policy.gatekeeper import GateError, Gatekeeper
from console.policy.policy_file import PolicyFile
from console.store import Store
from console.store import timeline as tl

from .guilds import GUILD, guild, member, role

HEAD, MOD, TARGET = 21, 22, 23
U_HEAD, U_MOD = 301, 302
G = guild(
    roles=[role(HEAD, "Head mod", 6, "MANAGE_ROLES"), role(MOD, "Mod", 5), role(TARGET, "Verified", 1)],
    members=[member(U_HEAD, HEAD), member(U_MOD, MOD)],
)
POLICY_TEXT = f"""
[break_glass]
max_minutes = 15
[[grants]]
role = "{HEAD}"
capability = "policy.break_glass"
effect = "ALLOW"
""".encode()


class Clock:
    def __init__(self) -> None:
        self.ms = 1_800_000_000_000

    def __call__(self) -> int:
        return self.ms


@pytest.fixture
async def gk(tmp_path):
    clock = Clock()
    store = await Store.open(tmp_path / "g.db", clock=clock)
    pf = PolicyFile(None)
    pf.policy = parse_policy(POLICY_TEXT, "p.toml")
    await store.save_guild_state(
        GUILD,
        {
            "guild": {
                "id": str(GUILD),
                "name": "g",
                "owner_id": "1",
                "roles": [
                    {"id": str(r.id), "name": r.name, "position": r.position, "permissions": str(r.permissions)}
                    for r in G.roles.values()
                ],
            },
            "channels": [],
            "members": [
                {"user": {"id": str(m.id), "username": m.name}, "roles": [str(r) for r in m.roles]}
                for m in G.members.values()
            ],
        },
    )
    yield Gatekeeper(store, pf), clock
    await store.close()


async def test_every_check_is_recorded_with_its_path(gk):
    keeper, _ = gk
    denied = await keeper.check(GUILD, Request(U_MOD, "roles.grant", "role", TARGET, None, TARGET), "TUI")
    assert not denied.allowed
    assert denied.verdict.reason_code == "NO_GRANT"
    stored = await keeper.store.get_decision(denied.decision.id)
    assert stored is not None
    assert (stored.result, stored.reason_code, stored.source, stored.capability) == (
        "DENY",
        "NO_GRANT",
        "TUI",
        "roles.grant",
    )
    assert (stored.resource_type, stored.resource_id, stored.actor_roles) == ("role", TARGET, [MOD])
    assert stored.path == list(denied.verdict.path)
    assert stored.policy_version == keeper.policy.policy.version
    # It is in the feed's timeline, and the DENY/NO_GRANT filter finds it.
    refs = await tl.page_refs(
        keeper.store.reader, Filter(results=frozenset({"DENY"}), reason_codes=frozenset({"NO_GRANT"})), limit=10
    )
    assert [r.id for r in refs] == [denied.decision.id]


async def test_break_glass_on_use_expiry_and_off(gk):
    keeper, clock = gk
    # A moderator without the grant cannot turn it on; the refusal is recorded.
    refused, message = await keeper.break_glass(GUILD, U_MOD, on=True, source="BOT")
    assert not refused.allowed
    assert message == "break-glass not changed"

    checked, message = await keeper.break_glass(GUILD, U_HEAD, on=True, source="BOT", minutes=60)
    assert checked.verdict.reason_code == "RBAC_GRANT_ALLOW"
    assert message == "break-glass on for 15 min", "capped at the policy's maximum"

    clock.ms += 60_000
    used = await keeper.check(GUILD, Request(U_HEAD, "roles.grant", "role", TARGET, None, TARGET), "BOT")
    assert used.allowed
    assert used.verdict.reason_code == "BREAK_GLASS"
    assert used.verdict.path[0]["found"].startswith("active until")

    clock.ms += 15 * 60_000
    after = await keeper.check(GUILD, Request(U_HEAD, "roles.grant", "role", TARGET, None, TARGET), "BOT")
    assert after.verdict.reason_code == "NO_GRANT"
    assert after.verdict.path[0]["found"].startswith("expired at")

    await keeper.break_glass(GUILD, U_HEAD, on=True, source="BOT", minutes=5)
    clock.ms += 1000
    off, message = await keeper.break_glass(GUILD, U_HEAD, on=False, source="BOT")
    assert message == "break-glass turned off"
    assert off.verdict.reason_code == "BREAK_GLASS"
    clock.ms += 1000
    ended = await keeper.check(GUILD, Request(U_HEAD, "roles.grant", "role", TARGET, None, TARGET), "BOT")
    assert ended.verdict.reason_code == "NO_GRANT"

    codes = [
        (d.capability, d.result, d.reason_code)
        for d in [await keeper.store.get_decision(c.decision.id) for c in (refused, checked, used, after, off, ended)]
    ]
    assert codes == [
        ("policy.break_glass", "DENY", "NO_GRANT"),
        ("policy.break_glass", "ALLOW", "RBAC_GRANT_ALLOW"),
        ("roles.grant", "ALLOW", "BREAK_GLASS"),
        ("roles.grant", "DENY", "NO_GRANT"),
        ("policy.break_glass", "ALLOW", "BREAK_GLASS"),
        ("roles.grant", "DENY", "NO_GRANT"),
    ]


async def test_questions_it_cannot_answer(gk, tmp_path):
    keeper, _ = gk
    with pytest.raises(GateError, match="no guild state for guild 99"):
        await keeper.check(99, Request(U_MOD, "roles.grant"), "CLI")
    with pytest.raises(GateError, match="404"):
        await keeper.check(GUILD, Request(404, "roles.grant"), "CLI")
    with pytest.raises(GateError, match="unknown capability"):
        await keeper.check(GUILD, Request(U_MOD, "roles.nope"), "CLI")
