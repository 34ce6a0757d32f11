"""Where things live: XDG folders (overridable by environment for tests and operators)."""

from __future__ import annotations

import os
from pathlib import Path

APP = "audit-console"


def _xdg(var: str, fallback: str) -> Path:
    value = os.environ.get(var)
    base = Path(value) if value and Path(value).is_absolute() else Path.home() / fallback
    return base / APP


def data_dir() -> Path:
    return _xdg("XDG_DATA_HOME", ".local/share")


def config_dir() -> Path:
    return _xdg("XDG_CONFIG_HOME", ".config")


def state_dir() -> Path:
    return _xdg("XDG_STATE_HOME", ".local/state")


def default_db() -> Path:
    return data_dir() / "audit.db"


def demo_db() -> Path:
    return data_dir() / "demo.db"


def log_file() -> Path:
    return state_dir() / "console.log"


def config_file() -> Path:
    return Path(os.environ.get("AUDIT_CONSOLE_CONFIG") or config_dir() / "config.toml")


def policy_file() -> Path:
    """The policy used when neither the config nor --policy names one (if it exists)."""
    return config_dir() / "policy.toml"
