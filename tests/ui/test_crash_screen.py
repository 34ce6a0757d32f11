"""An unexpected error in the console: one line on the terminal (token redacted), the traceback
in the log file — never Textual's crash screen with every frame's locals."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import sys
from console import logs, paths
from console.secret import REDACTOR, Secret
from console.store import Store
from pathlib import Path
from console.ui import app as app_module
from console.ui.app import ConsoleApp

token = Secret("OTAwMDAwMDAwMDAwMDAwMDQy.canary.canary-token-0123456789abcdef")
REDACTOR.add(token)
logs.setup(paths.log_file())


class Broken(ConsoleApp):
    CSS_PATH = str(Path(app_module.__file__).with_name("app.tcss"))

    def on_ready(self) -> None:
        held = token  # a local the default crash screen would print
        raise RuntimeError("boom with " + held.reveal())


app = Broken(open_store=lambda: Store.open(sys.argv[1]), label="x", remember=False)
app.run(headless=True)
sys.exit(app.return_code or 0)
"""


def test_unexpected_error_is_one_line_and_redacted(tmp_path: Path) -> None:
    script = tmp_path / "broken.py"
    script.write_text(SCRIPT)
    result = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "a.db")],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ},
    )
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 1
    assert len(lines) == 1, result.stderr
    assert "internal error: RuntimeError" in lines[0]
    assert "canary-token" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
    log = (Path(os.environ["XDG_STATE_HOME"]) / "audit-console" / "console.log").read_text()
    assert "Traceback" in log
    assert "RuntimeError" in log
    assert "canary-token" not in log
