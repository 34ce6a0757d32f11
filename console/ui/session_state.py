"""What the console remembers between runs (theme now; filters, bookmarks and layout later):
a small JSON file in the state folder, written atomically, ignored if unreadable."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from console import paths


def state_file() -> Path:
    return paths.state_dir() / "session.json"


def load(path: Path | None = None) -> dict[str, Any]:
    try:
        data = json.loads((path or state_file()).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save(data: dict[str, Any], path: Path | None = None) -> None:
    target = path or state_file()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(tmp, target)
    except OSError:
        pass  # remembering is a convenience; failing to must not disturb the console


def update(**changes: Any) -> None:
    data = load()
    data.update(changes)
    save(data)
