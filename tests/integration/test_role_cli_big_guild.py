"""`audit-console role` beside a running collector, in a guild too big to hold: an operator the
stored state lacks is asked of Discord (one fetch), and an operator Discord does not know is denied
with MEMBER_UNKNOWN — as the collector's own gate does."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from console.sim import SimConfig, SimServer
from console.sim.demo_policy import demo_policy_text
from console.sim.testing import eventually

from .test_role_cli import guild_state_stored, has_role, run_role
from .test_role_restart import start_collect

CROWD = 100_000


@pytest.fixture
async def big() -> AsyncIterator[SimServer]:
    server = SimServer(SimConfig(seed=11, heartbeat_interval_ms=500, crowd=CROWD))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def _setup(sim: SimServer, tmp: Path, operator: int) -> dict[str, str]:
    import os

    (tmp / "token").write_text(sim.token)
    (tmp / "token").chmod(0o600)
    (tmp / "policy.toml").write_text(demo_policy_text(sim))
    (tmp / "config.toml").write_text(f'operator_id = "{operator}"\n')
    return {**os.environ, "AUDIT_CONSOLE_CONFIG": str(tmp / "config.toml"), "XDG_STATE_HOME": str(tmp / "state")}


async def test_beside_a_collector_an_unseen_operator_is_asked_of_discord(big: SimServer, tmp_path: Path) -> None:
    g = big.guild
    operator = g.crowd_member(54_321)  # a moderator all along: no dispatch ever named them
    g.add_member_role(operator, g.role_id("Moderators"))
    verified = g.role_id("Verified")
    target = g.crowd_member(1_234)
    gone = g.crowd_member(777)
    assert g.remove_member(gone)
    env = _setup(big, tmp_path, operator)
    collector = start_collect(big, tmp_path, "collect.log")
    try:
        await eventually(lambda: big.commands.by_name("audit") is not None, what="collector up")
        await eventually(lambda: guild_state_stored(tmp_path / "audit.db", big.guild_id), what="guild state stored")
        common = ("--guild", str(big.guild_id), "--role", str(verified), "--reason", "handed over")
        code, err = await run_role(big, tmp_path, env, "grant", "--member", str(target), *common)
        assert code == 0, err + (tmp_path / "collect.log").read_text()
        assert "handed to the running collector" in err
        assert "confirmed" in err
        assert has_role(big, target, verified)
        assert big.rest.member_fetches[operator] == 1

        # An operator who left the guild: the gate asks Discord, which does not know them.
        (tmp_path / "config.toml").write_text(f'operator_id = "{gone}"\n')
        code, err = await run_role(big, tmp_path, env, "grant", "--member", str(target), *common)
        assert code == 1, err
        assert big.rest.member_fetches[gone] == 1
        assert err.splitlines()[0] == (
            f"audit-console: denied: MEMBER_UNKNOWN — member: {gone} is not in the guild (Discord answered Unknown "
            "Member: they left, or never joined)"
        )
    finally:
        collector.send_signal(signal.SIGTERM)
        assert collector.wait(30) == 0, (tmp_path / "collect.log").read_text()
