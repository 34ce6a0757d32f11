"""`audit-console role grant|revoke` as a person runs it: alone (it connects over REST and carries
the change out) and beside a running `collect` (it hands the request over and watches it), on
both store backends."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest
from backends import BOTH, db_arg, query

from console.model.location import StoreLocation
from console.sim import SimServer
from console.sim.demo_policy import demo_operator, demo_policy_text
from console.sim.testing import eventually

from .test_role_restart import start_collect


def setup(sim: SimServer, tmp: Path) -> dict[str, str]:
    (tmp / "token").write_text(sim.token)
    (tmp / "token").chmod(0o600)
    (tmp / "policy.toml").write_text(demo_policy_text(sim))
    (tmp / "config.toml").write_text(f'operator_id = "{demo_operator(sim)}"\n')
    return {**os.environ, "AUDIT_CONSOLE_CONFIG": str(tmp / "config.toml"), "XDG_STATE_HOME": str(tmp / "state")}


async def run_role(
    sim: SimServer, tmp: Path, env: dict[str, str], *args: str, db: StoreLocation | None = None
) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "console",
        "role",
        *args,
        "--db",
        db_arg(db or tmp / "audit.db"),
        "--rest-url",
        sim.rest_url,
        "--token-file",
        str(tmp / "token"),
        "--policy",
        str(tmp / "policy.toml"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 300)
    return proc.returncode or 0, err.decode()


async def guild_state_stored(db: StoreLocation, guild_id: int) -> bool:
    return bool(await query(db, f"SELECT 1 FROM guild_state WHERE guild_id = {int(guild_id)}"))


def has_role(sim: SimServer, uid: int, rid: int) -> bool:
    return rid in [int(r) for r in sim.guild.member_object(uid)["roles"]]


@pytest.mark.backends(*BOTH)
async def test_alone_it_connects_and_confirms(sim: SimServer, tmp_path: Path, location: StoreLocation) -> None:
    env = setup(sim, tmp_path)
    verified = sim.guild.role_id("Verified")
    uid = next(u for u in sim.guild.regular_ids() if not has_role(sim, u, verified))
    sim.knobs.role_drop_probability = 1.0
    sim.knobs.role_drop_logs_entry = False
    asyncio.get_running_loop().call_later(1.0, setattr, sim.knobs, "role_drop_probability", 0.0)

    code, err = await run_role(
        sim,
        tmp_path,
        env,
        "grant",
        "--guild",
        str(sim.guild_id),
        "--member",
        str(uid),
        "--role",
        str(verified),
        "--reason",
        "verified by hand",
        db=location,
    )
    assert code == 0, err
    assert "allowed (RBAC_GRANT_ALLOW); request" in err
    assert "carrying it out" in err
    assert "PUT accepted; waiting to see it" in err
    assert "member fetch: role present" in err
    assert "confirmed: seen applied at" in err
    assert has_role(sim, uid, verified)
    assert await query(location, "SELECT source, result FROM decisions") == [("CLI", "ALLOW")]


async def test_denied_and_bad_input(sim: SimServer, tmp_path: Path) -> None:
    env = setup(sim, tmp_path)
    admin = sim.guild.role_id("Admin")
    uid = sim.guild.regular_ids()[0]
    code, err = await run_role(
        sim,
        tmp_path,
        env,
        "grant",
        "--guild",
        str(sim.guild_id),
        "--member",
        str(uid),
        "--role",
        str(admin),
        "--reason",
        "x",
    )
    assert code == 1
    assert "denied: DISCORD_GATE_DENIED — discord_gate:" in err
    assert not has_role(sim, uid, admin)
    code, err = await run_role(
        sim,
        tmp_path,
        env,
        "grant",
        "--guild",
        str(sim.guild_id),
        "--member",
        str(uid),
        "--role",
        str(admin),
        "--reason",
        "x" * 600,
    )
    assert code == 2
    assert err.count("\n") == 1
    assert "at most 512" in err
    no_operator = {**env, "AUDIT_CONSOLE_CONFIG": str(tmp_path / "none.toml")}
    (tmp_path / "none.toml").write_text("")
    code, err = await run_role(
        sim,
        tmp_path,
        no_operator,
        "revoke",
        "--guild",
        str(sim.guild_id),
        "--member",
        str(uid),
        "--role",
        str(admin),
        "--reason",
        "x",
    )
    assert code == 2
    assert err.count("\n") == 1
    assert "operator_id" in err


@pytest.mark.backends(*BOTH)
async def test_beside_a_running_collector_it_hands_the_request_over(
    sim: SimServer, tmp_path: Path, location: StoreLocation
) -> None:
    env = setup(sim, tmp_path)
    collector = start_collect(sim, tmp_path, "collect.log", location)
    try:
        await eventually(lambda: sim.commands.by_name("audit") is not None, what="collector up")
        # The guild's state is stored a moment after the commands are registered: the request is
        # checked against it.
        await eventually(lambda: guild_state_stored(location, sim.guild_id), what="guild state stored")
        verified = sim.guild.role_id("Verified")
        uid = next(u for u in sim.guild.regular_ids() if not has_role(sim, u, verified))
        code, err = await run_role(
            sim,
            tmp_path,
            env,
            "grant",
            "--guild",
            str(sim.guild_id),
            "--member",
            str(uid),
            "--role",
            str(verified),
            "--reason",
            "handed over",
            db=location,
        )
        assert code == 0, err + (tmp_path / "collect.log").read_text()
        assert "handed to the running collector" in err
        assert "confirmed" in err
        assert has_role(sim, uid, verified)
    finally:
        collector.send_signal(signal.SIGTERM)
        assert collector.wait(30) == 0, (tmp_path / "collect.log").read_text()
