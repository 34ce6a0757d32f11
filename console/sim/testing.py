"""For tests that drive the simulator (ours, and anyone's who embeds it): wait for a condition."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def eventually(
    predicate: Callable[[], object],
    timeout: float = 120.0,
    what: str = "condition",
    describe: Callable[[], str] | None = None,
) -> None:
    """Poll an (async or sync) predicate until it is true; AssertionError naming ``what`` (and
    whatever ``describe`` says about the state) when ``timeout`` passes."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if loop.time() > deadline:
            extra = f"; {describe()}" if describe is not None else ""
            raise AssertionError(f"timed out waiting for {what}{extra}")
        await asyncio.sleep(0.05)
