"""``audit-console collect`` as a child process for the tests that run several of them on one
store (failover, sharding): start it, read what it says, wait for it, stop it."""

from __future__ import annotations

import asyncio
import inspect
import re
import signal
import sys
import time
from collections.abc import Callable


class Collect:
    """``audit-console collect`` as a child process, its stderr kept."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        async for raw in self.proc.stderr:
            self.lines.append(raw.decode(errors="replace").rstrip())

    def said(self, pattern: str) -> bool:
        return any(re.search(pattern, line) for line in self.lines)

    async def end(self) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.proc.wait(), 120)
        await asyncio.wait_for(self._reader, 60)
        return code


async def start_collect(args: list[str], env: dict[str, str]) -> Collect:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "console",
        "collect",
        *args,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    return Collect(proc)


async def until(predicate: Callable[[], object], timeout: float, what: str, *procs: Collect) -> None:
    """Wait for a (sync or async) predicate; on timeout fail with ``what`` and what the processes said."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}:\n" + "\n---\n".join("\n".join(p.lines) for p in procs))
        await asyncio.sleep(0.2)


def no_tracebacks(procs: list[Collect]) -> None:
    for p in procs:
        assert not any("Traceback" in line for line in p.lines), "\n".join(p.lines)


async def kill_left(procs: list[Collect]) -> None:
    """SIGKILL the processes still running (a test that failed half-way), and wait for them."""
    for p in procs:
        if p.proc.returncode is None:
            p.proc.kill()
            await p.proc.wait()
