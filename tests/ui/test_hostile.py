"""Hostile text is inert: markup in names and reasons is shown literally and runs nothing;
terminal escapes, C1 controls, bidi overrides and zero-width characters never reach the
terminal as themselves."""

from __future__ import annotations

import contextlib
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from console.ui.app import ConsoleApp
from console.ui.widgets.feed import FeedView

from .seed import HOSTILE

# What must never appear in the terminal's byte stream: they can only come from the data.
FORBIDDEN = {
    "OSC 52 clipboard write": b"\x1b]52",
    "C1 CSI (U+009B)": "\u009b".encode(),
    "RLO (U+202E)": "\u202e".encode(),
    "PDF (U+202C)": "\u202c".encode(),
    "zero-width space (U+200B)": "\u200b".encode(),
    "BEL inside data": b"ZXZpbA==\x07",
}


async def test_markup_in_data_renders_literally_and_carries_no_actions(
    make_app: Callable[..., ConsoleApp], seeded_db: Path, ids: dict[str, int]
) -> None:
    app = make_app(seeded_db)
    ran: list[str] = []
    # Wide enough for the whole row: two people's labels, then the reason.
    async with app.run_test(size=(320, 40)) as pilot:
        await pilot.pause(0.2)
        await app.workers.wait_for_complete()
        app.main_screen.action_toggle_sidebar()
        app.main_screen.action_toggle_pending()
        app.query_one("#pending").add_class("-hidden")
        await pilot.pause(0.2)
        feed = app.query_one(FeedView)
        assert await feed.jump_to_id(ids["hostile"])
        await pilot.pause(0.1)
        y = feed.cursor - feed.scroll_offset.y
        strip = feed.render_line(y)
        text = "".join(seg.text for seg in strip)
        assert "[@click=app.quit]click me[/]" in text
        assert "\\x1b]52;c;" in text
        assert "<U+202E>" in text
        assert "\\x9b" in text
        assert not any(ch in text for ch in "\x1b\x9b\u202e\u200b\x07")
        # No segment anywhere on screen carries a click action from the data.
        for row in range(feed.size.height):
            for seg in feed.render_line(row):
                meta = seg.style.meta if seg.style else {}
                assert "@click" not in meta, meta
        # Clicking right on the injected "link" runs nothing.
        app.action_quit = lambda: ran.append("quit")  # type: ignore[method-assign]
        x = text.index("[@click") + 2
        await pilot.click(FeedView, offset=(x, y))
        await pilot.pause(0.2)
        assert ran == []
        assert app.is_running


@pytest.mark.backends("sqlite", "postgres")
def test_no_data_originated_escape_reaches_the_terminal(
    seeded_db: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    """The real command in a pseudo-terminal: read everything it draws, then quit. On PostgreSQL,
    the same store moved there as a person would (`migrate`), then opened."""
    db = str(seeded_db)
    if backend == "postgres":
        db = request.getfixturevalue("pg_url")
        moved = subprocess.run(
            [sys.executable, "-m", "console", "migrate", "--from", str(seeded_db), "--to", db],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert moved.returncode == 0, moved.stderr
    pid, fd = pty.fork()
    if pid == 0:  # child: the console, on a 320×40 pseudo-terminal (the whole hostile row fits)
        os.environ.update({"TERM": "xterm-256color", "COLUMNS": "320", "LINES": "40"})
        os.execvp(sys.executable, [sys.executable, "-m", "console", "open", "--db", db])
    import fcntl
    import struct
    import termios

    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 320, 0, 0))
    os.kill(pid, signal.SIGWINCH)
    out = bytearray()
    # Read until the hostile row is drawn, then quit and read to the end; the bound only stops a
    # hung console (a loaded CI starts it many times slower than alone).
    drawn = (b"records", b"[@click=app.quit]click me[/]", b"bidi<U+202E>evil<U+202C>")
    deadline = time.monotonic() + 180
    sent_quit = False
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
            if not sent_quit and all(needle in out for needle in drawn):
                os.write(fd, b"q")
                sent_quit = True
                deadline = min(deadline, time.monotonic() + 30)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    screen = bytes(out)
    assert b"records" in screen, screen[-2000:]
    # The hostile reason was drawn (visibly escaped) ...
    assert b"[@click=app.quit]click me[/]" in screen
    assert b"bidi<U+202E>evil<U+202C>" in screen, re.findall(rb".{60}bidi.{60}", screen)[:3]
    # ... and none of its bytes reached the terminal as themselves.
    found = {what: needle for what, needle in FORBIDDEN.items() if needle in screen}
    assert not found, f"data-originated bytes reached the terminal: {found}"
    assert HOSTILE["escapes"].encode() not in screen
