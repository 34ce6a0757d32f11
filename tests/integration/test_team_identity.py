"""A team on one PostgreSQL store (issue #20, identity and privileges): the server refuses a
moderator's UPDATE or DELETE of history, an unmapped login cannot act, and a mapped one's
decisions and requests name the Discord user it is mapped to, not the config's ``operator_id``.

Each test creates LOGIN roles of its own (cluster-wide, so uniquely named) and connects as them;
the shared server trusts local connections, so no passwords are needed."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from console.model.location import PgLocation
from console.roles.reconciler import new_change
from console.sim import SimServer
from console.sim.demo_policy import demo_operator, demo_policy_text
from console.sim.testing import eventually
from console.store.errors import StoreError
from console.store.postgres.store import PgStore
from console.store.postgres.verify import verify_postgres
from console.store.team_access import store_identity, team_command

from .team_logins import as_login, make_team
from .test_role_cli import guild_state_stored
from .test_role_restart import start_collect


async def test_the_server_refuses_a_moderator_changing_history(pg_url: str, logins: list[str]) -> None:
    moderator, viewer, unmapped, _ = logins
    await make_team(pg_url, moderator, viewer, unmapped, 4242)
    admin = await asyncpg.connect(pg_url, timeout=60)
    try:  # a row to aim at, written as the collector would
        await admin.execute(
            "INSERT INTO audit_entries (id, guild_id, action_type, created_at, received_at, source, raw, content_hash)"
            " VALUES (1, 10, 1, 0, 0, 'gateway', '{}', '\\x00')"
        )
    finally:
        await admin.close()
    for login in (moderator, viewer, unmapped):
        conn = await asyncpg.connect(as_login(pg_url, login), timeout=60)
        try:
            for sql in (
                "UPDATE audit_entries SET reason = 'rewritten' WHERE id = 1",
                "DELETE FROM audit_entries WHERE id = 1",
                "DELETE FROM chain",
                "UPDATE chain_heads SET seq = 0",
                "DELETE FROM decisions",
                "UPDATE leadership SET epoch = epoch + 1",
                "INSERT INTO team_members (login, kind, added_at) VALUES ('x', 'viewer', 0)",
            ):
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await conn.execute(sql)
            # A head is moved only forward onto a link that exists, whoever asks.
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("SELECT audit_advance_head(10, 99, '\\x01')")
            assert await conn.fetchval("SELECT reason FROM audit_entries WHERE id = 1") is None
        finally:
            await conn.close()
    # A moderator's decision must be its own: another actor's is refused by the server, and a
    # login in the moderators' group without a mapping makes none at all.
    decision = (
        "INSERT INTO decisions (id, guild_id, created_at, actor_id, actor_roles, actor_admin, actor_owner,"
        " capability, resource_type, source, result, reason_code, path, policy_version)"
        " VALUES (5, 10, 0, {actor}, '[]', 0, 0, 'role.grant', 'role', 'CLI', 'ALLOW', 'X', '', '1')"
    )
    for login, actor, refusal in ((moderator, 777, "acts as Discord user 4242"), (unmapped, 4242, "not a moderator")):
        conn = await asyncpg.connect(as_login(pg_url, login), timeout=60)
        try:
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match=refusal):
                await conn.execute(decision.format(actor=actor))
        finally:
            await conn.close()
    conn = await asyncpg.connect(as_login(pg_url, moderator), timeout=60)
    try:  # its own is taken (the privileges allow what acting needs)
        await conn.execute(decision.format(actor=4242))
    finally:
        await conn.close()


async def test_a_moderator_may_only_cancel_its_own_pending_request(pg_url: str, logins: list[str]) -> None:
    moderator, viewer, unmapped, _ = logins
    await make_team(pg_url, moderator, viewer, unmapped, 4242)
    admin = await PgStore.open(pg_url, collector_lock=False)
    mine = await PgStore.open(as_login(pg_url, moderator), collector_lock=False)
    watching = await PgStore.open(as_login(pg_url, viewer), collector_lock=False)  # asked of the server
    try:
        own = new_change(
            mine, 10, 20, 30, "grant", reason="r", requested_by=4242, source="TUI", decision_id=None, deadline_s=600
        )
        await mine.record_role_change(own)  # a new request: its own
        other = new_change(
            admin, 10, 21, 30, "grant", reason="r", requested_by=999, source="TUI", decision_id=None, deadline_s=600
        )
        await admin.record_role_change(other)  # another moderator's
        for sql in (
            "UPDATE role_changes SET role_id = 31",
            "UPDATE role_changes SET state = 'confirmed'",
            "UPDATE role_changes SET attempts = 5",
            "UPDATE role_changes SET requested_by = 4242",
            f"UPDATE role_changes SET state = 'cancelled', cancelled_by = 4242 WHERE id = {other.id}",
            f"UPDATE role_changes SET state = 'cancelled', cancelled_by = 999 WHERE id = {own.id}",
        ):
            with pytest.raises(StoreError, match="may only cancel its own pending requests"):
                async with mine.transaction() as conn:
                    await conn.execute(sql)
        with pytest.raises(StoreError, match="permission denied"):
            await watching.cancel_request(own.id, 4242, 1, announce=False)  # a viewer cancels nothing
        with pytest.raises(StoreError, match="may only cancel"):
            await mine.cancel_request(other.id, 4242, 1, announce=False)
        assert await mine.cancel_request(own.id, 4242, 1, announce=False)  # its own: cancelled
        assert not await mine.cancel_request(own.id, 4242, 2, announce=False)  # once
        rows = {
            r[0]: tuple(r[1:]) for r in await admin.fetch("SELECT id, state, cancelled_by, role_id FROM role_changes")
        }
        assert rows == {own.id: ("cancelled", 4242, 30), other.id: ("pending", None, 30)}
        # A collector still writing the change it had in hand does not bring it back to pending.
        await admin.record_role_change(own.with_(attempts=1))
        assert (await admin.role_change(own.id)).state == "cancelled"  # type: ignore[union-attr]
    finally:
        for store in (admin, mine, watching):
            await store.close()
    report = await asyncio.to_thread(verify_postgres, pg_url)
    assert report.ok, report.problems  # the cancel is linked into the chain


async def test_identity_comes_from_the_login(pg_url: str, logins: list[str]) -> None:
    moderator, viewer, unmapped, _ = logins
    assert await store_identity(PgLocation(pg_url)) is None  # no team yet: the config's operator acts
    await make_team(pg_url, moderator, viewer, unmapped, 4242)
    mod = await store_identity(PgLocation(as_login(pg_url, moderator)))
    assert mod is not None
    assert mod.discord_id == 4242
    assert mod.browse_only() is None
    view = await store_identity(PgLocation(as_login(pg_url, viewer)))
    assert view is not None
    assert "viewer" in (view.browse_only() or "")
    none = await store_identity(PgLocation(as_login(pg_url, unmapped)))
    assert none is not None
    assert "not mapped to a Discord user" in (none.browse_only() or "")
    removed = await team_command(PgLocation(pg_url), "remove", login=moderator)
    assert removed == "moderator"
    with pytest.raises(StoreError, match="permission denied"):  # out of the team: not even reading
        await store_identity(PgLocation(as_login(pg_url, moderator)))


async def run_cli(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "console",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 300)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_team_cli_bad_input_is_one_line(pg_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "AUDIT_CONSOLE_CONFIG": str(tmp_path / "c.toml")}
    code, _, err = await run_cli(env, "team", "add-moderator", "nobody", "--discord-id", "1", "--db", pg_url)
    assert code == 2
    assert err.count("\n") == 1
    assert "team init" in err
    code, _, err = await run_cli(env, "team", "init", pg_url)
    assert code == 0, err
    for args, said in (
        (("add-moderator", "no_such_login_x", "--discord-id", "1"), "no PostgreSQL login"),
        (("add-moderator", "postgres", "--discord-id", "abc"), "--discord-id"),
        (("remove", "no_such_login_x"), "not in this store's team"),
    ):
        code, _, err = await run_cli(env, "team", *args, "--db", pg_url)
        assert code == 2, err
        assert err.count("\n") == 1, err
        assert said in err, err
    code, _, err = await run_cli(env, "team", "init", str(tmp_path / "audit.db"))
    assert code == 2
    assert "PostgreSQL" in err


async def test_run_needs_no_bot_token_for_a_moderator_or_viewer(pg_url: str, logins: list[str], tmp_path: Path) -> None:
    """A person's console on a team store never connects to Discord: `run` asks no token of
    them (here, with no terminal, it gets as far as saying it needs one). A collector's login
    collects, and so needs the token."""
    moderator, viewer, unmapped, collector_login = logins
    await make_team(pg_url, moderator, viewer, unmapped, 4242)
    await team_command(PgLocation(pg_url), "add", login=collector_login, kind="collector", discord_id=None)
    env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    env |= {"XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    for login in (moderator, viewer):
        code, _, err = await run_cli(env, "run", "--db", as_login(pg_url, login))
        assert code == 2, err
        assert "the console needs a terminal" in err, err
    code, _, err = await run_cli(env, "run", "--db", as_login(pg_url, collector_login))
    assert code == 2, err
    assert "token" in err, err
    assert "terminal" not in err, err


async def test_role_acts_as_the_mapped_user_and_waits_visibly(
    sim: SimServer, pg_url: str, logins: list[str], tmp_path: Path
) -> None:
    moderator, viewer, unmapped, collector_login = logins
    operator = demo_operator(sim)
    await make_team(pg_url, moderator, viewer, unmapped, operator)
    await team_command(PgLocation(pg_url), "add", login=collector_login, kind="collector", discord_id=None)
    (tmp_path / "token").write_text(sim.token)
    (tmp_path / "token").chmod(0o600)
    (tmp_path / "policy.toml").write_text(demo_policy_text(sim))
    # A collector with a collector's login stores the guild's state (what the policy checks
    # against), then stops: the request below finds no collector running.
    collector = start_collect(sim, tmp_path, "collect.log", PgLocation(as_login(pg_url, collector_login)))
    try:
        await eventually(lambda: guild_state_stored(PgLocation(pg_url), sim.guild_id), what="state")
    finally:
        collector.send_signal(signal.SIGTERM)
        assert collector.wait(30) == 0, (tmp_path / "collect.log").read_text()
    # The config names someone else: on a team store it is not who acts.
    (tmp_path / "config.toml").write_text('operator_id = "123456789012345678"\n')
    env = {**os.environ, "AUDIT_CONSOLE_CONFIG": str(tmp_path / "config.toml"), "XDG_STATE_HOME": str(tmp_path / "s")}
    verified = sim.guild.role_id("Verified")
    member = next(iter(sim.guild.regular_ids()))
    grant = ["role", "grant", "--guild", str(sim.guild_id), "--member", str(member), "--role", str(verified)]
    grant += ["--reason", "team", "--wait", "0", "--rest-url", sim.rest_url]
    grant += ["--token-file", str(tmp_path / "token"), "--policy", str(tmp_path / "policy.toml")]

    code, _, err = await run_cli(env, *grant, "--db", as_login(pg_url, unmapped))
    assert code == 2, err
    assert err.count("\n") == 1, err
    assert "not mapped to a Discord user" in err, err
    code, _, err = await run_cli(env, *grant, "--db", as_login(pg_url, viewer))
    assert code == 2, err
    assert "viewer" in err, err

    code, _, err = await run_cli(env, *grant, "--db", as_login(pg_url, moderator))
    assert code == 0, err
    assert "no collector is running for this guild" in err
    admin = await asyncpg.connect(pg_url, timeout=60)
    try:
        decisions = await admin.fetch("SELECT actor_id, source, result FROM decisions")
        changes = await admin.fetch("SELECT requested_by, state FROM role_changes")
        linked = await admin.fetchval("SELECT count(*) FROM chain WHERE kind = 1")
    finally:
        await admin.close()
    assert [tuple(d) for d in decisions] == [(operator, "CLI", "ALLOW")]
    assert [tuple(c) for c in changes] == [(operator, "pending")]
    assert linked == 1  # the moderator's decision is in the chain, linked in its own transaction
    code, out, err = await run_cli(env, "verify", "--db", pg_url)
    assert code == 0, out + err  # the chain the moderator's transaction extended verifies


async def test_a_moderator_writes_notes_only_as_itself_and_never_rewrites_one(pg_url: str, logins: list[str]) -> None:
    from console.model.notes import Note

    moderator, viewer, unmapped, _ = logins
    await make_team(pg_url, moderator, viewer, unmapped, 4242)

    def note(ident: int, actor: int) -> Note:
        return Note(ident, 10, "audit", 1, None, actor, "mod", 0, "add", None, "why we banned", None)

    # As a moderator's console opens it: writing beside the collector, never collecting.
    store = await PgStore.open(as_login(pg_url, moderator), names=False, collector_lock=False)
    try:
        await store.add_note(note(5, 4242))  # its own, linked into the chain in the same transaction
        with pytest.raises(StoreError, match="acts as Discord user 4242"):
            await store.add_note(note(6, 777))
    finally:
        await store.close()
    assert [n.id for n in (await _notes_of(pg_url))] == [5]
    conn = await asyncpg.connect(as_login(pg_url, moderator), timeout=10)
    try:
        for sql in ("UPDATE notes SET text = 'rewritten'", "DELETE FROM notes"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(sql)
    finally:
        await conn.close()
    assert verify_postgres(pg_url).problems == []


async def _notes_of(pg_url: str) -> list[Any]:
    store = await PgStore.open(pg_url, readonly=True, names=False)
    try:
        return (await store.notes([1])).get(1, [])
    finally:
        await store.close()
