"""`audit-console explain` offline from a --state file (and from a store), and `policy check`:
exit 0 allowed / 1 denied / 2 bad input, the JSON contract, one line for every bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from backends import BOTH, db_arg

from console.sim import SimConfig, SimServer

from .test_bad_input import assert_one_line, run


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The simulated guild as a REST snapshot file, plus a policy that grants Helpers roles.grant."""
    sim = SimServer(SimConfig(seed=1))
    g = sim.guild
    d = tmp_path_factory.mktemp("explain")
    state = {
        "guild": g.guild_object(),
        "channels": g.channel_objects(),
        "members": [g.member_object(u) for u in g.members],
    }
    (d / "state.json").write_text(json.dumps(state))
    roles = {r["name"]: int(r["id"]) for r in state["guild"]["roles"]}
    by_role = {
        name: next(u for u in g.members if rid in [int(x) for x in g.member_object(u)["roles"]])
        for name, rid in roles.items()
        if name in ("Moderators", "Helpers", "Admin")
    }
    (d / "policy.toml").write_text(
        "".join(
            f'[[grants]]\nrole = "{roles[n]}"\ncapability = "roles.grant"\neffect = "ALLOW"\npriority = 1\n'
            for n in ("Moderators", "Helpers")
        )
    )
    plain = next(
        u
        for u in g.regular_ids()
        if not any(
            int(x) in (roles["Moderators"], roles["Helpers"], roles["Admin"]) for x in g.member_object(u)["roles"]
        )
    )
    return {
        "dir": d,
        "state": d / "state.json",
        "policy": d / "policy.toml",
        "guild": sim.guild_id,
        "roles": roles,
        "mod": by_role["Moderators"],
        "helper": by_role["Helpers"],
        "plain": plain,
        "channel": g.channel_ids(0)[0],
        "owner": int(state["guild"]["owner_id"]),
    }


def explain(w: dict, member: int, *extra: str):
    return run(
        "explain",
        "--state",
        str(w["state"]),
        "--policy",
        str(w["policy"]),
        "--guild",
        str(w["guild"]),
        "--member",
        str(member),
        *extra,
    )


def test_allowed_exits_0_and_prints_the_path(world):
    r = explain(world, world["mod"], "--capability", "roles.grant")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == "roles.grant: ALLOWED (RBAC_GRANT_ALLOW)"
    assert "→ rbac: ALLOW on role Moderators at priority 1 [ALLOW]" in r.stdout
    assert "discord_gate: holds MANAGE_ROLES guild-wide" in r.stdout


def test_denied_exits_1_with_the_reason(world):
    r = explain(world, world["plain"], "--capability", "roles.grant")
    assert r.returncode == 1
    assert r.stderr == ""
    assert r.stdout.startswith("roles.grant: DENIED (NO_GRANT)")
    helper = explain(world, world["helper"], "--capability", "roles.grant", "--json")
    assert helper.returncode == 1
    body = json.loads(helper.stdout)
    assert set(body) == {"allowed", "reason_code", "permissions", "path"}
    assert (body["allowed"], body["reason_code"]) == (False, "DISCORD_GATE_DENIED")
    assert "MANAGE_ROLES" not in body["permissions"]
    assert body["permissions"] == sorted(body["permissions"])
    assert body["path"][-1]["step"] == "discord_gate"
    assert body["path"][-1]["decided"]


def test_permission_questions_in_a_channel(world):
    r = explain(world, world["owner"], "--permission", "manage_roles", "--json")
    body = json.loads(r.stdout)
    assert r.returncode == 0
    assert body["allowed"]
    assert body["reason_code"] is None
    assert len(body["permissions"]) == 52  # the owner holds every documented flag
    r = explain(world, world["plain"], "--permission", "MANAGE_ROLES", "--channel", str(world["channel"]), "--json")
    body = json.loads(r.stdout)
    assert r.returncode == 1
    assert body["reason_code"] == "DISCORD_GATE_DENIED"
    assert "VIEW_CHANNEL" in body["permissions"]


