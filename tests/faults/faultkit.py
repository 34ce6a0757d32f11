"""The fault suite's shared parts: the list of cases, and what a case reports (figures).

A figure is one named measurement with its target and whether it was met.

A case module under ``tests/faults/`` defines ``NAME`` (one word), ``TITLE`` and
``async def run(short: bool, workdir: Path) -> list[Figure]``. ``short=True`` is the version
CI runs (seconds, not minutes); the full version is what docs/reliability.md's table shows.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

# Order: cheapest first, so a short run reports quickly.
CASES = ["secrets", "hostile", "payloads", "database", "disk", "postgres", "failover", "crash", "gateway"]


def load(name: str) -> ModuleType:
    """The case module ``case_<name>`` (this folder must be on sys.path)."""
    return importlib.import_module(f"case_{name}")


@dataclass(frozen=True)
class Figure:
    case: str
    """The case's NAME, e.g. "gateway"."""
    name: str
    """What was measured, e.g. "entries missing after the soak"."""
    value: str
    """The measured value as printed, e.g. "0" or "412 µs"."""
    target: str
    """The target as printed, e.g. "0" or "≤ 5 ms"."""
    met: bool
    note: str = ""
    """How it was measured (trials, duration), one short line."""


def zero(case: str, name: str, count: int, note: str = "") -> Figure:
    """The common figure: a count that must be 0."""
    return Figure(case, name, str(count), "0", count == 0, note)


def table(figures: list[Figure]) -> str:
    """A Markdown table, pasted as is into docs/reliability.md ("Latest full run")."""
    lines = ["| case | figure | measured | target | met |", "|---|---|---|---|---|"]
    for f in figures:
        name = f"{f.name} ({f.note})" if f.note else f.name
        lines.append(f"| {f.case} | {name} | {f.value} | {f.target} | {'yes' if f.met else '**no**'} |")
    return "\n".join(lines)
