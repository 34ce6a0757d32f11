"""`audit-console demo` in a real pseudo-terminal: the simulator starts, the real hikari client
connects over loopback, live rows appear, and `q` exits cleanly; as a newcomer runs it (its own
SQLite file) and with `--db postgresql://…`."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time
from pathlib import Path

import pytest
from backends import query

from console.model.location import PgLocation

ANSI = re.compile(rb"\x1b(\[[0-9;?<>=$]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-Za-z]|[=>78])")


def plain(data: bytes) -> bytes:
    """The text drawn, without the terminal's control sequences."""
    return ANSI.sub(b"", bytes(data))


@pytest.mark.backends("sqlite", "postgres")
def test_demo_shows_live_rows_and_quits_cleanly(backend: str, request: pytest.FixtureRequest) -> None:
    pg_url = request.getfixturevalue("pg_url") if backend == "postgres" else None
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm-256color"
        where = ["--db", pg_url] if pg_url else []  # SQLite: the demo's own file, as a newcomer runs it
        os.execvp(sys.executable, [sys.executable, "-m", "console", "demo", "--rate", "20", *where])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    os.kill(pid, signal.SIGWINCH)
    start = time.monotonic()
    out = bytearray()
    connected_at = None
    quit_sent = None
    status = None
    try:
        while time.monotonic() - start < 60:
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
            if connected_at is None and b"connected" in plain(out) and b"following" in plain(out):
                connected_at = time.monotonic() - start
            if connected_at is not None and quit_sent is None and time.monotonic() - start > connected_at + 2:
                os.write(fd, b"q")
                quit_sent = time.monotonic()
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
    finally:
        if status is None or not os.WIFEXITED(status):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
    screen = bytes(out)
    assert connected_at is not None, screen[-3000:]
    # The simulator's moderators are at work: live entries arrive after the first sync.
    assert b"MEMBER_" in plain(screen) or b"ROLE_" in plain(screen)
    # A generous bound: a 2-core machine under the test suite's load connects well within it.
    assert connected_at < 30, connected_at
    assert os.WIFEXITED(status), status
    assert os.WEXITSTATUS(status) == 0, status
    assert b"Traceback" not in plain(screen)
    # Connected: the long-lived objects left the garbage collector's full passes (gc_policy).
    log_text = (Path(os.environ["XDG_STATE_HOME"]) / "audit-console" / "console.log").read_text()
    assert "long-lived objects frozen out of the garbage collector's passes" in log_text
    if pg_url:
        stored = asyncio.run(query(PgLocation(pg_url), "SELECT count(*) FROM audit_entries"))
        assert stored[0][0] > 0, "the demo collected into the PostgreSQL database it was given"
    print(f"demo: connected with rows after {connected_at:.1f} s")
