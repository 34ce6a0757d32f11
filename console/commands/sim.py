"""``audit-console sim``: the simulated Discord alone, for tests and benchmarks (it prints its
REST URL, token and guild on one line). ``--misconfigure`` starts its guild set up wrongly."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Sequence
from typing import Any


def run_sim(*, port: int, seed: int, rate: float, misconfigure: Sequence[str] = ()) -> int:
    from console.sim import SimConfig
    from console.sim.server import run_standalone

    def prepare(sim: Any) -> None:
        from console.sim.setup_faults import MISCONFIGURATIONS
        from console.sim.setup_faults import misconfigure as apply

        apply(sim, misconfigure)
        for kind in misconfigure:
            sys.stderr.write(f"sim: set up wrongly: {MISCONFIGURATIONS[kind]}\n")
        modlog = sim.guild.core_channels["mod-log"]
        sys.stderr.write(f"sim: its #mod-log channel, to try as an audit channel: {modlog}\n")

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_standalone(SimConfig(seed=seed, port=port), rate=rate, prepare=prepare))
    return 0
