"""``audit-console sim``: the simulated Discord alone, for tests and benchmarks (it prints its
REST URL, token and guild on one line)."""

from __future__ import annotations

import asyncio
import contextlib


def run_sim(*, port: int, seed: int, rate: float) -> int:
    from console.sim import SimConfig
    from console.sim.server import run_standalone

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_standalone(SimConfig(seed=seed, port=port), rate=rate))
    return 0
