"""Hostile input: generated names, nicks, role and channel names, topics, reasons, statuses and
alert summaries (Textual markup with click actions, ESC/CSI/OSC 0/OSC 8/OSC 52/DCS sequences, C1
controls, BEL, NUL, bidi overrides, zero-width characters, Zalgo, 100 000-character strings)
rendered through every widget and written by every export, report and explain output.

* The real ``audit-console open`` in a pseudo-terminal, driven through the feed, the drawer, the
  alerts list, the report, explain, the export dialog, help and the palette: the bytes written to
  the terminal are scanned for bytes that came from the data (see ``hostile_terminal``).
* The same app in-process (``run_test`` + Pilot): every drawn segment of every screen checked for
  control characters and for data carrying a click action or a link, the cells showing data
  clicked, and an app action that counts what a click on data would have run.
* ``export --format csv|json|jsonl``, ``report`` (Markdown, JSON) and ``explain`` (text, JSON)
  as subprocesses: unguarded formula cells in CSV, raw control/invisible characters elsewhere.
* Render time: a feed page of rows with 100 000-character reasons against a page of plain rows.

Lone surrogates (``\\ud800``) cannot reach the store: Discord's JSON would carry them as
``"\\ud800"`` escapes, which orjson (hikari's and ours) refuses to decode, and SQLite refuses to
encode them (a payload holding one is kept as a parse failure); safe_text shows them as
``<U+D800>`` (tests/test_sanitize.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import os
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import hostile_app  # noqa: E402
import hostile_data  # noqa: E402
import hostile_terminal  # noqa: E402
from faultkit import Figure, zero  # noqa: E402

NAME = "hostile"
TITLE = "Hostile input: markup, escapes, C1, bidi, 100 000-character strings"

TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\0", "＝", "＋", "－", "＠")
RATIO_TARGET = 3.0


def unsafe_chars(text: str) -> Counter[str]:
    """Characters that act on or hide from a terminal reader (newlines excepted)."""
    found: Counter[str] = Counter()
    for ch in text:
        cp = ord(ch)
        if (
            (cp < 0x20 and ch != "\n")
            or 0x7F <= cp <= 0x9F
            or ch in hostile_terminal.INVISIBLE
            or (cp > 0x7F and unicodedata.category(ch) in ("Cf", "Cs", "Co"))
        ):
            found[f"U+{cp:04X}"] += 1
    return found


def formula_cells(data: bytes) -> tuple[int, int]:
    """(unguarded formula cells, guarded cells) in a CSV export."""
    bad = guarded = 0
    limit = csv.field_size_limit(1 << 30)  # 100 000-character reasons in JSON cells
    try:
        for row in csv.reader(io.StringIO(data.decode("utf-8"), newline="")):
            for cell in row:
                if cell.startswith(TRIGGERS):
                    bad += 1
                elif cell.startswith("'") and cell[1:].startswith(TRIGGERS):
                    guarded += 1
    finally:
        csv.field_size_limit(limit)
    return bad, guarded


@contextlib.contextmanager
def home_at(home: Path) -> Iterator[None]:
    """The console's folders (exports, session, log) under ``home`` while the app runs in-process."""
    keys = ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME")
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update(
        {
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_DATA_HOME": str(home / ".data"),
            "XDG_STATE_HOME": str(home / ".state"),
        }
    )
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


async def cli(home: Path, *args: str) -> tuple[int, bytes, bytes]:
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".data"),
        "XDG_STATE_HOME": str(home / ".state"),
        "PYTHONPATH": str(hostile_terminal.ROOT),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "console", *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    return proc.returncode or 0, out, err