@pytest.mark.backends(*BOTH)
def test_from_the_store_a_collector_filled(world, location):
    import asyncio

    from console.store import open_store

    async def fill() -> None:
        store = await open_store(location)
        await store.save_guild_state(world["guild"], json.loads(world["state"].read_text()))
        await store.close()

    asyncio.run(fill())
    r = run(
        "explain",
        "--db",
        db_arg(location),
        "--guild",
        str(world["guild"]),
        "--member",
        str(world["plain"]),
        "--capability",
        "policy.explain",
    )
    assert r.returncode == 0
    assert "DEFAULT_PUBLIC" in r.stdout


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (("--capability", "roles.grnt"), "unknown capability 'roles.grnt'"),
        (("--permission", "MANAGE_EVERYTHING"), "unknown permission"),
        (("--capability", "roles.grant", "--channel", "123456789012345678"), "123456789012345678"),
        (("--capability", "roles.grant", "--permission", "MANAGE_ROLES"), "not allowed with"),
        (("--capability", "roles.grant", "--channel", "abc"), "expected a Discord id"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(world, extra, needle):
    assert_one_line(explain(world, world["mod"], *extra), 2, needle)


def test_bad_state_files_and_unknown_members(world, tmp_path):
    base = ("explain", "--guild", str(world["guild"]), "--capability", "roles.grant")
    assert_one_line(
        run(*base, "--member", "123456789012345678", "--state", str(world["state"])), 2, "123456789012345678"
    )
    (tmp_path / "bad.json").write_text("{not json")
    assert_one_line(run(*base, "--member", str(world["mod"]), "--state", str(tmp_path / "bad.json")), 2, "not JSON")
    (tmp_path / "shape.json").write_text(json.dumps({"guild": {"id": "1", "roles": "x"}}))
    assert_one_line(
        run(*base, "--member", str(world["mod"]), "--state", str(tmp_path / "shape.json")), 2, "guild.roles"
    )
    assert_one_line(
        run(*base, "--member", str(world["mod"]), "--state", str(tmp_path / "none.json")), 2, "no such file"
    )
    wrong = ("explain", "--guild", "123456789012345678", "--capability", "roles.grant")
    assert_one_line(run(*wrong, "--member", str(world["mod"]), "--state", str(world["state"])), 2, "not --guild")
    assert_one_line(run(*base, "--member", str(world["mod"]), "--db", str(tmp_path / "none.db")), 2, "no database")
    (tmp_path / "bad.toml").write_text("[[grants]]\nrole = 5\n")
    assert_one_line(
        run(
            *base, "--member", str(world["mod"]), "--state", str(world["state"]), "--policy", str(tmp_path / "bad.toml")
        ),
        2,
        "bad.toml:1:",
    )


def test_policy_example_and_check(tmp_path: Path):
    example = run("policy", "example")
    assert example.returncode == 0
    assert "[[grants]]" in example.stdout
    (tmp_path / "p.toml").write_text(example.stdout)
    ok = run("policy", "check", str(tmp_path / "p.toml"))
    assert ok.returncode == 0
    assert "valid, version" in ok.stdout
    (tmp_path / "p.toml").write_text(example.stdout.replace('effect = "DENY"', 'effect = "NOPE"', 1))
    assert_one_line(run("policy", "check", str(tmp_path / "p.toml")), 2, "effect must be")


@pytest.mark.parametrize("command", ["run", "collect", "role"])
def test_a_bad_policy_stops_acting_commands_with_one_line(command: str, tmp_path: Path):
    from .test_bad_input import FAKE_TOKEN

    (tmp_path / "p.toml").write_text('[[grants]]\nrole = "12"\ncapability = "roles.grnt"\neffect = "ALLOW"\n')
    extra = (
        ["grant", "--guild", "1", "--member", "2", "--role", "3", "--reason", "x"]
        if command == "role"
        else ["--guild", "1"]
    )
    args = [command, *extra[:1]] if command == "role" else [command]
    r = run(
        *args,
        *extra[1:] if command == "role" else extra,
        "--policy",
        str(tmp_path / "p.toml"),
        "--db",
        str(tmp_path / "a.db"),
        env={"DISCORD_TOKEN": FAKE_TOKEN},
    )
    assert_one_line(r, 2, "p.toml:3: grants[0].capability: unknown capability 'roles.grnt'")
    assert not (tmp_path / "a.db").exists(), "nothing is created before the policy is known good"
