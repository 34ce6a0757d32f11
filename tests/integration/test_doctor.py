"""`audit-console doctor` and `invite-url` as a person runs them: the real CLI in its own process,
the real hikari client, against the simulator set up right and wrongly in each way; and the
compact check `collect` runs at its start."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from console.roles.reconciler import audit_channel_key
from console.sim import SimConfig, SimServer
from console.sim.setup_faults import misconfigure
from console.store import Store

NAME = "guild Sim Moderation HQ"
REJECTED = "the token was rejected: reset it in the Developer Portal"


def token_file(tmp: Path, token: str) -> Path:
    path = tmp / "token"
    path.write_text(token)
    path.chmod(0o600)
    return path


async def cli(sim: SimServer, tmp: Path, *args: str, token: str | None = None) -> tuple[int, str, str]:
    env = {**os.environ, "AUDIT_CONSOLE_CONFIG": str(tmp / "config.toml")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "console",
        *args,
        "--rest-url",
        sim.rest_url,
        "--token-file",
        str(token_file(tmp, sim.token if token is None else token)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 300)
    return proc.returncode or 0, out.decode(), err.decode()


async def set_audit_channel(sim: SimServer, db: Path) -> int:
    channel = sim.guild.core_channels["mod-log"]
    async with await Store.open(db) as store:
        await store.set_setting(audit_channel_key(sim.guild_id), str(channel))
    return channel


async def test_a_guild_set_up_right_passes_everything(sim: SimServer, tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    await set_audit_channel(sim, db)
    (tmp_path / "config.toml").write_text(f'guild_ids = ["{sim.guild_id}"]\n')  # the guild from the config
    code, out, err = await cli(sim, tmp_path, "doctor", "--db", str(db))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[:3] == [
        f"✓ the token is accepted (application Audit Console, id {sim.application_id})",
        "✓ the Server Members Intent is enabled",
        f"✓ {NAME} ({sim.guild_id}): the bot is in it",
    ]
    assert f"✓ {NAME}: slash commands can be registered" in lines
    assert f"✓ {NAME}: the audit channel #mod-log is writable" in lines
    assert lines[-1] == "all 8 checks passed"
    assert sim.token not in out + err


WRONG = {
    "intent": "✗ the Server Members Intent is off: enable Server Members Intent under Bot → Privileged Gateway Intents",
    "perms": f"✗ {NAME}: the bot lacks VIEW_AUDIT_LOG (none of its roles gives it: @Audit Console): give @Audit "
    "Console VIEW_AUDIT_LOG under Server Settings → Roles, or add the bot again with the URL `audit-console "
    "invite-url` prints",
    "hierarchy": f"✗ {NAME}: the bot cannot grant @Moderators, @Trial Mod, @Helpers, @Event Hosts, @Verified, "
    "@Members, @Muted (roles moderators can grant): its highest role @Audit Console (position 1) is not above "
    "them: drag @Audit Console above them under Server Settings → Roles",
    "commands": f"✗ {NAME}: slash commands cannot be registered (403 Missing Access): add the bot again with the "
    "URL `audit-console invite-url` prints (scope applications.commands)",
    "channel": f"✗ {NAME}: the audit channel #mod-log is not writable: the bot lacks SEND_MESSAGES there: allow "
    "View Channel and Send Messages for the bot in #mod-log's permissions",
}


@pytest.mark.parametrize("wrong", list(WRONG))
async def test_each_wrong_setup_says_what_to_fix(sim: SimServer, tmp_path: Path, wrong: str) -> None:
    db = tmp_path / "audit.db"
    await set_audit_channel(sim, db)
    misconfigure(sim, [wrong])
    code, out, err = await cli(sim, tmp_path, "doctor", "--guild", str(sim.guild_id), "--db", str(db))
    assert (code, err) == (1, "")
    failed = [line for line in out.splitlines() if line.startswith("✗")]
    assert failed[0] == WRONG[wrong]
    assert len(failed) == (2 if wrong == "perms" else 1)  # perms: MANAGE_ROLES is missing too
    assert out.splitlines()[-1] == f"{len(failed)} of 8 checks failed"


async def test_a_guild_the_bot_is_not_in(sim: SimServer, tmp_path: Path) -> None:
    code, out, _ = await cli(sim, tmp_path, "doctor", "--guild", "123456789012345678", "--db", str(tmp_path / "a.db"))
    assert code == 1
    assert (
        "✗ guild 123456789012345678: the bot is not in it (404 Unknown Guild): add it with the URL "
        "`audit-console invite-url` prints"
    ) in out.splitlines()
    assert not (tmp_path / "a.db").exists()  # doctor only reads


async def test_without_guilds_it_checks_the_guilds_the_bot_is_in(sim: SimServer, tmp_path: Path) -> None:
    code, out, _ = await cli(sim, tmp_path, "doctor")
    assert code == 0, out
    assert f"✓ {NAME} ({sim.guild_id}): the bot is in it" in out.splitlines()


async def test_invite_url_names_each_permission(sim: SimServer, tmp_path: Path) -> None:
    code, out, err = await cli(sim, tmp_path, "invite-url")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == (
        f"https://discord.com/oauth2/authorize?client_id={sim.application_id}"
        "&scope=bot%20applications.commands&permissions=268438656"
    )
    named = [line.split()[0] for line in lines if line.startswith("  ")]
    assert named == ["VIEW_AUDIT_LOG", "MANAGE_ROLES", "VIEW_CHANNEL", "SEND_MESSAGES"]
    assert sim.token not in out


async def test_a_rejected_token(tmp_path: Path) -> None:
    sim = SimServer(SimConfig(seed=7, token="OTAwMDAwMDAwMDAwMDAwMDQy.good.aaaaaaaaaaaaaaaaaaaaaaaa"))
    async with sim:
        wrong = "OTAwMDAwMDAwMDAwMDAwMDQy.oops.bbbbbbbbbbbbbbbbbbbbbbbb"
        code, out, err = await cli(sim, tmp_path, "invite-url", token=wrong)
        assert (code, out, err) == (2, "", f"audit-console: {REJECTED}\n")
        code, out, err = await cli(sim, tmp_path, "doctor", token=wrong)
        assert (code, out, err) == (1, f"✗ {REJECTED}\n1 of 1 checks failed\n", "")


async def test_a_token_that_is_not_one(sim: SimServer, tmp_path: Path) -> None:
    code, out, err = await cli(sim, tmp_path, "invite-url", token="hunter2")
    assert (code, out) == (2, "")
    assert err == "audit-console: the token does not look like a Discord bot token (id.timestamp.hmac)\n"


async def collect_start(sim: SimServer, tmp: Path) -> list[str]:
    """`collect`'s stderr up to "collecting into", then SIGTERM."""
    env = {**os.environ, "DISCORD_TOKEN": sim.token, "AUDIT_CONSOLE_CONFIG": str(tmp / "config.toml")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "console",
        "collect",
        *("--guild", str(sim.guild_id), "--rest-url", sim.rest_url, "--db", str(tmp / "audit.db")),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    assert proc.stderr is not None
    lines: list[str] = []
    try:
        async with asyncio.timeout(30):
            while not lines or "collecting into" not in lines[-1]:
                line = await proc.stderr.readline()
                assert line, f"collect ended: {lines}"
                lines.append(line.decode().rstrip("\n"))
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.communicate(), 300)
    return lines


