"""The real ``audit-console`` in a pseudo-terminal for the "hostile" case: drive it with keys
through every screen, keep every byte it writes, and find the bytes that came from the data.

The console's own output is escape sequences around plain text. A byte that came from the data
is recognised three ways: (1) a sequence with a signature only the hostile strings carry
(:data:`hostile_data.FORBIDDEN`); (2) a C1 control (U+0080–U+009F) or a byte that is not UTF-8
anywhere in the stream (the console writes UTF-8 and no C1); (3) an ESC, BEL or C1 inside a
marked string as drawn (between ``HZ012<`` and ``>HZ012`` on one screen line): the console
styles a sanitised string as one segment, so nothing of its own sits inside one.
"""

from __future__ import annotations

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
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from hostile_data import FORBIDDEN

from console.model.sanitize import safe_text

ROOT = Path(__file__).resolve().parents[2]
ESC, DOWN = "\x1b", "\x1b[B"
#: Keys and how long to let the console draw after each: every screen, then quit.
SCRIPT: list[tuple[str, float]] = [
    ("\r", 0.5),  # the detail drawer on the newest row
    *[(DOWN, 0.1) for _ in range(16)],  # move: the drawer follows the cursor through every kind
    ("s", 0.2),
    ("s", 0.2),  # the sidebar off and on
    ("!", 0.6),
    (ESC, 0.3),  # alerts list
    ("R", 1.0),
    (ESC, 0.3),  # report
    ("w", 0.8),
    ("\r", 0.6),
    (ESC, 0.3),  # explain the member under the cursor
    ("e", 0.6),
    ("\r", 2.5),  # export dialog, export (toast)
    ("?", 0.5),
    (ESC, 0.3),  # help
    ("\x10", 0.5),
    ("Rep", 0.3),
    (ESC, 0.3),  # command palette
    ("/", 0.3),
    ("zalgo", 0.2),
    ("\r", 0.6),  # search, filter
    ("c", 0.4),
    (ESC, 0.2),
    ("\x11", 0.0),  # ctrl+q: quits wherever the focus is
]
#: The terminal's control sequences, to see the text drawn (for "Traceback").
ANSI = re.compile(rb"\x1b(\[[0-9;?<>=$]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-Za-z]|[=>78])")
CUP = re.compile(rb"\x1b\[\d+;\d+H")
MARK = re.compile(rb"HZ(\d{3})<")
INVISIBLE = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c\u200b\u200c\u200d\u2060\ufeff\u180e\u00ad"
)


@dataclass
class Capture:
    stream: bytes
    exit_status: int | None
    took_s: float


@dataclass
class Scan:
    escapes: Counter[str] = field(default_factory=Counter)
    invisible: Counter[str] = field(default_factory=Counter)
    markers_seen: set[int] = field(default_factory=set)
    whole_strings: int = 0

    @property
    def escape_count(self) -> int:
        return sum(self.escapes.values())


def run_console(
    args: list[str],
    home: Path,
    *,
    size: tuple[int, int] = (200, 50),
    start_timeout: float = 25.0,
    script: list[tuple[str, float]] = SCRIPT,
) -> Capture:
    """``python -m console ARGS`` on a pty of ``size`` (columns, lines) with HOME at ``home``."""
    cols, lines = size
    started = time.monotonic()
    pid, fd = pty.fork()
    if pid == 0:  # the child: the console
        env = {
            **os.environ,
            "TERM": "xterm-256color",
            "COLUMNS": str(cols),
            "LINES": str(lines),
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_DATA_HOME": str(home / ".data"),
            "XDG_STATE_HOME": str(home / ".state"),
            "PYTHONPATH": str(ROOT),
        }
        env.pop("DISCORD_TOKEN", None)
        os.execvpe(sys.executable, [sys.executable, "-m", "console", *args], env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", lines, cols, 0, 0))
    os.kill(pid, signal.SIGWINCH)
    out = bytearray()
    status: int | None = None

    def pump(seconds: float) -> bool:
        """Read for ``seconds``; False once the child has gone."""
        nonlocal status
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            ready, _, _ = select.select([fd], [], [], max(0.0, min(0.05, left)))
            if ready:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    return False
                out.extend(chunk)
            if left <= 0:
                return True

    try:
        deadline = time.monotonic() + start_timeout
        while b"records" not in out and time.monotonic() < deadline:
            if not pump(0.1):
                break
        pump(1.0)  # the first frame's follow-ups (counts, pending pane, alerts watch)
        for keys, wait in script:
            os.write(fd, keys.encode())
            if not pump(max(wait, 0.05)):
                break
        end = time.monotonic() + 10
        while time.monotonic() < end:
            done, st = os.waitpid(pid, os.WNOHANG)
            if done:
                status = st
                break
            pump(0.1)
        pump(0.2)
    finally:
        if status is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
        os.close(fd)
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    return Capture(bytes(out), code, time.monotonic() - started)


def scan(stream: bytes, strings: list[str]) -> Scan:
    """What in ``stream`` came from the data; ``strings`` are the marked hostile strings stored."""
    found = Scan()
    # How long each string's inside is when drawn whole (sanitised): a marker pair further apart
    # is not one drawn string (two cut-off copies on different lines).
    inner_len: dict[bytes, int] = {}
    for v in strings:
        m = MARK.match(v.encode("utf-8", "surrogatepass"))
        if m:
            inner_len[m.group(1)] = len(safe_text(v, len(v) * 10).encode("utf-8", "surrogatepass")) - 12
    for what, needle in FORBIDDEN.items():
        if n := stream.count(needle):
            found.escapes[what] += n
    text = stream.decode("utf-8", "surrogateescape")
    for ch in text:
        cp = ord(ch)
        if 0x80 <= cp <= 0x9F:
            found.escapes[f"C1 U+{cp:04X}"] += 1
        elif 0xDC80 <= cp <= 0xDCFF:
            found.escapes[f"not UTF-8: byte {cp - 0xDC00:#x}"] += 1
        elif ch in INVISIBLE or (cp > 0x7F and unicodedata.category(ch) in ("Cf", "Cs", "Co")):
            found.invisible[f"U+{cp:04X}"] += 1
    for m in MARK.finditer(stream):
        found.markers_seen.add(int(m.group(1)))
        # A string drawn whole on one line (its end marker before the next cursor move): the
        # console draws it as one segment, so any ESC or BEL between the markers is the data's.
        window = stream[m.end() : m.end() + 8192]
        end = window.find(b">HZ" + m.group(1))
        if end < 0 or CUP.search(window, 0, end) or end > inner_len.get(m.group(1), 0):
            continue  # cut short (an ellipsis) or wrapped: the signatures above cover it
        found.whole_strings += 1
        inside = window[:end]
        for byte, what in ((0x1B, "ESC inside data"), (0x07, "BEL inside data")):
            if n := inside.count(byte):
                found.escapes[what] += n
    return found