async def run(short: bool, workdir: Path) -> list[Figure]:
    seeds = [7] if short else [7, 8, 9]
    sizes = [(200, 50)] if short else [(200, 50), (120, 40), (80, 24)]
    now_ms = int(time.time() * 1000)
    term_escapes: Counter[str] = Counter()
    term_invisible: Counter[str] = Counter()
    drawn = stored = whole = 0
    crashes: list[str] = []
    out_bad: Counter[str] = Counter()
    formula_bad = formula_guarded = csv_files = 0
    app_findings: list[hostile_app.Findings] = []
    for seed in seeds:
        home = workdir / f"home-{seed}"
        home.mkdir()
        db = workdir / f"hostile-{seed}.db"
        seeded = await hostile_data.seed(db, seed=seed, now_ms=now_ms)
        stored += len(seeded.strings)
        db_arg = ["--db", str(db)]
        g, m, c = str(seeded.guild_id), str(seeded.member_id), str(seeded.channel_id)
        # The CLI's outputs, while the pty runs (each is its own process).
        jobs = {
            name: asyncio.ensure_future(job)
            for name, job in {
                "export csv": cli(home, "export", *db_arg, "--format", "csv", "--out", "-"),
                "export json": cli(home, "export", *db_arg, "--format", "json", "--out", "-"),
                "export jsonl": cli(home, "export", *db_arg, "--format", "jsonl", "--out", "-"),
                "report markdown": cli(home, "report", *db_arg, "--since", "7d"),
                "report json": cli(home, "report", *db_arg, "--since", "7d", "--format", "json"),
                "explain": cli(
                    home,
                    "explain",
                    *db_arg,
                    "--guild",
                    g,
                    "--member",
                    m,
                    "--permission",
                    "MANAGE_ROLES",
                    "--channel",
                    c,
                ),
                "explain capability": cli(
                    home, "explain", *db_arg, "--guild", g, "--member", m, "--capability", "roles.grant"
                ),
                "explain json": cli(
                    home,
                    "explain",
                    *db_arg,
                    "--guild",
                    g,
                    "--member",
                    m,
                    "--permission",
                    "MANAGE_ROLES",
                    "--channel",
                    c,
                    "--json",
                ),
            }.items()
        }
        for size in sizes:
            t = time.monotonic()
            capture = await asyncio.to_thread(hostile_terminal.run_console, ["open", *db_arg], home, size=size)
            print(f"# hostile: pty {size} {time.monotonic() - t:.1f} s", file=sys.stderr)
            found = hostile_terminal.scan(capture.stream, seeded.strings)
            term_escapes += found.escapes
            term_invisible += found.invisible
            drawn += len(found.markers_seen)
            whole += found.whole_strings
            plain = hostile_terminal.ANSI.sub(b"", capture.stream)
            if capture.exit_status != 0 or b"Traceback" in plain or b"internal error" in plain:
                crashes.append(f"pty {size}: exit {capture.exit_status}")
        results = dict(zip(jobs, await asyncio.gather(*jobs.values()), strict=True))
        for what, (code, out, err) in results.items():
            if code not in (0, 1) or b"Traceback" in err:
                crashes.append(f"{what}: exit {code} {err[-200:]!r}")
            if what == "export csv":
                bad, guarded = formula_cells(out)
                formula_bad += bad
                formula_guarded += guarded
                csv_files += 1
            else:
                for k, n in unsafe_chars(out.decode("utf-8", "surrogateescape")).items():
                    out_bad[f"{what}: {k}"] += n
            for k, n in unsafe_chars(err.decode("utf-8", "surrogateescape")).items():
                out_bad[f"{what} (stderr): {k}"] += n
        # The export dialog wrote a CSV too (in the pty run).
        for path in (home / ".data").rglob("*.csv"):
            bad, guarded = formula_cells(path.read_bytes())
            formula_bad += bad
            formula_guarded += guarded
            csv_files += 1
        print(f"# hostile: cli done {time.monotonic() - t:.1f} s", file=sys.stderr)
        t = time.monotonic()
        with home_at(home):
            app_findings.append(
                await hostile_app.run_app(db, home, seeded, now_ms=now_ms, click_all=not short, sizes=sizes)
            )
        print(f"# hostile: app {time.monotonic() - t:.1f} s", file=sys.stderr)
    f0 = app_findings[0]
    clicks = sum(f.clicks for f in app_findings)
    ran = sum((f.ran for f in app_findings), Counter())
    app_escapes = sum((f.escapes for f in app_findings), Counter())
    app_invisible = sum((f.invisible for f in app_findings), Counter())
    clickable = sum((f.clickable for f in app_findings), Counter())
    screens = sorted({s.split(" ")[0] for f in app_findings for s in f.screens})
    crashes += [f.crashed for f in app_findings if f.crashed]
    # A figure that cannot fail is a defect: the hostile text must have been drawn at all.
    drawn_ok = drawn >= 20 * len(seeds) * len(sizes) and sum(f.markers for f in app_findings) > 0

    def detail(c: Counter[str]) -> str:
        return "; ".join(f"{k} ×{n}" for k, n in c.most_common(4))

    figures = [
        Figure(
            NAME,
            "data-originated escape bytes reaching the terminal",
            str(sum(term_escapes.values())),
            "0",
            not term_escapes and drawn_ok,
            f"pty, {stored} hostile strings stored, {drawn} drawn, {whole} drawn whole; "
            + (detail(term_escapes) if term_escapes else f"{len(sizes)} size(s)")
            + ("" if drawn_ok else "; TOO FEW DRAWN"),
        ),
        zero(
            NAME,
            "bidi/zero-width/format characters from data reaching the terminal",
            sum(term_invisible.values()),
            detail(term_invisible) or "pty",
        ),
        zero(
            NAME,
            "control or invisible characters in drawn segments",
            sum((app_escapes + app_invisible).values()),
            detail(app_escapes + app_invisible) or f"run_test, screens: {', '.join(screens)}",
        ),
        zero(NAME, "data drawn with a click action or link", sum(clickable.values()), detail(clickable) or "run_test"),
        Figure(
            NAME,
            "markup actions run",
            str(sum(ran.values())),
            "0",
            not ran and clicks > 0,
            f"{clicks} clicks on cells showing data" + (f"; {detail(ran)}" if ran else ""),
        ),
        Figure(
            NAME,
            "unescaped formula cells in CSV exports",
            str(formula_bad),
            "0",
            formula_bad == 0 and formula_guarded >= len(hostile_data.FORMULAS) and csv_files >= 2,
            f"{csv_files} CSV files (CLI and the export dialog), {formula_guarded} cells guarded",
        ),
        zero(
            NAME,
            "control/invisible characters in JSON, JSONL, report and explain output",
            sum(out_bad.values()),
            detail(out_bad) or "export json/jsonl, report markdown/json, explain text/json",
        ),
        zero(NAME, "crashes", len(crashes), "; ".join(crashes)[:300] or "pty, run_test and every CLI output"),
        Figure(
            NAME,
            "feed page render time, 100 000-char rows vs plain rows",
            f"{f0.render_ratio:.2f}×",
            f"≤ {RATIO_TARGET:g}×",
            f0.render_ratio <= RATIO_TARGET,
            f"{f0.render_note}; drawer with raw JSON {f0.drawer_ratio:.1f}× ({f0.drawer_note}), "
            "bounded by the 1 024-char clamp",
        ),
    ]
    return figures