async def test_collect_checks_the_setup_at_start(sim: SimServer, tmp_path: Path) -> None:
    lines = await collect_start(sim, tmp_path)
    assert "audit-console: setup checked: all 7 checks passed" in lines


async def test_collect_says_what_is_wrong_and_goes_on(sim: SimServer, tmp_path: Path) -> None:
    misconfigure(sim, ["hierarchy"])
    lines = await collect_start(sim, tmp_path)
    assert f"audit-console: {WRONG['hierarchy']}" in lines
    assert "audit-console: 1 setup check failed (details: audit-console doctor); collecting anyway" in lines
    assert lines[-1].startswith("audit-console: collecting into")


def test_the_setup_rehearsed_against_sim_misconfigure(tmp_path: Path) -> None:
    """docs/setup.md's rehearsal, as a new user runs it: `sim --misconfigure` says what to use,
    the config points at it, `invite-url` and `doctor` answer."""
    sim = subprocess.Popen(
        [sys.executable, "-m", "console", "sim", "--rate", "0", "--misconfigure", "hierarchy,channel"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert sim.stdout is not None
        assert sim.stderr is not None
        said = [sim.stderr.readline() for _ in range(3)]
        assert said[:2] == [
            "sim: set up wrongly: the bot's role sits at the bottom, below the roles it should grant\n",
            "sim: set up wrongly: the bot may not send messages in #mod-log (the audit channel)\n",
        ]
        modlog = said[2].rsplit(" ", 1)[1].strip()
        fields = dict(part.split("=", 1) for part in sim.stdout.readline().split() if "=" in part)
        token_file(tmp_path, fields["token"])
        config = tmp_path / "sim.toml"
        config.write_text(
            f'rest_url = "{fields["rest_url"]}"\nguild_ids = ["{fields["guild_id"]}"]\n'
            f'token_file = "{tmp_path / "token"}"\ndb = "{tmp_path / "sim.db"}"\n\n[alerts]\nchannel = "{modlog}"\n'
        )
        env = {**os.environ, "AUDIT_CONSOLE_CONFIG": str(config)}

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "console", *args], capture_output=True, text=True, env=env, timeout=300
            )

        invite = run("invite-url")
        assert invite.returncode == 0, invite.stderr
        assert invite.stdout.startswith("https://discord.com/oauth2/authorize?client_id=")
        doctor = run("doctor")
        assert doctor.returncode == 1, doctor.stderr
        failed = [line for line in doctor.stdout.splitlines() if line.startswith("✗")]
        assert [line.split(": ", 2)[1] for line in failed] == [
            "the bot cannot grant @Moderators, @Trial Mod, @Helpers, @Event Hosts, @Verified, @Members, @Muted "
            "(roles moderators can grant)",
            "the alerts channel #mod-log is not writable",
        ]
        assert fields["token"] not in doctor.stdout + doctor.stderr + invite.stdout + invite.stderr
    finally:
        sim.terminate()
        sim.wait(10)


def test_sim_misconfigure_takes_only_what_it_knows() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "console", "sim", "--misconfigure", "intent,nope"], capture_output=True, text=True
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "audit-console: --misconfigure: unknown 'nope' (one of: intent, perms, hierarchy, commands, channel)\n"
    )


def test_discord_unreachable_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on once closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "console",
            "doctor",
            "--rest-url",
            f"http://127.0.0.1:{port}/api/v10",
            "--token-file",
            str(token_file(tmp_path, "OTAwMDAwMDAwMDAwMDAwMDQy.good.aaaaaaaaaaaaaaaaaaaaaaaa")),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith(f"audit-console: cannot reach Discord at http://127.0.0.1:{port}/api/v10")
    assert len(result.stderr.splitlines()) == 1
