"""Themes from TOML files through Textual's theme API: the shipped themes and the user's
``~/.config/audit-console/themes``. A broken file is reported once and skipped; the console
falls back to the default theme rather than failing.

The shipped themes live in the top-level ``themes/`` folder; ``console/themes`` is a link to it,
so a wheel carries the files inside the package (``package-data`` in pyproject.toml) and a
source checkout, an editable install and an installed wheel all read them the same way, through
``importlib.resources``."""

import contextlib
import tomllib
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, NamedTuple

from textual.color import Color, ColorParseError
from textual.theme import Theme

from console import paths
from console.model.actions import CATEGORIES

DEFAULT_THEME = "console-dark"
#: The shipped themes, wherever the package is installed.
SHIPPED_DIR: Traversable = resources.files("console") / "themes"

#: Every variable the console's renderers read; defaults make any Textual theme usable.
VARIABLE_DEFAULTS: dict[str, str] = {
    **{f"action-{c}": "#c0c0c0" for c in CATEGORIES},
    "action-moderation": "#ff7b72",
    "action-role": "#c678dd",
    "action-permission": "#ff9e64",
    "decision-allow": "#7fbf7f",
    "decision-deny": "#ff5f5f",
    "danger": "#ff5f5f",
    "diff-added": "#7fbf7f",
    "diff-removed": "#ff7b72",
    "muted": "#7a8291",
    "gap": "#e5a54b",
}

_COLOUR_KEYS = (
    "primary",
    "secondary",
    "accent",
    "warning",
    "error",
    "success",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
)


class ThemeLoadResult(NamedTuple):
    """The themes that loaded, and the files that did not (with why)."""

    loaded: list[Theme]
    failed: list[tuple[Traversable, str]]


def user_theme_dir() -> Path:
    return paths.config_dir() / "themes"


def parse_theme(path: Traversable) -> Theme:
    """One theme file → Theme. Raises ValueError with a one-line reason."""
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"cannot read: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise ValueError(str(e)) from None
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError("needs a name")
    if "primary" not in data:
        raise ValueError("needs a primary colour")
    kwargs: dict[str, Any] = {"name": name.strip(), "dark": bool(data.get("dark", True))}
    for key in _COLOUR_KEYS:
        if key in data:
            kwargs[key] = _colour(data[key], key)
    variables = data.get("variables", {})
    if not isinstance(variables, dict):
        raise ValueError("[variables] must be a table")
    kwargs["variables"] = {str(k): _colour(v, str(k)) for k, v in variables.items()}
    unknown = set(data) - set(_COLOUR_KEYS) - {"name", "dark", "variables"}
    if unknown:
        raise ValueError(f"unknown key {sorted(unknown)[0]!r}")
    return Theme(**kwargs)


def _colour(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f'{key}: a colour must be a string such as "#3b82c4"')
    try:
        Color.parse(value)
    except ColorParseError:
        raise ValueError(f"{key}: {value!r} is not a colour") from None
    return value


def load_themes(dirs: list[Traversable] | None = None) -> ThemeLoadResult:
    """Every ``*.toml`` in the folders, in name order (default: the shipped themes, then the user's)."""
    result = ThemeLoadResult([], [])
    for folder in dirs if dirs is not None else [SHIPPED_DIR, user_theme_dir()]:
        if not folder.is_dir():
            continue
        # What a "*.toml" glob matches: hidden files are not themes.
        files = (p for p in folder.iterdir() if p.name.endswith(".toml") and not p.name.startswith("."))
        for path in sorted(files, key=lambda p: p.name):
            try:
                result.loaded.append(parse_theme(path))
            except ValueError as e:
                result.failed.append((path, str(e)))
    return result


def theme_styles(variables: dict[str, str]) -> dict[str, str]:
    """Theme variables → Rich style strings for the renderers (colours only)."""
    out = dict(VARIABLE_DEFAULTS)
    for key in VARIABLE_DEFAULTS:
        value = variables.get(key)
        if value:
            with contextlib.suppress(ColorParseError):
                out[key] = Color.parse(value).hex
    return out
