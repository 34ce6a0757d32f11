"""The console's start runs with the cyclic garbage collector paused and a short switch interval
(console.cli.main): both are undone when the first frame is out or, at the latest, when the
command returns — however it ends. What a caller chose is left as it was."""

from __future__ import annotations

import gc
import sys
from pathlib import Path

import pytest

from console.cli import main


@pytest.fixture
def collector_on() -> None:
    gc.enable()
    yield
    gc.enable()


@pytest.fixture
def default_interval() -> float:
    interval = sys.getswitchinterval()
    yield interval
    sys.setswitchinterval(interval)


def test_collector_is_back_after_a_console_command_that_fails_before_its_screen(
    tmp_path: Path, collector_on: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["open", "--db", str(tmp_path / "none.db")]) == 2
    assert "no database at" in capsys.readouterr().err
    assert gc.isenabled()


def test_a_paused_collector_stays_as_the_caller_left_it(tmp_path: Path, collector_on: None) -> None:
    from console import gc_policy

    gc.disable()  # someone else's choice (an embedding program): not ours to turn on
    assert main(["open", "--db", str(tmp_path / "none.db")]) == 2
    assert not gc.isenabled()
    gc_policy.resume()  # what the launcher does after the first frame
    assert not gc.isenabled()


def test_settle_freezes_nothing_in_a_process_that_only_imports_us() -> None:
    from console import gc_policy

    before = gc.get_freeze_count()
    gc_policy.settle()  # what collect and the launcher call once started
    assert gc.get_freeze_count() == before


def test_switch_interval_is_back_after_a_console_command_that_fails_before_its_screen(
    tmp_path: Path, default_interval: float
) -> None:
    seen: list[float] = []
    from console import cli

    real = cli._run_command

    def spy(args: object) -> int:
        seen.append(sys.getswitchinterval())
        return real(args)

    cli._run_command = spy  # type: ignore[assignment]
    try:
        assert main(["open", "--db", str(tmp_path / "none.db")]) == 2
    finally:
        cli._run_command = real  # type: ignore[assignment]
    from console import switch_interval

    assert seen == [switch_interval.STARTING]  # shortened while the command ran
    assert sys.getswitchinterval() == default_interval


def test_a_switch_interval_set_by_the_caller_stays(tmp_path: Path, default_interval: float) -> None:
    from console import switch_interval

    sys.setswitchinterval(0.0001)  # an embedding program's choice
    assert main(["open", "--db", str(tmp_path / "none.db")]) == 2
    switch_interval.restore()  # what the launcher does after the first frame
    assert sys.getswitchinterval() == pytest.approx(0.0001)
