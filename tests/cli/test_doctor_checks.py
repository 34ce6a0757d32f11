"""The setup checks alone (console/setup/checks.py), on the simulator's guild as REST renders it,
set up right and wrongly in each way: no network, the exact lines a person reads."""

from __future__ import annotations

from typing import Any

import pytest

from console.setup.checks import (
    INVITE_PERMISSIONS,
    TOKEN_REJECTED,
    Facts,
    GuildFacts,
    invite_url,
    run_checks,
)
from console.sim import SimConfig, SimServer
from console.sim.rest import application_flags
from console.sim.setup_faults import misconfigure

NAME = "guild Sim Moderation HQ"


def facts(sim: SimServer, **guild: Any) -> Facts:
    g = sim.guild
    app = {"id": str(g.application_id), "name": "Audit Console", "flags": application_flags(sim.knobs.members_intent)}
    state = {"guild": g.guild_object(), "channels": g.channel_objects(), "members": [g.member_object(g.bot_id)]}
    guild.setdefault("commands_error", None if sim.knobs.commands_scope else "403 Missing Access")
    guild.setdefault("postings", (("the audit channel", g.core_channels["mod-log"]),))
    return Facts(True, app, g.bot_id, [GuildFacts(g.guild_id, state, **guild)])


def failures(sim: SimServer, f: Facts | None = None) -> list[str]:
    return [c.line() for c in run_checks(f or facts(sim), now_ms=sim.now_ms()) if not c.ok]


@pytest.fixture
def sim() -> SimServer:
    return SimServer(SimConfig(seed=7))  # never started: its guild is all these tests read


def test_a_guild_set_up_right_passes_every_check(sim: SimServer) -> None:
    checks = run_checks(facts(sim), now_ms=sim.now_ms())
    assert all(c.ok for c in checks), [c.line() for c in checks]
    lines = [c.line() for c in checks]
    assert lines[1] == "✓ the Server Members Intent is enabled"
    assert f"✓ {NAME}: VIEW_AUDIT_LOG from @Audit Console" in lines
    assert f"✓ {NAME}: MANAGE_ROLES from @Audit Console" in lines
    assert f"✓ {NAME}: the audit channel #mod-log is writable" in lines
    grant = next(line for line in lines if "can grant" in line)
    assert grant.startswith(f"✓ {NAME}: the bot can grant 7 roles below its highest role @Audit Console (position 10)")
    assert "not @Admin (not below it)" in grant
    assert "nor @Audit Console, @Carl-bot, @Server Booster (managed by an integration)" in grant


@pytest.mark.parametrize(
    ("wrong", "expected"),
    [
        (
            "intent",
            "✗ the Server Members Intent is off: enable Server Members Intent under Bot → Privileged Gateway Intents",
        ),
        (
            "commands",
            f"✗ {NAME}: slash commands cannot be registered (403 Missing Access): add the bot again with the URL "
            "`audit-console invite-url` prints (scope applications.commands)",
        ),
        (
            "hierarchy",
            f"✗ {NAME}: the bot cannot grant @Moderators, @Trial Mod, @Helpers, @Event Hosts, @Verified, @Members, "
            "@Muted (roles moderators can grant): its highest role @Audit Console (position 1) is not above them: "
            "drag @Audit Console above them under Server Settings → Roles",
        ),
        (
            "channel",
            f"✗ {NAME}: the audit channel #mod-log is not writable: the bot lacks SEND_MESSAGES there: allow View "
            "Channel and Send Messages for the bot in #mod-log's permissions",
        ),
    ],
)
def test_each_wrong_setup_is_one_line_with_its_fix(sim: SimServer, wrong: str, expected: str) -> None:
    misconfigure(sim, [wrong])
    assert failures(sim) == [expected]


def test_missing_permissions_name_the_role_that_should_give_them(sim: SimServer) -> None:
    misconfigure(sim, ["perms"])
    assert failures(sim) == [
        f"✗ {NAME}: the bot lacks {name} (none of its roles gives it: @Audit Console): give @Audit Console {name} "
        "under Server Settings → Roles, or add the bot again with the URL `audit-console invite-url` prints"
        for name in ("VIEW_AUDIT_LOG", "MANAGE_ROLES")
    ]


def test_administrator_gives_every_permission_and_is_named(sim: SimServer) -> None:
    g = sim.guild
    misconfigure(sim, ["perms"])
    g.members[g.bot_id]["roles"].append(g.role_id("Admin"))
    lines = [c.line() for c in run_checks(facts(sim), now_ms=sim.now_ms())]
    assert f"✓ {NAME}: MANAGE_ROLES from @Admin (ADMINISTRATOR)" in lines


def test_a_rejected_token_stops_the_checks() -> None:
    assert [c.line() for c in run_checks(Facts(token_ok=False), now_ms=0)] == [f"✗ {TOKEN_REJECTED}"]


def test_a_guild_the_bot_is_not_in(sim: SimServer) -> None:
    f = Facts(True, {"id": "1", "name": "x", "flags": 1 << 14}, sim.bot_id, [GuildFacts(42, None, "404 Unknown Guild")])
    assert failures(sim, f) == [
        "✗ guild 42: the bot is not in it (404 Unknown Guild): add it with the URL `audit-console invite-url` prints"
    ]


def test_a_channel_set_in_no_guild_checked(sim: SimServer) -> None:
    f = facts(sim, postings=())
    f = Facts(f.token_ok, f.application, f.bot_id, f.guilds, shared_postings=(("the alerts channel", 99),))
    assert failures(sim, f) == ["✗ the alerts channel 99 is in none of the guilds checked: set an existing channel"]


def test_hostile_names_are_shown_inert(sim: SimServer) -> None:
    g = sim.guild
    g.roles[g.role_id("Audit Console")]["name"] = "evil\u202e[@click=app.quit]x\x1b[2J"
    misconfigure(sim, ["perms"])
    line = failures(sim)[0]
    assert "\u202e" not in line
    assert "\x1b" not in line
    assert "@evil<U+202E>[@click=app.quit]x\\x1b[2J" in line


def test_the_invite_asks_for_exactly_the_four_permissions() -> None:
    assert INVITE_PERMISSIONS == (1 << 7) | (1 << 28) | (1 << 10) | (1 << 11) == 268438656
    assert invite_url(123) == (
        "https://discord.com/oauth2/authorize?client_id=123&scope=bot%20applications.commands&permissions=268438656"
    )
