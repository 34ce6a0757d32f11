"""Keep the machine running the tests out of them: XDG folders in tmp, UTC, no user config,
no token in the environment."""

from __future__ import annotations

import os
import time

import pytest


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path_factory.mktemp("home")
    for var, sub in (("XDG_DATA_HOME", "data"), ("XDG_CONFIG_HOME", "config"), ("XDG_STATE_HOME", "state")):
        monkeypatch.setenv(var, str(home / sub))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.delenv("AUDIT_CONSOLE_CONFIG", raising=False)
    if hasattr(time, "tzset"):
        time.tzset()
    os.environ.setdefault("COLUMNS", "120")
