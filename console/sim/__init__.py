"""A simulated Discord (gateway + REST on 127.0.0.1) that the real hikari client connects to."""

from __future__ import annotations

from console.sim.config import Knobs, SimConfig
from console.sim.guild import SimGuild
from console.sim.interactions import Invocation
from console.sim.server import SimServer, run_standalone

__all__ = ["Invocation", "Knobs", "SimConfig", "SimGuild", "SimServer", "run_standalone"]
