"""Running the real ``audit-console`` for the database case: as a plain subprocess or in a
pseudo-terminal (``open``, ``run`` and ``demo`` are screens), optionally without root's power to
ignore file permissions, and what a run left on the terminal and on disk.

Blocking on purpose: the case calls these through ``asyncio.to_thread`` so the simulator, which
runs on the case's event loop, keeps answering the console meanwhile.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import hashlib
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
ANSI = re.compile(r"\x1b(\[[0-9;?<>=$]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-Za-z]|[=>78])")
SUFFIXES = ("", "-wal", "-shm")


def plain(text: str) -> str:
    return ANSI.sub("", text)


def _drop_dac_override() -> None:
    """In the child: as root, give up CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and CAP_FOWNER (from
    the bounding set, so exec does not hand them back). Root then meets file modes like anyone,
    which is what a read-only file or folder means to the operator who runs the console."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2, 3):  # DAC_OVERRIDE, DAC_READ_SEARCH, FOWNER
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            os._exit(97)


@dataclass
class Result:
    args: list[str]
    code: int | None
    """Exit status; None when it had to be killed (hung)."""
    out: str = ""
    err: str = ""
    drew: bool = False
    """A screen command drew its screen (then was asked to quit with ``q``)."""
    notes: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.out + self.err

    def lines(self) -> list[str]:
        """The non-empty lines a person saw on stderr (or on the terminal, for a screen that
        never drew)."""
        source = self.out + self.err if not self.drew else ""
        return [line for line in plain(source).replace("\r", "\n").splitlines() if line.strip()]


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "console", *args]


def run_plain(
    args: list[str], env: dict[str, str], *, timeout: float, unprivileged: bool = False, cwd: Path | None = None
) -> Result:
    try:
        done = subprocess.run(
            args,
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            cwd=cwd or ROOT,
            preexec_fn=_drop_dac_override if unprivileged else None,
        )
    except subprocess.TimeoutExpired as e:
        return Result(args, None, _s(e.stdout), _s(e.stderr), notes=["hung"])
    return Result(args, done.returncode, done.stdout, done.stderr)


def _s(data: bytes | str | None) -> str:
    return data.decode(errors="replace") if isinstance(data, bytes) else (data or "")


def run_until(
    args: list[str], env: dict[str, str], *, ready: str, timeout: float, unprivileged: bool = False, log: Path
) -> Result:
    """A long-running command (``collect``): wait for ``ready`` on stderr, then SIGTERM (it must
    flush and exit 0), or for it to exit by itself (a refusal)."""
    with log.open("w") as err:
        proc = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=ROOT,
            preexec_fn=_drop_dac_override if unprivileged else None,
        )
        deadline = time.monotonic() + timeout
        drew = False
        while time.monotonic() < deadline and proc.poll() is None:
            if ready in log.read_text(errors="replace"):
                drew = True
                break
            time.sleep(0.1)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                return Result(args, None, "", log.read_text(errors="replace"), drew, ["hung"])
        out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
        if proc.stdout:
            proc.stdout.close()
    return Result(args, proc.returncode, out, log.read_text(errors="replace"), drew)


def run_screen(
    args: list[str],
    env: dict[str, str],
    *,
    ready: tuple[str, ...],
    timeout: float,
    unprivileged: bool = False,
    linger: float = 0.0,
) -> Result:
    """A screen command in a pseudo-terminal (120×40): it either exits by itself (a refusal: the
    one line is what the terminal shows) or draws; then ``q`` until it exits. ``linger`` keeps a
    drawn screen up that long first (so a check the app runs after its first frame can show)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: exec the console, nothing else
        try:
            if unprivileged:
                _drop_dac_override()
            os.chdir(ROOT)
            os.execve(args[0], args, {**env, "TERM": "xterm-256color"})
        finally:
            os._exit(127)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    out = bytearray()
    start = time.monotonic()
    drew_at: float | None = None
    last_q = 0.0
    status: int | None = None
    try:
        while time.monotonic() - start < timeout:
            r, _, _ = select.select([fd], [], [], 0.1)
            if r:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    break
                out += chunk
            now = time.monotonic()
            if drew_at is None and any(m in plain(out.decode(errors="replace")) for m in ready):
                drew_at = now
            if drew_at is not None and now - drew_at >= linger and now - last_q > 1.0:
                os.write(fd, b"q")
                last_q = now
            done, st = os.waitpid(pid, os.WNOHANG)
            if done:
                status = st
                break
        end = time.monotonic() + 10
        while status is None and time.monotonic() < end:  # the terminal closed: it is exiting
            done, st = os.waitpid(pid, os.WNOHANG)
            if done:
                status = st
            else:
                time.sleep(0.05)
    finally:
        if status is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
    code = os.waitstatus_to_exitcode(status) if status is not None else None
    text = out.decode(errors="replace")
    return Result(args, code, "", text, drew_at is not None, [] if code is not None else ["hung"])


def snapshot(db: Path) -> dict[str, bytes | None]:
    """The database and its -wal/-shm as bytes (None: absent)."""
    found: dict[str, bytes | None] = {}
    for suffix in SUFFIXES:
        p = Path(str(db) + suffix)
        try:
            found[suffix] = p.read_bytes()
        except FileNotFoundError:
            found[suffix] = None
    return found


def changed_bytes(before: dict[str, bytes | None], after: dict[str, bytes | None]) -> int:
    """Bytes that differ between two snapshots (a file that appeared or vanished counts whole)."""
    total = 0
    for suffix in SUFFIXES:
        a, b = before.get(suffix), after.get(suffix)
        if a == b:
            continue
        if a is None or b is None:
            total += len(a or b or b"")
            continue
        total += abs(len(a) - len(b)) + sum(x != y for x, y in zip(a, b, strict=False))
    return total


def digest(db: Path) -> str:
    h = hashlib.sha256()
    for suffix, data in snapshot(db).items():
        h.update(suffix.encode() + b"\0" + (data if data is not None else b"<absent>"))
    return h.hexdigest()[:16]
