"""Packaging: a wheel carries the shipped themes inside the package, so a non-editable install
(`pip install .`) starts in the console's own themes rather than Textual's default."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = {"console-dark", "console-light", "console-high-contrast"}

#: Run by the installed wheel's python: what it imported, and what the theming loader found.
PROBE = """
import json
import console
from console.ui import theming

shipped = theming.load_themes([theming.SHIPPED_DIR])
default = theming.load_themes()
print(json.dumps({
    "console": console.__file__,
    "shipped": [t.name for t in shipped.loaded],
    "failed": [f"{p.name}: {why}" for p, why in shipped.failed],
    "default": [t.name for t in default.loaded],
}))
"""


def test_console_themes_is_the_top_level_folder() -> None:
    """The package's themes are the top-level folder itself (a link), not a copy that can drift."""
    assert (ROOT / "console" / "themes").resolve() == (ROOT / "themes").resolve()
    assert {p.stem for p in (ROOT / "themes").glob("*.toml")} >= SHIPPED


@pytest.mark.slow
def test_a_wheel_installed_in_a_fresh_venv_loads_the_shipped_themes(tmp_path: Path) -> None:
    # Build from a copy: the build leaves build/ and *.egg-info behind, and other tests run from the tree.
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "themes", src / "themes", ignore=ignore)
    shutil.copytree(ROOT / "console", src / "console", symlinks=True, ignore=ignore)

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    dist = tmp_path / "dist"

    def run(*cmd: str | Path) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(c) for c in cmd], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False
        )
        assert done.returncode == 0, f"{cmd}: exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        return done

    # Built as `.ci/run`'s install builds: in an isolated build environment from the configured index.
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", dist, src)
    (wheel,) = dist.glob("audit_console-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        carried = {Path(n).stem for n in zf.namelist() if n.startswith("console/themes/") and n.endswith(".toml")}
    assert carried >= SHIPPED

    # The dependencies come from the system site-packages (no download); console must be the wheel's.
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--system-site-packages", venv)
    python = venv / "bin" / "python"
    run(python, "-m", "pip", "install", "--no-deps", "--no-index", "--force-reinstall", "--quiet", wheel)
    probe = json.loads(run(python, "-c", PROBE).stdout)

    assert Path(probe["console"]).resolve().is_relative_to(venv.resolve()), probe["console"]
    assert not probe["failed"]
    assert set(probe["shipped"]) >= SHIPPED
    assert set(probe["default"]) >= SHIPPED
