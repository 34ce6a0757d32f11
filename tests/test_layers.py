"""The house rules, checked: the core never imports Textual, only console/discord imports
hikari, and opening the console does not import hikari (it comes after the first frame)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "console"
CORE = [
    "console.model",
    "console.store",
    "console.ingest",
    "console.policy",
    "console.config",
    "console.secret",
    "console.sim",
    "console.reports",
]


def _modules(package: str) -> list[str]:
    base = ROOT.parent
    folder = base / package.replace(".", "/")
    if folder.is_dir():
        return sorted(
            ".".join(p.with_suffix("").relative_to(base).parts) for p in folder.rglob("*.py") if p.name != "__main__.py"
        )
    return [package]


def _imported_after(modules: list[str]) -> set[str]:
    code = "import sys\n" + "".join(f"import {m}\n" for m in modules) + "print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize("package", CORE)
def test_core_never_imports_textual(package: str) -> None:
    loaded = _imported_after(_modules(package))
    assert not any(m == "textual" or m.startswith("textual.") for m in loaded)


@pytest.mark.parametrize("package", [*CORE, "console.ui", "console.cli", "console.headless"])
def test_only_discord_imports_hikari(package: str) -> None:
    loaded = _imported_after(_modules(package))
    assert "hikari" not in loaded, f"{package} pulls in hikari"


def test_opening_the_console_does_not_import_hikari() -> None:
    loaded = _imported_after(["console.cli", "console.ui.launch", "console.ui.app"])
    assert "hikari" not in loaded
    assert "aiohttp" not in loaded
