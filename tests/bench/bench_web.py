"""The console in a browser (``audit-console serve``), in Debian's Chromium driven by Playwright:
login → the first feed rows, key → screen change in the browser against the same key in a
pseudo-terminal (the same store, 120×40), and memory per tab. Not part of CI.

    python tests/bench/bench_web.py [--logins 5] [--keys 60]

"Key → screen change" is, on both sides, the time from ``?`` being handed to the terminal
(xterm.js's input in the page; a write to the pty's master) until the help screen's text has
arrived (parsed into xterm.js's buffer in the page; read from the master). The console writes
now and then by itself (clocks, counts), so "the first output after the key" would not do."""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import os
import pty
import select
import signal
import statistics
import struct
import sys
import tempfile
import termios
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from ui.seed import seed_store  # noqa: E402
from web.browser import ARGS, chromium_path, new_page, wait_for_text  # noqa: E402
from web.served import serving  # noqa: E402

from console.web.auth import hash_password  # noqa: E402

PASSWORD = "a long bench password"
COLS, ROWS = 120, 40

#: What the help screen (``?``) shows.
HELP = "back to the newest and follow"

#: In the page: hand ``?`` to xterm.js as if typed; resolve with the ms until the help's text is
#: in the terminal's buffer.
KEY_JS = """needle => new Promise((resolve, reject) => {
  setTimeout(() => reject(new Error("no help screen within 10 s")), 10000);
  const t = window.__terminal;
  const shown = () => { for (let i = 0; i < t.rows; i++)
    if (t.buffer.active.getLine(i).translateToString(true, 0, t.cols).includes(needle)) return true; return false; };
  const start = performance.now();
  const done = t.onWriteParsed(() => { if (shown()) { done.dispose(); resolve(performance.now() - start); } });
  t.input("?", true);
})"""


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def browser_figures(db: Path, folder: Path, logins: int, keys: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    config = folder / "config.toml"
    config.write_text(f'[web]\npassword_hash = "{hash_password(PASSWORD)}"\nmax_sessions = {logins + 1}\n')
    with serving("--db", str(db), "--config", str(config), folder=folder) as served, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=ARGS)
        base_rss = rss_mb(served.process.pid)
        times, pages = [], []
        for _ in range(logins):
            page = new_page(browser, width=1085, height=722)  # 120×40 cells at the page's font
            page.goto(served.base + "/login")
            page.fill("#password", PASSWORD)
            start = time.perf_counter()
            page.click("button[type=submit]")
            wait_for_text(page, "MEMBER_")
            times.append(time.perf_counter() - start)
            pages.append(page)
        size = pages[0].evaluate("() => [window.__terminal.cols, window.__terminal.rows]")
        page = pages[-1]
        page.wait_for_timeout(1500)  # the rest of the screen (counts, sidebar) has come
        latencies = []
        for _ in range(keys):
            latencies.append(page.evaluate(KEY_JS, HELP) / 1000)
            page.evaluate("() => window.__terminal.input('q', true)")  # closes the help
            wait_for_text(page, HELP, gone=True)
        tabs = [rss_mb(pid) for pid in served.tab_pids()]
        serve_rss = rss_mb(served.process.pid)
        browser.close()
    return {
        "login": times,
        "keys": latencies,
        "size": size,
        "tab_rss": tabs,
        "serve_growth": (serve_rss - base_rss) / logins,
    }


def pty_keys(db: Path, keys: int) -> list[float]:
    """The same console (``open``) in a 120×40 pseudo-terminal: ``?`` → the help's text read."""
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm-256color"
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        os.execvp(sys.executable, [sys.executable, "-m", "console", "open", "--db", str(db)])
    try:
        _read_until(fd, b"MEMBER_", 60)
        _drain(fd, 1.5)
        out = []
        for _ in range(keys):
            start = time.perf_counter()
            os.write(fd, b"?")
            _read_until(fd, HELP.encode(), 10)
            out.append(time.perf_counter() - start)
            os.write(fd, b"q")  # closes the help
            _drain(fd, 0.3)
        return out
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def _read_until(fd: int, marker: bytes, timeout: float) -> None:
    seen = bytearray()
    deadline = time.monotonic() + timeout
    while marker not in seen:
        if time.monotonic() > deadline:
            raise SystemExit(f"{marker!r} never came in the pseudo-terminal")
        if select.select([fd], [], [], 0.05)[0]:
            seen += os.read(fd, 65536)


def _drain(fd: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if select.select([fd], [], [], left)[0]:
            os.read(fd, 65536)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=5)
    parser.add_argument("--keys", type=int, default=60)
    args = parser.parse_args()
    if chromium_path() is None:
        print("no Chromium on the PATH: apt-get install chromium", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for var in ("XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME"):
            os.environ[var] = str(folder / var.lower())
        db = folder / "audit.db"
        asyncio.run(seed_store(db, history=2000))
        web = browser_figures(db, folder, args.logins, args.keys)
        terminal = pty_keys(db, args.keys)
    ms = 1000
    print(f"screen in the browser: {web['size'][0]}×{web['size'][1]} cells; pty {COLS}×{ROWS}")
    print(
        f"login → first feed rows: median {statistics.median(web['login']) * ms:.0f} ms "
        f"(min {min(web['login']) * ms:.0f}, max {max(web['login']) * ms:.0f}; {args.logins} logins)"
    )
    b95, t95 = p95(web["keys"]), p95(terminal)
    print(
        f"key → screen change p95: browser {b95 * ms:.1f} ms, pty {t95 * ms:.1f} ms ({b95 / t95:.2f}×); "
        f"medians {statistics.median(web['keys']) * ms:.1f} / {statistics.median(terminal) * ms:.1f} ms; "
        f"{args.keys} keys each"
    )
    print(
        f"memory per tab: console process RSS median {statistics.median(web['tab_rss']):.1f} MB "
        f"({len(web['tab_rss'])} tabs); serve grows {web['serve_growth']:.1f} MB per tab"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
