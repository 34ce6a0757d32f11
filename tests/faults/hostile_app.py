"""The console app in-process (``run_test`` + Pilot) for the "hostile" case: every screen with
hostile data on it, every drawn segment checked, the cells showing data clicked, and the time to
draw a page of 100 000-character rows against a page of plain ones.

Clicking is counted by the app itself: :class:`CountingApp` has an ``action_hz_count`` — the
action the hostile markup names — and counts ``quit`` too (``\\[@click=app.quit]`` is in the data).
"""

from __future__ import annotations

import statistics
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hostile_data import ACTION, Seeded, Strings
from hostile_terminal import INVISIBLE

from console.alerts.engine import Alert
from console.config import Settings
from console.ingest.state import CollectorState
from console.model.filters import Filter
from console.model.sanitize import safe_text
from console.store import Store
from console.ui.app import ConsoleApp
from console.ui.widgets.drawer import DetailDrawer
from console.ui.widgets.feed import FeedView


class CountingApp(ConsoleApp):
    """The real console, plus the action hostile markup tries to run (and a count of quits)."""

    CSS_PATH = str(Path(__import__("console.ui.app").ui.app.__file__).with_name("app.tcss"))
    ran: Counter[str]

    def action_hz_count(self, *_args: Any) -> None:
        self.ran[ACTION] += 1

    async def action_quit(self) -> None:
        self.ran["quit"] += 1  # a click must never quit; the case closes the app itself

    async def run_action(self, action: Any, default_namespace: Any = None) -> bool:
        if ACTION in str(action):
            self.ran["run_action " + ACTION] += 1
        return await super().run_action(action, default_namespace)


@dataclass
class Findings:
    escapes: Counter[str] = field(default_factory=Counter)
    invisible: Counter[str] = field(default_factory=Counter)
    clickable: Counter[str] = field(default_factory=Counter)  # data text carrying an action or a link
    screens: list[str] = field(default_factory=list)
    markers: int = 0  # segments showing a marked hostile string
    clicks: int = 0
    ran: Counter[str] = field(default_factory=Counter)
    crashed: str = ""
    render_ratio: float = float("inf")  # until measured
    render_note: str = "not measured"
    drawer_ratio: float = float("inf")
    drawer_note: str = "not measured"


def _check_strips(app: Any, found: Findings, where: str) -> list[int]:
    """Every segment the current screen draws; returns the lines that show hostile data."""
    found.screens.append(where)
    data_lines = []
    for y, strip in enumerate(app.screen._compositor.render_strips()):
        line_has_data = False
        for seg in strip:
            text = seg.text
            if "HZ" in text or "click me" in text or "zalgo" in text:
                line_has_data = True
                found.markers += text.count("HZ")
            for ch in text:
                cp = ord(ch)
                if cp < 0x20 or 0x7F <= cp <= 0x9F:
                    found.escapes[f"{where}: U+{cp:04X}"] += 1
                elif ch in INVISIBLE or (cp > 0x7F and unicodedata.category(ch) in ("Cf", "Cs", "Co")):
                    found.invisible[f"{where}: U+{cp:04X}"] += 1
            style = seg.style
            if style is not None:
                meta = style.meta or {}
                if ACTION in str(meta.get("@click", "")):
                    found.clickable[f"{where}: @click"] += 1
                if style.link and "hz.invalid" in style.link:
                    found.clickable[f"{where}: link"] += 1
        if line_has_data:
            data_lines.append(y)
    return data_lines


