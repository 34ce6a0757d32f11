"""The console's start runs with the cyclic garbage collector paused (console.cli.main): it is back
on when the first frame is out or, at the latest, when the command returns — however it ends."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from console.cli import main


@pytest.fixture
def collector_on() -> None:
    gc.enable()
    yield
    gc.enable()


def test_collector_is_back_after_a_console_command_that_fails_before_its_screen(
        tmp_path: Path, collector_on: None, capsys: pytest.CaptureFixture[str]) -> None:
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
