"""The house rules, checked: the core never imports Textual, only console/discord imports
hikari, opening the console does not import hikari (it comes after the first frame), the UI never
imports the simulator, the commands or the runtime's wiring, and no two modules import each other
(except for type checking)."""

from __future__ import annotations

import ast
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


@pytest.mark.parametrize(
    "package", [*CORE, "console.ui", "console.cli", "console.commands", "console.runtime", "console.demo"]
)
def test_only_discord_imports_hikari(package: str) -> None:
    loaded = _imported_after(_modules(package))
    assert "hikari" not in loaded, f"{package} pulls in hikari"


def test_opening_the_console_does_not_import_hikari() -> None:
    loaded = _imported_after(
        [
            "console.cli",
            "console.commands.screens",
            "console.runtime",
            "console.demo",
            "console.ui.launch",
            "console.ui.app",
        ]
    )
    assert "hikari" not in loaded
    assert "aiohttp" not in loaded


def _imports(path: Path) -> list[tuple[str, bool]]:
    """Every module ``path`` imports, anywhere in it (lazy imports too), and whether the import is
    for type checking only."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only.update(id(n) for child in node.body for n in ast.walk(child))
    found: list[tuple[str, bool]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in typing_only) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""  # the console uses absolute imports only
            # ``from console.store import timeline``: the submodule when there is one.
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.append((sub if _is_module(sub) else base, id(node) in typing_only))
    return found


def _is_module(name: str) -> bool:
    path = ROOT.parent / name.replace(".", "/")
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


#: What the console app may never import: the face puts these together and hands the app what it needs.
NOT_FOR_THE_UI = ("console.sim", "console.cli", "console.commands", "console.runtime", "console.demo")


def test_the_ui_imports_no_simulator_commands_or_runtime() -> None:
    found = [
        f"{_module_name(path)} imports {name}"
        for path in sorted((ROOT / "ui").rglob("*.py"))
        for name, _typing in _imports(path)
        if any(name == bad or name.startswith(bad + ".") for bad in NOT_FOR_THE_UI)
    ]
    assert found == []


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle in ``graph`` (module → modules it imports), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


@pytest.mark.parametrize(
    "members",
    [
        ("console.cli", "console.arguments", "console.errors", "console.commands", "console.runtime", "console.demo"),
        ("console.config", "console.reports", "console.errors"),
        ("console",),
    ],
)
def test_no_import_cycles(members: tuple[str, ...]) -> None:
    """Lazy imports count (a cycle through a function-level import is still a cycle); imports for
    type checking only do not."""
    graph: dict[str, set[str]] = {}
    for path in ROOT.rglob("*.py"):
        name = _module_name(path)
        graph[name] = {m for m, typing_only in _imports(path) if not typing_only and m.startswith("console")}
    # Only the modules named here and what they reach.
    wanted = {n for n in graph if any(n == m or n.startswith(m + ".") for m in members)}
    sub = {n: {m for m in graph[n] if m in wanted} for n in wanted}
    assert _cycle(sub) is None
