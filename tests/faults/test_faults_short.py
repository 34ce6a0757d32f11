"""CI's short version of the fault suite: every case, every figure must meet its target."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from faultkit import CASES, load  # noqa: E402


@pytest.mark.slow
@pytest.mark.parametrize("name", CASES)
async def test_fault_case_short(name: str, tmp_path: Path) -> None:
    case = load(name)
    figures = await case.run(True, tmp_path)
    assert figures, f"{name} reported no figure"
    missed = [f for f in figures if not f.met]
    assert not missed, "\n".join(f"{f.name}: {f.value} (target {f.target}) {f.note}" for f in missed)
