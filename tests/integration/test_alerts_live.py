"""Alerts end to end: the real hikari client collects from the simulator, the real policy records
slash-command decisions, the alert runner (as ``collect`` runs it) raises alerts into the store
and posts them to the alerts channel. The raid raises every rule it triggers; the quiet stretch,
as long as the raid, raises nothing."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from console.alerts import records
from console.alerts.runner import AlertRunner
from console.alerts.settings import AlertSettings
from console.config import Settings
from console.discord.bot import HikariGateway, attach_services
from console.ingest.collector import Collector
from console.model.records import Decision
from console.model.snowflake import SnowflakeFactory
from console.roles.reconciler import Schedule
from console.secret import Secret
from console.services import Services
from console.sim import SimServer
from console.sim.demo_policy import demo_policy_text
from console.sim.incidents import quiet, raid, raid_actors
from console.store import Store

from .conftest import eventually

DAY_MS = 86_400_000


class Live:
    def __init__(self, sim: SimServer, tmp_path: Path) -> None:
        self.sim, self.tmp_path = sim, tmp_path
        self.who = raid_actors(sim)
        self.channel = sim.guild.core_channels["mod-log"]

    async def start(self) -> None:
        sim, who = self.sim, self.who
        policy = demo_policy_text(sim) + (
            f'\n[[overrides]]\nuser = "{who["mod_a"]}"\ncapability = "roles.grant"\neffect = "ALLOW"\n'
            'reason = "on call for verification"\nexpires = "2099-01-01T00:00:00Z"\n'
        )
        (self.tmp_path / "policy.toml").write_text(policy)
        self.store = store = await Store.open(self.tmp_path / "audit.db")
        await self._history()
        alerts = AlertSettings(channel=self.channel)
        settings = Settings(db=self.tmp_path / "audit.db", policy=self.tmp_path / "policy.toml", alerts=alerts)
        # As `collect` does: the runner first, so the start's backfill is watched too.
        self.runner = AlertRunner(store, settings.alerts, poll_s=0.2)
        await self.runner.start()
        self.collector = Collector(store, guild_ids=[sim.guild_id])
        gateway = HikariGateway(Secret(sim.token), rest_url=sim.rest_url, events=self.collector)
        await self.collector.start(gateway)
        await eventually(lambda: sim.guild_id in self.collector.guilds, what="guild state")
        self.services = Services(
            store,
            settings,
            live_guild=self.collector.guilds.snapshot,
            schedule=Schedule(first_s=0.3, cap_s=1.0, deadline_s=3600, link_wait_s=300),  # none expires for slowness
        )
        self.responder = await attach_services(gateway, self.collector, self.services)
        assert self.services.poster is not None
        self.runner.connect(self.services.poster.api)
        await eventually(lambda: sim.commands.by_name("audit") is not None, what="/audit registered")

    async def _history(self) -> None:
        """A month of stored decisions: the learning period of first_use is over, and the
        moderator who grants roles every day has done so before."""
        ids = SnowflakeFactory(worker=3)
        old = int(time.time() * 1000) - 30 * DAY_MS
        await self.store.record_decision(
            Decision(
                id=ids.make(old),
                guild_id=self.sim.guild_id,
                created_at=old,
                actor_id=self.who["mod_a"],
                actor_name="mod",
                actor_roles=[],
                actor_admin=False,
                actor_owner=False,
                capability="roles.grant",
                resource_type="role",
                resource_id=None,
                source="BOT",
                result="ALLOW",
                reason_code="RBAC_GRANT_ALLOW",
                path=[],
                policy_version="0" * 16,
            )
        )

    async def settled(self, entry_ids: list[int]) -> list:
        """Every played entry stored, and the runner has looked at everything."""

        async def stored() -> bool:
            found = await self.store.reader.execute_fetchall(
                f"SELECT count(*) FROM audit_entries WHERE id IN ({','.join('?' * len(entry_ids))})", entry_ids
            )
            return found[0][0] == len(entry_ids)

        await eventually(stored, what="the scenario's entries stored")
        await self.collector.wait_idle()
        await self.runner.check()
        return await records.newest(self.store)

    async def stop(self) -> None:
        await self.runner.stop()
        await self.responder.close()
        await self.services.close()
        await self.collector.stop()
        await self.store.close()


@pytest.fixture
async def live(sim: SimServer, tmp_path: Path) -> AsyncIterator[Live]:
    lv = Live(sim, tmp_path)
    await lv.start()
    try:
        yield lv
    finally:
        await lv.stop()


def _alert_posts(sim: SimServer, channel: int) -> list[str]:
    return [
        m["content"]
        for m in sim.guild.messages
        if int(m["channel_id"]) == channel and m["content"].startswith(("🚨", "⚠️"))
    ]


async def test_the_raid_raises_each_rule_it_triggers(sim: SimServer, live: Live) -> None:
    played = await raid(sim)
    assert sum("Denied: **NO_GRANT**" in a for a in played.answers) == 5
    assert sum("allowed (OVERRIDE_ALLOW)" in a for a in played.answers) == 3
    assert any("allowed (BREAK_GLASS)" in a for a in played.answers)
    found = await live.settled([i for ids in played.entries.values() for i in ids])
    by_rule: dict[str, list] = {}
    for a in found:
        by_rule.setdefault(a.rule, []).append(a)
    assert set(by_rule) == {
        "ban_wave",
        "dangerous_permission",
        "bot_added",
        "break_glass",
        "deny_burst",
        "override_repeat",
        "first_use",
    }, [(a.rule, a.summary) for a in found]
    # One raid wave of 13 is one alert, naming the five that crossed the threshold.
    [wave] = by_rule["ban_wave"]
    assert wave.severity == "error"
    assert len(wave.record_ids) == 5
    assert set(wave.record_ids) <= set(played.entries["ban"] + played.entries["kick"])
    assert {a.record_ids for a in by_rule["dangerous_permission"]} == {
        (played.entries["admin"][0],),
        (played.entries["overwrite"][0],),
    }
    assert "+ADMINISTRATOR" in " ".join(a.summary for a in by_rule["dangerous_permission"])
    assert by_rule["bot_added"][0].record_ids == (played.entries["bot"][0],)
    # Break-glass: turned on (the session) and used (the first use), each once.
    assert sorted(a.summary.split(" by ")[0].split(":")[0] for a in by_rule["break_glass"]) == [
        "break-glass turned on",
        "break-glass used",
    ]
    [burst] = by_rule["deny_burst"]
    assert str(live.who["helper"]) in burst.summary
    assert len(burst.record_ids) == 5
    [override] = by_rule["override_repeat"]
    assert str(live.who["mod_a"]) in override.summary
    assert len(override.record_ids) == 3
    # First use: the admin's break-glass and grant; never the moderator, who granted a month ago.
    assert {str(live.who["admin"]) in a.summary for a in by_rule["first_use"]} == {True}
    # Each alert is posted to the alerts channel, without pinging anyone.
    await eventually(
        lambda: len(_alert_posts(sim, live.channel)) == len(found),
        what="alerts posted",
        describe=lambda: str(_alert_posts(sim, live.channel)),
    )
    assert all("<@" not in p or "@\u200b" in p for p in _alert_posts(sim, live.channel))
    assert {a.posted for a in await records.newest(live.store)} == {"posted"}


async def test_a_quiet_stretch_raises_nothing(sim: SimServer, live: Live) -> None:
    played = await quiet(sim, duration_s=4.0, rate_per_s=4.0)
    assert len(played.entries["entry"]) >= 10
    assert any("allowed (OVERRIDE_ALLOW)" in a for a in played.answers)
    assert any("Denied:" in a for a in played.answers)
    assert await live.settled(played.entries["entry"]) == []
    assert _alert_posts(sim, live.channel) == []
