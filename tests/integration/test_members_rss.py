"""Memory does not grow with the guild: the same grant, by a moderator the console has never
seen, in a console process connected to a simulated guild of 100,000 members and to one of 100.
The peak RSS of the two processes (``ru_maxrss``) must stay within 20 MB of each other, and the
big guild costs exactly one member fetch."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from console.sim import SimConfig, SimServer
from console.sim.demo_policy import demo_policy_text

#: The console side, run in its own process: connect, grant as the moderator, report.
PROBE = r"""
import asyncio, json, resource, sys
from pathlib import Path

from console.config import Settings
from console.discord.bot import HikariGateway, attach_services
from console.ingest.collector import Collector
from console.secret import Secret
from console.services import Services
from console.store import Store


async def main() -> None:
    rest_url, token, gid, mod, member, role, folder = sys.argv[1:]
    gid, mod, member, role = int(gid), int(mod), int(member), int(role)
    db = Path(folder) / "audit.db"
    store = await Store.open(db)
    collector = Collector(store, guild_ids=[gid])
    gateway = HikariGateway(Secret(token), rest_url=rest_url, events=collector)
    await collector.start(gateway)
    while gid not in collector.guilds:
        await asyncio.sleep(0.02)
    settings = Settings(db=db, policy=Path(folder) / "policy.toml")
    services = Services(store, settings, live_guild=collector.guilds.snapshot)
    responder = await attach_services(gateway, collector, services)
    done = await services.roles.request(gid, mod, member, role, "grant", reason="quiz host", source="TUI")
    state = None
    if done.change is not None:
        for _ in range(6000):  # 2 minutes and more on a loaded machine
            change = await store.role_change(done.change.id)
            if change is not None and change.final:
                state = change.state
                break
            await asyncio.sleep(0.02)
    await collector.wait_idle()
    out = {
        "reason": done.checked.verdict.reason_code,
        "state": state,
        "cached": collector.guilds.cached_members(gid),
        "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    await responder.close()
    await services.close()
    await collector.stop()
    await store.close()
    print(json.dumps(out))


asyncio.run(main())
"""


async def _run(crowd: int, folder: Path) -> tuple[dict[str, object], int]:
    sim = SimServer(SimConfig(seed=7, heartbeat_interval_ms=500, crowd=crowd))
    g = sim.guild
    mod = g.crowd_member(50)
    g.add_member_role(mod, g.role_id("Moderators"))  # a moderator all along; no dispatch named them
    member, role = g.crowd_member(51), g.role_id("Event Hosts")
    folder.mkdir()
    (folder / "policy.toml").write_text(demo_policy_text(sim))
    await sim.start()
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            PROBE,
            sim.rest_url,
            sim.token,
            str(sim.guild_id),
            str(mod),
            str(member),
            str(role),
            str(folder),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=dict(os.environ),
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), 300)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise AssertionError("the console process did not finish in 300 s") from None
        assert proc.returncode == 0, err.decode()[-2000:]
        return json.loads(out.decode().strip().splitlines()[-1]), sim.rest.member_fetches[mod]
    finally:
        await sim.stop()


@pytest.mark.slow
async def test_rss_with_100000_members_stays_within_20_mb_of_100(tmp_path: Path) -> None:
    small, small_fetches = await _run(100 - 42, tmp_path / "small")
    big, big_fetches = await _run(100_000 - 42, tmp_path / "big")
    for run in (small, big):
        assert (run["reason"], run["state"]) == ("RBAC_GRANT_ALLOW", "confirmed"), run
    assert small_fetches == 0, "100 members: GUILD_CREATE carried the moderator"
    assert big_fetches == 1, "100,000 members: one fetch of the moderator"
    assert big["cached"] <= 3, big  # the bot, the moderator, the member granted
    growth_mb = abs(int(big["maxrss_kb"]) - int(small["maxrss_kb"])) / 1024  # type: ignore[call-overload]
    assert growth_mb < 20, f"peak RSS {small['maxrss_kb']} KB with 100 members, {big['maxrss_kb']} KB with 100,000"
