"""Debian's Chromium driven by Playwright (its own browser download is not used), and reading
the console's screen out of the page's xterm.js terminal.

Without Chromium or Playwright the browser tests skip with one line saying how to enable them;
in CI (``CI`` set) they fail instead: a CI run that did not drive a browser is a failed run."""

from __future__ import annotations

import os
import shutil
from typing import Any

ARGS = [
    "--no-sandbox",  # CI and this machine run as root
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

#: textual.js keeps its xterm.js Terminal to itself; this catches it as it is assigned
#: (``this.terminal = new Terminal(…)``) so a test can read the screen's text from its buffer.
CATCH_TERMINAL = """Object.defineProperty(Object.prototype, "terminal", {configurable: true, set(value) {
  if (value && value.buffer && value.buffer.active && !window.__terminal) window.__terminal = value;
  Object.defineProperty(this, "terminal", {value, writable: true, configurable: true, enumerable: true});
}});"""

SCREEN_JS = """() => { const t = window.__terminal; if (!t) return "";
  const lines = [];
  for (let i = 0; i < t.rows; i++) lines.push(t.buffer.active.getLine(i).translateToString(true, 0, t.cols));
  return lines.join("\\n"); }"""

#: Long enough for a slow CI machine to start a console; not a measurement.
WAIT_MS = 45_000


def chromium_path() -> str | None:
    return os.environ.get("AUDIT_CONSOLE_TEST_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def unavailable() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed"
    if chromium_path() is None:
        return "no Chromium on the PATH"
    return None


def new_page(browser: Any, *, width: int = 1100, height: int = 740, clipboard: bool = False) -> Any:
    """A page in a context of its own (its own cookies), the terminal catcher installed."""
    context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
    if clipboard:
        context.grant_permissions(["clipboard-read", "clipboard-write"])
    context.add_init_script(CATCH_TERMINAL)
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    return page


def screen(page: Any) -> str:
    return str(page.evaluate(SCREEN_JS))


def wait_for(page: Any, predicate: str, arg: Any = None, *, what: str) -> None:
    """Until the JavaScript ``predicate(arg)`` holds; else an AssertionError with the screen."""
    from playwright.sync_api import TimeoutError as Timeout

    try:
        page.wait_for_function(predicate, arg=arg)
    except Timeout:
        raise AssertionError(f"{what}; the screen:\n{screen(page)}") from None


def wait_for_line(page: Any, *parts: str) -> None:
    """Until one line of the terminal holds every one of ``parts``."""
    check = f"parts => ({SCREEN_JS})().split('\\n').some(line => parts.every(part => line.includes(part)))"
    wait_for(page, check, list(parts), what=f"no line with {parts!r}")


def wait_for_text(page: Any, needle: str, *, gone: bool = False) -> None:
    """Until the terminal shows ``needle`` (or no longer does)."""
    check = "!" if gone else ""
    predicate = f"needle => {check}({SCREEN_JS})().includes(needle)"
    wait_for(page, predicate, needle, what=f"{needle!r} {'still' if gone else 'never'} on the screen")
