"""`collect` with ``[reports]`` in the config, as an operator runs it: the last complete week's
report is written to the folder once the collector is connected, and remembered in the store."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path


def test_collect_writes_the_scheduled_report(tmp_path: Path) -> None:
    sim = subprocess.Popen(
        [sys.executable, "-m", "console", "sim", "--rate", "5", "--seed", "4"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert sim.stdout is not None
        fields = dict(part.split("=", 1) for part in sim.stdout.readline().split() if "=" in part)
        db, folder = tmp_path / "audit.db", tmp_path / "reports"
        config = tmp_path / "config.toml"
        config.write_text(f'[reports]\nevery = "weekly"\nfolder = "{folder}"\n', encoding="utf-8")
        env = {**os.environ, "DISCORD_TOKEN": fields["token"]}
        collect = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "console",
                "collect",
                "--guild",
                fields["guild_id"],
                "--rest-url",
                fields["rest_url"],
                "--db",
                str(db),
                "--config",
                str(config),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        deadline = time.monotonic() + 300
        while not list(folder.glob("*.json")) and time.monotonic() < deadline:
            time.sleep(0.2)
        collect.send_signal(signal.SIGTERM)
        _out, err = collect.communicate(timeout=300)
        assert collect.returncode == 0, err
        assert "audit-console: report: wrote" in err
        assert "Traceback" not in err
        (report,) = folder.glob("audit-report-*.json")
        assert json.loads(report.read_text(encoding="utf-8"))["format_version"] == 1
        assert report.with_suffix(".md").exists()
        assert not list(folder.glob("*.part"))
        c = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        (done,) = c.execute("SELECT value FROM meta WHERE key = 'report.weekly.written_until'").fetchone()
        c.close()
        assert json.loads(report.read_text(encoding="utf-8"))["until"].startswith(
            time.strftime("%Y-%m-%dT00:00:00", time.gmtime(int(done) / 1000))
        )
    finally:
        sim.terminate()
        sim.wait(10)