async def _visit(pilot: Any, app: Any, found: Findings, where: str, *, click_all: bool) -> None:
    """Check what is drawn, then click the data on it: with ``click_all`` three cells of every
    literal markup on every line, else of the first two on the screen."""
    await pilot.pause(0.05)
    lines = _check_strips(app, found, where)
    width = app.size.width
    strips = app.screen._compositor.render_strips()
    targets: list[tuple[int, int]] = []
    for y in lines:
        text = "".join(seg.text for seg in strips[y])
        # Three cells of a literal markup (where a link would be): with ``click_all`` of every
        # one on the line, else of the first two on the screen. (Every drawn segment is also
        # checked for a click action or link above, which is all a click could run; clicking
        # every cell of a 200-column screen would take 40 minutes a screen.)
        for needle in ("click me", "[@click"):
            at = text.find(needle)
            while at >= 0 and (click_all or len(targets) < 6):
                targets += [(min(width - 1, at + d), y) for d in (0, len(needle) // 2, len(needle) - 1)]
                at = text.find(needle, at + len(needle)) if click_all else -1
    for x, y in targets:
        if where.startswith("main") and len(app.screen_stack) > 1:
            break  # a click opened something; the main screen was checked above
        await pilot.click(offset=(x, y))
        found.clicks += 1


async def _page_time(app: Any, feed: FeedView, ids: list[int], repeats: int) -> tuple[float, int]:
    """Median seconds to draw the feed's visible page centred on ``ids`` with no cached rows, and
    how many of the drawn rows are in ``ids``."""
    await feed.jump_to_id(ids[len(ids) // 2])
    await app.workers.wait_for_complete()
    height = feed.size.height
    wanted = set(ids)
    inside = sum(
        1 for y in range(height) if (r := feed.record_at(feed.scroll_offset.y + y)) is not None and r.id in wanted
    )
    times = []
    for _ in range(repeats):
        feed._strips.clear()
        started = time.perf_counter()
        for y in range(height):
            feed.render_line(y)
        times.append(time.perf_counter() - started)
    return statistics.median(times), inside


def _drawer_time(drawer: DetailDrawer, record: Any, repeats: int) -> float:
    from rich.console import Console

    console = Console(width=196, file=open("/dev/null", "w"), color_system="truecolor")  # noqa: SIM115
    times = []
    for _ in range(repeats):
        drawer.show(record)
        started = time.perf_counter()
        console.render_lines(drawer._render_record(), console.options.update_width(196))
        times.append(time.perf_counter() - started)
    console.file.close()
    return statistics.median(times)


async def run_app(
    db: Path, home: Path, seeded: Seeded, *, now_ms: int, click_all: bool, sizes: list[tuple[int, int]]
) -> Findings:
    from console.services import Services
    from console.ui.screens.role_dialog import RoleDialog

    found = Findings()
    more = Strings(seed=99)
    for size in sizes:
        store = await Store.open(db, clock=lambda: now_ms)
        services = Services(store, Settings(db=db, policy=None))
        app = CountingApp(
            store,
            label=more.next(short=True),
            clock=lambda: now_ms,
            remember=False,
            services=services,
            operator_id=seeded.member_id,
        )
        app.ran = found.ran
        tag = f"{size[0]}x{size[1]}"
        try:
            async with app.run_test(size=size) as pilot:
                await pilot.pause(0.3)
                await app.workers.wait_for_complete()
                feed = app.query_one(FeedView)
                app.collector_state(
                    CollectorState(gateway="connected", last_error=more.next(), guild_ids=frozenset({seeded.guild_id}))
                )
                app.notice(more.next())
                for _ in range(100):  # the alert watch starts after the first frame: later on a busy machine
                    if app.main_screen.alert_watch is not None:
                        break
                    await pilot.pause(0.1)
                assert app.main_screen.alert_watch is not None, "the alert watch never started"
                app.main_screen.alert_watch.toast(
                    Alert(now_ms, "ban_wave", seeded.guild_id, "error", more.next(), (1,))
                )
                await pilot.pause(0.4)
                await _visit(pilot, app, found, f"main {tag}", click_all=click_all)
                # The detail drawer on every kind of record near the top, raw JSON on and off.
                await app.main_screen.action_toggle_drawer()
                drawer = app.query_one(DetailDrawer)
                for step in range(24):
                    if step == 12:
                        drawer.action_toggle_raw()
                    await pilot.pause(0.02)
                    _check_strips(app, found, f"drawer {tag}")
                    feed.action_cursor(1)
                await _visit(pilot, app, found, f"drawer {tag}", click_all=click_all)
                # The lambdas below are called within their own iteration (B023 does not apply).
                for opener, where in (
                    (app.main_screen.action_alerts, "alerts"),
                    (lambda: app.main_screen.action_report(7), "report"),  # noqa: B023
                    (app.main_screen.action_explain, "explain"),
                    (app.main_screen.action_help, "help"),
                    (lambda: app.main_screen.open_export_dialog("csv"), "export dialog"),  # noqa: B023
                    (app.action_command_palette, "palette"),
                ):
                    result = opener()
                    if hasattr(result, "__await__"):
                        await result
                    await pilot.pause(0.6)
                    await app.workers.wait_for_complete()
                    await pilot.pause(0.1)
                    await _visit(pilot, app, found, f"{where} {tag}", click_all=click_all)
                    while len(app.screen_stack) > 1:
                        app.pop_screen()
                    await pilot.pause(0.05)
                app.push_screen(
                    RoleDialog(
                        member_id=seeded.member_id,
                        roles=lambda: store.names("role"),  # noqa: B023
                        users=lambda: store.names("user"),  # noqa: B023
                        operator=safe_text(more.next(), 40),
                    )
                )
                await pilot.pause(0.3)
                await pilot.press(*"HZ")
                await pilot.pause(0.3)
                await _visit(pilot, app, found, f"role dialog {tag}", click_all=click_all)
                app.pop_screen()
                # What a moderator pastes into the search bar from a hostile reason.
                await app.main_screen.action_search()
                from textual.widgets import Input

                box = app.query_one("#search-input", Input)
                box.value = '"' + seeded.strings[12].split("<", 1)[1][:40] + '"'
                await box.action_submit()
                await pilot.pause(0.5)
                await app.workers.wait_for_complete()
                await _visit(pilot, app, found, f"after search {tag}", click_all=click_all)
                await app.main_screen.action_clear_filter()
                await pilot.pause(0.2)
                if size == sizes[0]:
                    app.query_one(DetailDrawer).remove_class("-open")
                    await pilot.pause(0.2)
                    repeats = 7
                    long_s, long_in = await _page_time(app, feed, seeded.long_ids, repeats)
                    plain_s, plain_in = await _page_time(app, feed, seeded.plain_ids, repeats)
                    found.render_ratio = long_s / plain_s if plain_s else float("inf")
                    found.render_note = (
                        f"page of {long_in} rows of 100 000-char reasons {long_s * 1000:.1f} ms, "
                        f"{plain_in} plain rows {plain_s * 1000:.1f} ms"
                    )
                    if min(long_in, plain_in) < 10:
                        found.render_ratio = float("inf")  # the page did not show what it should
                        found.render_note += " (page not filled: harness problem)"
                    long_rec = await store.get_entry(seeded.long_ids[0])
                    plain_rec = await store.get_entry(seeded.plain_ids[0])
                    drawer = app.query_one(DetailDrawer)
                    drawer.show_raw = True
                    long_d, plain_d = _drawer_time(drawer, long_rec, 5), _drawer_time(drawer, plain_rec, 5)
                    found.drawer_ratio = long_d / plain_d
                    found.drawer_note = f"{long_d * 1000:.1f} ms against {plain_d * 1000:.1f} ms"
                if not app.is_running:
                    found.crashed = "the app stopped"
                await app.main_screen.apply_filter(Filter())
        except Exception as e:  # noqa: BLE001 - a crash is the finding
            found.crashed = f"{tag}: {type(e).__name__}: {safe_text(str(e), 200)}"
        finally:
            await store.close()
        if app._exception is not None and not found.crashed:
            found.crashed = f"{tag}: {type(app._exception).__name__}: {safe_text(str(app._exception), 200)}"
    return found
