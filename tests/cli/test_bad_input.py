"""Bad input gets one line on stderr and a non-zero exit, never a traceback, and never touches
stored data. Runs the real command in a subprocess."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "console", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def assert_one_line(result: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    assert result.returncode == code, (result.returncode, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


FAKE_TOKEN = "OTAwMDAwMDAwMDAwMDAwMDQy.sim.token-that-is-long-enough-xx"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("bogus",), "invalid choice"),
        (("export", "--format", "xml"), "invalid choice"),
        (("export", "--format", "csv", "--bogus"), "unrecognized arguments: --bogus (see audit-console export --help)"),
        (
            ("role", "revoke", "--guild", "1", "--member", "2", "--role", "3", "--reason", "x", "--bogus"),
            "unrecognized arguments: --bogus (see audit-console role revoke --help)",
        ),
        (("export", "--format", "csv", "--since", "yesterday"), "bad date"),
        (("export", "--format", "csv", "--action", "MEMBER_EXPLODE"), "unknown action"),
        (("export", "--format", "csv", "--actor", "bob"), "expected a Discord id"),
        (("export", "--format", "csv", "--category", "nope"), "unknown category"),
        (("export", "--format", "csv", "--since", "1d", "--until", "2d"), "--since must be before --until"),
        (("run", "--guild", "12"), "no token"),
        (("backfill", "--guild", "abc"), "expected a Discord id"),
        (("demo", "--rate", "-1"), "--rate"),
        (("sim", "--port", "70000"), "--port"),
    ],
)
def test_bad_flags_and_values(args: tuple[str, ...], needle: str, tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    assert_one_line(run(*args, *(["--db", str(db)] if args[0] == "export" else [])), 2, needle)


def test_token_problems(tmp_path: Path) -> None:
    assert_one_line(run("collect", "--guild", "1", env={"DISCORD_TOKEN": "abc"}), 2, "does not look like")
    assert_one_line(run("collect", "--guild", "1", env={"DISCORD_TOKEN": "Bot " + FAKE_TOKEN}), 2, "Bot ")
    loose = tmp_path / "token"
    loose.write_text(FAKE_TOKEN)
    loose.chmod(0o644)
    result = run("collect", "--guild", "1", "--token-file", str(loose))
    assert_one_line(result, 2, "readable by others", "chmod 600")
    assert FAKE_TOKEN not in result.stderr + result.stdout
    assert_one_line(run("collect", "--guild", "1", "--token-file", str(tmp_path / "missing")), 2, "cannot read")


def test_bad_rest_url_and_unreachable_server(tmp_path: Path) -> None:
    env = {"DISCORD_TOKEN": FAKE_TOKEN}
    db = str(tmp_path / "a.db")
    assert_one_line(run("backfill", "--guild", "1", "--db", db, "--rest-url", "ftp://x", env=env), 2, "bad --rest-url")
    assert_one_line(run("backfill", "--guild", "1", "--db", db, "--rest-url", "http://h:99999", env=env), 2, "port")
    # Port 9 on loopback: nothing listens (discard), so the connection is refused.
    result = run("backfill", "--guild", "1", "--db", db, "--rest-url", "http://127.0.0.1:9/api/v10", env=env)
    assert_one_line(result, 1, "cannot reach Discord")
    result = run("collect", "--guild", "1", "--db", db, "--rest-url", "http://127.0.0.1:9/api/v10", env=env)
    assert_one_line(result, 1, "cannot reach Discord")
    assert FAKE_TOKEN not in result.stderr


def test_unusable_databases_are_refused_and_left_untouched(tmp_path: Path) -> None:
    not_db = tmp_path / "notes.db"
    not_db.write_bytes(b"hello, this is not a database\n" * 10)
    before = not_db.read_bytes()
    assert_one_line(run("export", "--format", "csv", "--db", str(not_db)), 2, "not an Audit Console database")
    assert_one_line(run("open", "--db", str(not_db)), 2, "not an Audit Console database")
    assert not_db.read_bytes() == before

    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as c:
        c.execute("CREATE TABLE t (x)")
        c.execute("INSERT INTO t VALUES (1)")
    before = foreign.read_bytes()
    assert_one_line(run("export", "--format", "json", "--db", str(foreign)), 2, "not an Audit Console one")
    assert foreign.read_bytes() == before

    assert_one_line(run("export", "--format", "csv", "--db", str(tmp_path)), 2, "is a folder")
    assert_one_line(run("open", "--db", str(tmp_path / "none.db")), 2, "no database at")
    # A new user's first `open` says where to start.
    assert_one_line(run("open", "--db", str(tmp_path / "none.db")), 2, "audit-console demo")


def test_corrupt_database(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    # A real store, then its pages overwritten in the middle.
    result = run("export", "--format", "csv", "--db", str(db))
    assert result.returncode == 2  # no database yet
    import asyncio

    from console.store import Store

    async def make() -> None:
        store = await Store.open(db)
        await store.add_entries(
            [
                {"id": str((1 << 40) + i), "action_type": 22, "user_id": "5", "target_id": "6", "reason": "x" * 300}
                for i in range(2000)
            ],
            source="backfill",
            guild_id=1,
        )
        await store.close()

    asyncio.run(make())
    data = bytearray(db.read_bytes())
    for offset in range(8192, min(len(data), 8192 * 20), 4096):
        data[offset : offset + 512] = b"\xff" * 512
    db.write_bytes(bytes(data))
    result = run("export", "--format", "csv", "--db", str(db))
    assert_one_line(result, 2, "damaged")


def test_a_second_console_and_a_locked_database(tmp_path: Path) -> None:
    import asyncio

    from console.store import Store

    db = tmp_path / "a.db"
    env = {"DISCORD_TOKEN": FAKE_TOKEN}

    async def hold_and_run(args: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
        store = await Store.open(db)  # this process is "the other console"
        try:
            return await asyncio.to_thread(run, *args, env=env)
        finally:
            await store.close()

    result = asyncio.run(
        hold_and_run(("backfill", "--guild", "1", "--db", str(db), "--rest-url", "http://127.0.0.1:9/api/v10"))
    )
    assert_one_line(result, 2, "in use by another Audit Console", "audit-console open")
    # Reading alongside is fine.
    assert run("export", "--format", "jsonl", "--db", str(db)).returncode == 0

    # Another program holding a write lock: one line once the wait is over, nothing written.
    holder = sqlite3.connect(db, isolation_level=None, timeout=0)
    holder.execute("BEGIN IMMEDIATE")
    try:
        result = run("backfill", "--guild", "1", "--db", str(db), "--rest-url", "http://127.0.0.1:9/api/v10", env=env)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert_one_line(result, 2, "locked")


def test_the_console_without_a_terminal_says_so(tmp_path: Path) -> None:
    """Under a service manager or with no keyboard, the screen would be escape codes written into
    a log for as long as it ran: one line instead, pointing at `collect`."""
    import asyncio

    from console.store import Store

    db = tmp_path / "audit.db"

    async def make() -> None:
        await (await Store.open(db)).close()

    asyncio.run(make())
    before = db.read_bytes()
    assert_one_line(run("open", "--db", str(db)), 2, "needs a terminal", "audit-console collect")
    assert db.read_bytes() == before
    assert_one_line(run("demo", "--db", str(tmp_path / "demo.db")), 2, "needs a terminal")
