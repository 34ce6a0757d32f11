"""The console app. It watches the store and never talks to Discord itself: a session object
(demo, live) connects in a worker after the first frame; actions go through the store."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from rich.segment import Segment, Segments
from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.events import ScreenResume
from textual.screen import Screen
from textual.widget import Widget

from console.ingest.state import CollectorState
from console.model.filters import Filter, narrow
from console.model.records import RoleChange
from console.model.sanitize import safe_text
from console.store import IngestResult, Store
from console.store import timeline as tl
from console.ui import session_state, theming
from console.ui.rows import RowContext, names_shown, record_key
from console.ui.widgets.activity import ActivityBar
from console.ui.widgets.feed import FeedView, FirstPage, read_first_page
from console.ui.widgets.pending import PendingPane
from console.ui.widgets.sidebar import FilterSidebar
from console.ui.widgets.status import StatusBar

if TYPE_CHECKING:
    from console.ui.widgets.drawer import DetailDrawer
    from console.ui.widgets.filter_choices import SidebarChoice
    from console.ui.widgets.search import SearchBar

Connect = Callable[["ConsoleApp"], Awaitable[None]]


def _console_commands() -> Any:
    """The palette's provider, imported when the palette first opens (not at startup)."""
    from console.ui.commands import ConsoleCommands

    return ConsoleCommands


def _now_ms() -> int:
    return int(time.time() * 1000)


class MainScreen(Screen):
    """The console's screen (the feed and its panes)."""

    _shown = False

    def _on_screen_resume(self, event: ScreenResume) -> None:
        # Textual calls the handlers along the MRO, this one before Screen's. When the screen
        # first shows, every widget on it has just been styled as it mounted: styling them all
        # again costs ~3 ms of startup. Later resumes (a dialog closed, the theme changed
        # meanwhile) restyle as usual. (The snapshots hold the first frame unchanged.)
        if not self._shown:
            self._shown = True
            event.refresh_styles = False


class ConsoleApp(App[int]):
    TITLE = "Audit Console"
    CSS_PATH = "app.tcss"
    # Focus lands on the feed when the screen first shows; focusing it after mount instead
    # restyles the whole screen twice over (auto focus picks the sidebar first): ~30 ms.
    AUTO_FOCUS = "#feed"
    COMMANDS: ClassVar = App.COMMANDS | {_console_commands}
    #: Ring the terminal bell on a new alert (config ``[alerts] bell``; set by the launcher).
    alert_bell: bool = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("slash", "search", "Search", id="search"),
        Binding("a", "filter_actor", "Actor", id="filter-actor"),
        Binding("t", "filter_target", "Target", id="filter-target"),
        Binding("c", "clear_filter", "Clear", id="clear-filter"),
        Binding("n", "find(1)", "Next match", show=False),
        Binding("N", "find(-1)", "Prev match", show=False),
        Binding("s", "toggle_sidebar", "Filters", id="toggle-sidebar"),
        Binding("p", "toggle_pending", "Pending", id="toggle-pending"),
        # Not in the footer (it is full at 120 columns): the help screen and the palette list them.
        Binding("g", "role_dialog", "Grant/revoke", show=False, id="role-dialog"),
        Binding("w", "explain", "Why (explain)", show=False, id="explain"),
        Binding("r", "retry_change", "Retry", show=False),
        Binding("x", "cancel_change", "Cancel change", show=False),
        Binding("escape", "close_drawer", "Close", show=False),
        Binding("plus", "sidebar_width(2)", "Wider", show=False),
        Binding("minus", "sidebar_width(-2)", "Narrower", show=False),
        Binding("left_curly_bracket", "drawer_height(-3)", "Shorter details", show=False),
        Binding("right_curly_bracket", "drawer_height(3)", "Taller details", show=False),
        Binding("question_mark,f1", "help", "Help", id="help"),
        Binding("exclamation_mark", "alerts", "Alerts", show=False, id="alerts"),
        Binding("R", "report(7)", "Report", show=False, id="report"),
        Binding("e", "export", "Export", show=False, id="export"),
    ]

    def __init__(
        self,
        store: Store | None = None,
        *,
        open_store: Callable[[], Awaitable[Store]] | None = None,
        label: str,
        connect: Connect | None = None,
        clock: Callable[[], int] = _now_ms,
        operator_id: int | None = None,
        services: Any = None,
        services_factory: Callable[[], Any] | None = None,
        remember: bool = True,
        theme_dirs: list[Any] | None = None,
    ) -> None:
        super().__init__()
        if store is None and open_store is None:
            raise ValueError("ConsoleApp needs a store or a way to open one")
        self.store: Store = store  # type: ignore[assignment]  # set in on_load when opened here
        self._open_store = open_store
        self.label = label
        self.clock = clock
        self.operator_id = operator_id
        #: console.services.Services: the gatekeeper always; role changes once connected.
        self.services = services
        #: Builds the offline gatekeeper when explain first needs it (it costs ~40 ms of startup).
        self._services_factory = services_factory
        self._connect = connect
        self._remember = remember
        self._theme_dirs = theme_dirs
        self.state = CollectorState()
        self.filter = Filter()
        self.query_text = ""
        self.find_filter: Filter | None = None
        self.row_styles: dict[str, str] = dict(theming.VARIABLE_DEFAULTS)
        self.open_gaps = 0
        #: Retention's newest cut-off (ms): the store keeps everything after it (None: no prune yet).
        self.kept_since: int | None = None
        self._dirty = False
        self._inserted: list[int] = []
        self._changed: set[tuple[str, int]] = set()  # records changed in place since the last refresh
        self._store_checked = asyncio.Event()
        #: SQLite's quick_check finding, once it ran (None: healthy).
        self.store_problem: str | None = None
        #: The reconciler paused role changes (the store cannot be written).
        self.roles_paused = False
        self._unsubscribe: Callable[[], Any] | None = None
        self._user_toggled_pending = False
        self._user_toggled_sidebar = False
        self._activity_at = 0.0
        self._activity_total = 0
        self._status_pending = False
        self._busy = False
        self.theme_problems: list[str] = []
        #: Called once, shortly after the first frame has been drawn.
        self.after_first_frame: list[Callable[[], Any]] = []
        self._saved_view: dict[str, Any] = {}
        self._restored_filter = False
        self._view_shown = False
        self._data_version = 0  # SQLite's data_version when the feed last read (browsing only)
        #: The feed's first page, read before the screen is composed (on_load).
        self._first_page: FirstPage | None = None
        # Built on first use (_drawer, _search_bar). The drawer's height as set with { and }
        # (or restored), given to the drawer when it is built.
        self._built_drawer: DetailDrawer | None = None
        self._built_search: SearchBar | None = None
        self._drawer_height: int | None = None
        self._register_themes()

    def _fatal_error(self) -> None:
        """An unhandled exception: the traceback goes to the log file (redacted); the terminal
        gets one line. Textual's default prints a traceback with every frame's locals."""
        import logging

        from console import paths
        from console.secret import REDACTOR

        error = self._exception
        logging.getLogger("console.ui").error(
            "unhandled exception in the console",
            exc_info=(type(error), error, error.__traceback__) if error is not None else True,
        )
        what = f"{type(error).__name__}: {error}" if error is not None else "unknown error"
        line = REDACTOR.redact(f"audit-console: internal error: {safe_text(what, 200)} (details in {paths.log_file()})")
        self.bell()
        # Raw segments: printed as they are, never re-wrapped to the terminal's width.
        self._exit_renderables.append(Segments([Segment(line), Segment.line()]))
        self._close_messages_no_wait()

    # -- themes ---------------------------------------------------------------------------------

    async def on_load(self) -> None:
        # Tests open the store on the app's own loop (aiosqlite futures belong to one loop).
        if self.store is None and self._open_store is not None:
            self.store = await self._open_store()
        if self._remember:
            self._restore_filter()
        if self.store.readonly:
            self._data_version = await self.store.data_version()
        with contextlib.suppress(sqlite3.DatabaseError):  # the feed reads again and says why
            await self._read_first_screen()
        if self._restored_filter:
            self.query_text = self._format(self.filter)

    async def _read_first_screen(self) -> None:
        """Before anything is composed: the feed's first page, so that the first layout has its
        rows (not a frame without them and another layout and paint of the whole screen after),
        and the names that screen shows (all of them are read after its first frame)."""
        self._first_page = await read_first_page(self.store, self.filter)
        wanted: list[tuple[str, int | None]] = [("user", self.operator_id)]
        wanted += [("user", i) for i in self.filter.actor_ids | self.filter.target_ids]  # the query text's
        for record in self._first_page[1]:
            wanted += names_shown(record)
        await self.store.load_names_for(wanted)

    def get_default_screen(self) -> Screen:
        return MainScreen(id="_default")

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(theming.VARIABLE_DEFAULTS)

    #: False while App.__init__ runs: the console's themes are not registered yet.
    _themes_registered = False

    def get_css_variables(self) -> dict[str, str]:
        # App.__init__ builds its stylesheet with the variables of Textual's default theme, which
        # the console replaces at once (_start_with_theme): generating that colour system too
        # would cost ~2 ms of startup for nothing.
        return super().get_css_variables() if self._themes_registered else {}

    def _register_themes(self) -> None:
        result = theming.load_themes(self._theme_dirs)
        for theme in result.loaded:
            self.register_theme(theme)
        self.theme_problems = [f"{p.name}: {why}" for p, why in result.failed]
        saved = session_state.load().get("theme") if self._remember else None
        wanted = saved if isinstance(saved, str) else theming.DEFAULT_THEME
        self._themes_registered = True
        if wanted in self.available_themes:
            self._start_with_theme(wanted)
        elif theming.DEFAULT_THEME in self.available_themes:
            self._start_with_theme(theming.DEFAULT_THEME)
        else:  # every theme file broken: Textual's own default
            self._start_with_theme(self.theme)

    def _start_with_theme(self, name: str) -> None:
        """The theme the app starts with: what setting ``self.theme`` does, less the stylesheet
        re-parse Textual schedules for a change of theme (~5 ms of the first frame, parsing the
        app's CSS twice). Nothing is parsed or styled yet; the variables are all it needs."""
        self.set_reactive(App.theme, name)
        theme = self.current_theme
        self.update_classes(
            {
                **{c: False for c in self.classes if c.startswith("-theme-")},
                f"-theme-{theme.name}": True,
                "-dark-mode": theme.dark,
                "-light-mode": not theme.dark,
            },
            update=False,
        )
        self._refresh_truecolor_filter(self.ansi_theme)  # ANSI colours as this theme's terminal palette
        variables = self.get_css_variables()  # the theme's colour system, generated once
        self.stylesheet.set_variables(variables)
        self.row_styles = theming.theme_styles(variables)

    def switch_theme(self, name: str) -> None:
        if name in self.available_themes:
            self.theme = name
            if self._remember:
                session_state.update(theme=name)

    def watch_theme(self, theme: str) -> None:
        self.row_styles = theming.theme_styles(self.get_css_variables())
        # A theme set in __init__ (the remembered one) arrives before there is a screen.
        if self.screen_stack and self.query(FeedView):
            self._apply_context()
            self._render_status()

    # -- layout ---------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        # The width-dependent classes are given before anything is styled: set after mounting
        # (_layout_for_width), they restyle every widget once more (about 50 ms of startup).
        width = self.size.width
        self.screen.set_class(width < 110, "-narrow")
        yield StatusBar(id="status")
        with Horizontal(id="main"):
            yield FilterSidebar(id="sidebar", classes="-hidden" if width < 100 else None)
            with Vertical(id="center"):
                yield ActivityBar(id="activity-bar")
                feed = FeedView(self.store, self._row_context(), id="feed")
                feed.on_bookmarks = self._view_changed
                feed.border_title = "Feed"
                yield feed
                # The detail drawer and the search bar are hidden until first used, and built
                # then (_drawer, _search_bar): five widgets fewer to mount and style at start.
            yield PendingPane(id="pending", classes=None if width >= 150 else "-hidden")
        # The footer's line; the footer itself (Textual's, and its CSS) comes after the first
        # frame, which it would show without keys anyway (KeysFooter).
        yield Widget(id="footer-slot")

    async def on_mount(self) -> None:
        self._unsubscribe = self.store.add_listener(self._committed)
        self._layout_for_width(self.size.width)
        feed = self.query_one(FeedView)
        if self._remember:
            self._restore_view()
        self._view_shown = True
        first_page, self._first_page = self._first_page, None
        await feed.load(self.filter, first_page=first_page)
        self._show_feed_state(feed)  # in the first frame (its Changed message comes after it)
        self.call_after_refresh(self.query_one(FilterSidebar).scroll_home, animate=False)
        # The header's counts, the sparkline and the pending pane come after the first frame.
        self.call_after_refresh(self._refresh_side)
        self.call_after_refresh(self._first_frame_drawn)
        self.set_interval(1.0, self._tick, name="pending-tick")
        if self.store.readonly:
            # Browsing a store another process collects into: its commits don't reach our
            # listeners, so watch SQLite's data_version (read in on_load, before the first page)
            # and refresh when it moves.
            self.set_interval(1.0, self._watch_other_writers, name="watch-writers")
        # Alerts are watched from after the first frame (one more query is not startup's to pay).
        self.call_after_refresh(self._watch_alerts)
        for problem in self.theme_problems:
            self.notify(safe_text(problem, 200), title="Theme not loaded", severity="warning", markup=False)
        if self._connect is not None:
            # After the first frame: importing hikari alone costs about a second.
            self.call_after_refresh(self._start_connect)

    def _first_frame_drawn(self) -> None:
        """The feed has drawn its records: the rest of the screen now."""
        self.query_one(FilterSidebar).show_choices()
        from console.ui.widgets.keys_footer import KeysFooter

        self.query_one("#footer-slot").mount(KeysFooter())
        self.run_worker(self._check_store(), name="quick-check", exit_on_error=False)
        if not self.store.names_complete:
            self.run_worker(self.store.reload_names(), name="names", exit_on_error=False)
        # A moment later: the frame is written by the driver's thread, which needs the GIL.
        hooks, self.after_first_frame = self.after_first_frame, []

        def run_hooks() -> None:
            for hook in hooks:
                hook()

        if hooks:
            self.set_timer(0.05, run_hooks, name="after-first-frame")

    async def _watch_alerts(self) -> None:
        from console.ui.alerts import AlertWatch

        self.alert_watch = AlertWatch(self)
        await self.alert_watch.start()

    async def _check_store(self) -> None:
        """SQLite's quick_check, after the first frame (it reads the whole file: seconds at 1M)."""
        try:
            self.store_problem = await self.store.quick_check()
        finally:
            self._store_checked.set()
        if self.store_problem:
            self.notify(
                safe_text(f"The database reports damage: {self.store_problem}. Run `audit-console verify`.", 300),
                title="Store damaged",
                severity="error",
                timeout=30,
                markup=False,
            )

    def _start_connect(self) -> None:
        self.run_worker(self._connect_when_checked(), name="connect", group="gateway", exit_on_error=False)

    async def _connect_when_checked(self) -> None:
        """Connect only into a healthy store: a collector writing into damaged pages spreads the
        damage (the quick_check runs after the first frame, so startup does not wait for it)."""
        assert self._connect is not None
        await self._store_checked.wait()
        if self.store_problem:
            self.notice(
                "Not connecting: nothing is written into a damaged store. "
                "Run `audit-console verify`, then restore a backup.",
                severity="error",
            )
            return
        await self._connect(self)

    async def on_unmount(self) -> None:
        # Only a view that was shown: an app that failed before its screen was composed would
        # otherwise save the defaults over the moderator's last view.
        if self._remember and self._view_shown:
            with contextlib.suppress(NoMatches):
                self._save_view()
        if self._unsubscribe:
            self._unsubscribe()
        if self._open_store is not None and self.store is not None:
            await self.store.close()

    def on_resize(self, event: Any) -> None:
        self._layout_for_width(event.size.width)
        self.call_after_refresh(self._apply_context)

    def _layout_for_width(self, width: int) -> None:
        narrow = width < 110
        self.screen.set_class(narrow, "-narrow")
        if not self._user_toggled_sidebar:
            # At 80 columns the feed needs the room; `s` brings the filters back.
            self.query_one(FilterSidebar).set_class(width < 100, "-hidden")
        self._auto_pending()

    def _auto_pending(self) -> None:
        """The pending pane shows itself on wide screens, and whenever something is pending on
        ordinary ones; a person's own toggle always wins."""
        if self._user_toggled_pending:
            return
        pane = self.query_one(PendingPane)
        width = self.size.width
        show = width >= 150 or (bool(pane.changes) and width >= 110)
        pane.set_class(not show, "-hidden")

    def _row_context(self) -> RowContext:
        try:
            sidebar: FilterSidebar | None = self.query_one(FilterSidebar)
        except NoMatches:  # composing: the sidebar is not there yet
            sidebar = None
        # Its controls come after the first frame (FilterSidebar.show_choices).
        sidebar_relative = sidebar is not None and sidebar.ready and sidebar.choice().relative
        feeds = self.query(FeedView)
        feed_width = feeds.first().size.width if feeds else self.size.width
        return RowContext(
            name_of=self.store.name_of,
            styles=self.row_styles,
            relative=sidebar_relative,
            now_ms=self.clock(),
            compact=0 < feed_width < 100,
        )

    def _apply_context(self) -> None:
        self.query_one(FeedView).set_context(self._row_context())
        drawer = self._open_drawer()
        if drawer is not None:
            drawer.refresh_details()

    # -- live updates ---------------------------------------------------------------------------

    def collector_state(self, state: CollectorState) -> None:
        """Called by the session whenever the collector's state changes (at every committed
        batch while ingesting): the header is redrawn at most four times a second."""
        self.state = state
        if not (self.is_running and self.screen_stack) or self._status_pending:
            return
        self._status_pending = True
        self.set_timer(0.25, self._render_status_later)

    def _render_status_later(self) -> None:
        self._status_pending = False
        with contextlib.suppress(NoMatches):
            self._render_status()

    def attach_services(self, services: Any) -> None:
        """The live session is connected: the policy, role changes and their reconciler."""
        self.services = services

        def policy_changed(found: Any) -> None:
            if found.error:
                self.notice(found.error, severity="error")
            else:
                self.notice(f"Policy {found.version} is in force.")

        services.on_policy = policy_changed
        if getattr(services, "reconciler", None) is not None:
            services.reconciler.on_pause = self._roles_paused

    def _roles_paused(self, why: str | None) -> None:
        """The reconciler stopped calling Discord (the store cannot be written), or resumed."""
        self.roles_paused = why is not None
        if why is not None:
            self.notice(
                f"Role changes paused: the store cannot be written ({why}). Nothing is sent to "
                "Discord until a write goes through again.",
                severity="error",
            )
        else:
            self.notice("Role changes resumed: the store can be written again.")
        with contextlib.suppress(NoMatches):
            self._render_status()

    def notice(self, message: str, *, severity: str = "information") -> None:
        self.notify(safe_text(message, 300), severity=severity, markup=False)  # type: ignore[arg-type]

    def _committed(self, result: IngestResult) -> None:
        # Coalesce: a burst of commits becomes one feed refresh per interval: 10 a second when
        # it is quiet, 2 a second under a flood (> 25 records per refresh). Each repaint of a
        # moving feed costs a frame of loop time; at 4 a second the loop lag p99 was 15-20 ms
        # at 1,000 entries/s, at 2 a second 5-9 ms (bench_ui U4). Nobody reads 1,000 rows/s.
        self._inserted += result.inserted
        self._changed.update(result.changed)
        self._changed.update(("audit", i) for i in result.updated)
        if not self._dirty:
            self._dirty = True
            self.set_timer(0.5 if self._busy else 0.1, self._flush_changes)

    async def _flush_changes(self) -> None:
        self._dirty = False
        inserted, self._inserted = self._inserted, []
        changed, self._changed = self._changed, set()
        self._busy = len(inserted) > 25
        with _closing_quietly():
            feed = self.query_one(FeedView)
            await feed.refresh_data(inserted, changed)
            current = feed.current
            if current is not None and record_key(current) in changed and self._open_drawer() is not None:
                await self._show_details(current)  # the record in the drawer moved on
            await self._refresh_side()

    async def _refresh_side(self) -> None:
        now = time.monotonic()
        # The sparkline needs no more than one update in 5 s — unless it still shows nothing.
        if now - self._activity_at >= 5.0 or not self._activity_total:
            self._refresh_activity()
        self.open_gaps = await self.store.open_gap_count()
        kept = await self.store.kept_since()
        if kept != self.kept_since:
            self.kept_since = kept
            self.post_message(FeedView.Changed(self.query_one(FeedView)))
        self._render_status()
        await self._refresh_pending()

    def _refresh_activity(self) -> None:
        """The sparkline: the filter's date range, or the last 24 hours, in 60 buckets. In a
        worker: over a big store the query reads for up to a second, and neither keys, nor a
        newer filter (it replaces this one), nor quitting should wait for it."""
        self._activity_at = time.monotonic()
        self.run_worker(self._activity(self.filter), group="activity", exclusive=True, exit_on_error=False)

    async def _activity(self, flt: Filter) -> None:
        now = self.clock()
        start = flt.since_ms if flt.since_ms is not None else now - 86_400_000
        end = flt.until_ms if flt.until_ms is not None else now + 1
        with _closing_quietly():
            counts = await tl.histogram(await self.store.scanner(), flt, start_ms=start, end_ms=end, buckets=60)
            self._activity_total = sum(counts)
            hours = max(1, round((end - start) / 3_600_000))
            label = f"last {hours}h" if flt.since_ms is None else f"{hours}h range"
            self.query_one(ActivityBar).show(counts, label)

    async def _watch_other_writers(self) -> None:
        with _closing_quietly():
            version = await self.store.data_version()
            if version != self._data_version:
                self._data_version = version
                await self.store.reload_names()
                self._committed(IngestResult())

    async def _tick(self) -> None:
        with _closing_quietly():
            await self._refresh_pending()

    async def _refresh_pending(self) -> None:
        pane = self.query_one(PendingPane)
        changes = await self.store.pending_role_changes()
        pane.show(changes, now_ms=self.clock(), name_of=self.store.name_of, styles=self.row_styles)
        self._auto_pending()

    def _render_status(self) -> None:
        operator = None
        if self.operator_id is not None:
            name = self.store.name_of("user", self.operator_id)
            operator = f"{name} ({self.operator_id})" if name else str(self.operator_id)
        self.query_one(StatusBar).show(
            label=self._guild_label(),
            state=self.state,
            open_gaps=self.open_gaps,
            operator=operator,
            styles=self.row_styles,
            roles_paused=self.roles_paused,
        )

    def _guild_label(self) -> str:
        """The guild(s) by name once known (GUILD_CREATE stores them), else the session's label."""
        ids = sorted(self.state.guild_ids) or sorted(self.store.names("guild"))
        named = [self.store.name_of("guild", g) for g in ids[:3]]
        if not ids or not any(named):
            return self.label
        shown = ", ".join(n or str(g) for n, g in zip(named, ids, strict=False))
        if len(ids) > 3:
            shown += f" +{len(ids) - 3}"
        return shown + (" (offline)" if self.store.readonly else "")

    # -- feed events ----------------------------------------------------------------------------

    @on(FeedView.Changed)
    def _feed_changed(self, event: FeedView.Changed) -> None:
        self._show_feed_state(event.feed)

    def _show_feed_state(self, feed: FeedView) -> None:
        """The feed's border: the query, how many records, following or paused, bookmarks."""
        total = feed.snapshot.total
        subtitle = f"≥ {total:,} records" if feed.approximate else f"{total:,} records"
        if not feed.following:
            subtitle += f" · paused · {feed.new_count:,} new" if feed.new_count else " · paused"
        else:
            subtitle += " · following"
        if feed.bookmarks:
            subtitle += f" · ★{len(feed.bookmarks)}"
        if self.kept_since is not None:  # retention removed what is older
            subtitle += " · since " + time.strftime("%Y-%m-%d", time.gmtime(self.kept_since / 1000))
        # A Text, not a str (a str title is markup): the query may hold pasted hostile text.
        title = Text("Feed" + (f" · {safe_text(self.query_text, 200)}" if self.query_text else ""))
        if feed.border_subtitle != subtitle:
            feed.border_subtitle = subtitle
        if getattr(feed, "_title_shown", None) != title.plain:
            feed._title_shown = title.plain  # type: ignore[attr-defined]
            feed.border_title = title

    @on(FeedView.Selected)
    async def _feed_selected(self, event: FeedView.Selected) -> None:
        await self._show_details(event.record)

    @on(FeedView.CursorMoved)
    async def _cursor_moved(self, event: FeedView.CursorMoved) -> None:
        if self._open_drawer() is not None:
            await self._show_details(event.record)

    async def _drawer(self) -> DetailDrawer:
        """The detail drawer, built (under the feed) the first time it is needed."""
        if self._built_drawer is None:
            from console.ui.widgets.drawer import DetailDrawer

            drawer = DetailDrawer(id="drawer", name_of=self.store.name_of, clock=self.clock)
            if self._drawer_height is not None:
                drawer.styles.height = self._drawer_height
            self._built_drawer = drawer
            await self.query_one("#center", Vertical).mount(drawer)
        return self._built_drawer

    def _open_drawer(self) -> DetailDrawer | None:
        """The drawer if it is open (None before it was ever built)."""
        drawer = self._built_drawer
        return drawer if drawer is not None and drawer.has_class("-open") else None

    async def _show_details(self, record: Any) -> None:
        drawer = await self._drawer()
        attempts = await self.store.attempts(record.id) if isinstance(record, RoleChange) else ()
        drawer.add_class("-open")
        drawer.show(record, attempts=attempts)

    def action_close_drawer(self) -> None:
        if self._built_drawer is not None:
            self._built_drawer.remove_class("-open")
        self.query_one(FeedView).focus()

    async def action_toggle_drawer(self) -> None:
        if self._open_drawer() is not None:
            self.action_close_drawer()
        else:
            record = self.query_one(FeedView).current
            if record is not None:
                await self._show_details(record)

    # -- filters --------------------------------------------------------------------------------

    # -- the session: last filter, bookmarks, layout; saved filters -------------------------------

    def _store_key(self) -> str:
        return str(getattr(self.store, "path", "") or "memory")

    def _format(self, flt: Filter) -> str:
        """``flt`` as the search bar's query text (the query language loads on first use)."""
        from console.model.query import format_filter

        return format_filter(flt, self.store.name_of)

    def _restore_filter(self) -> None:
        """The filter of the last session on this store (before the feed reads its first page)."""
        from console.ui import session

        self._saved_view = session.view_of(session_state.load(), self._store_key())
        flt = session.filter_from_json(self._saved_view.get("filter"), self.clock())
        if flt is not None:
            self.filter = flt  # its query text once its names are read (on_load)
            self._restored_filter = True

    def _restore_view(self) -> None:
        """The rest of the last session's view: sidebar, bookmarks, pane sizes."""
        from console.ui import session

        view = self._saved_view
        if self._restored_filter:
            self.query_one(FilterSidebar).show_filter(self.filter, self.query_text)
        self.query_one(FeedView).bookmarks = session.bookmarks_from_json(view.get("bookmarks"))
        layout = session.Layout.from_json(view.get("layout"))
        if layout.sidebar is not None:
            self._user_toggled_sidebar = True
            self.query_one(FilterSidebar).set_class(not layout.sidebar, "-hidden")
        if layout.pending is not None:
            self._user_toggled_pending = True
            self.query_one(PendingPane).set_class(not layout.pending, "-hidden")
        if layout.sidebar_width is not None:
            self.query_one(FilterSidebar).styles.width = layout.sidebar_width
        if layout.drawer_height is not None:
            self._drawer_height = layout.drawer_height  # given to the drawer when it is built

    def _view_changed(self) -> None:
        """Remember the view now (a small file; a crash must not forget what the moderator set)."""
        if self._remember and self.is_running:
            with contextlib.suppress(NoMatches):
                self._save_view()

    def _save_view(self) -> None:
        from console.ui import session

        sidebar, pending = self.query_one(FilterSidebar), self.query_one(PendingPane)
        width = sidebar.styles.width.value if sidebar.styles.width else None
        layout = session.Layout(
            sidebar=not sidebar.has_class("-hidden") if self._user_toggled_sidebar else None,
            pending=not pending.has_class("-hidden") if self._user_toggled_pending else None,
            sidebar_width=int(width) if width else None,
            drawer_height=self._drawer_height,
        )
        view = {
            "filter": session.filter_to_json(self.filter, self.clock()),
            "bookmarks": sorted([k, i] for k, i in self.query_one(FeedView).bookmarks),
            "layout": layout.to_json(),
        }
        session_state.save(session.with_view(session_state.load(), self._store_key(), view))

    def saved_filter_names(self) -> list[str]:
        from console.ui import session

        return sorted(session.saved_filters(session_state.load()))

    def save_filter_as(self, name: str) -> None:
        from console.ui import session

        name = "".join(ch for ch in name if ch not in "[]\\").strip()  # shown in the palette
        if not name:
            return
        data = session_state.load()
        saved = session.saved_filters(data)
        saved[name] = session.filter_to_json(self.filter, self.clock())
        session_state.save({**data, "saved_filters": saved})
        self.notice(f"Filter saved as {name!r}.")

    async def use_saved_filter(self, name: str) -> None:
        from console.ui import session

        flt = session.filter_from_json(session.saved_filters(session_state.load()).get(name), self.clock())
        if flt is None:
            self.notice(f"No usable saved filter {name!r}.", severity="warning")
            return
        await self.apply_filter(flt)

    def forget_saved_filter(self, name: str) -> None:
        from console.ui import session

        data = session_state.load()
        saved = session.saved_filters(data)
        if saved.pop(name, None) is not None:
            session_state.save({**data, "saved_filters": saved})
            self.notice(f"Saved filter {name!r} forgotten.")

    def action_save_filter(self) -> None:
        from console.ui.screens.name_prompt import NamePrompt

        def chosen(name: str | None) -> None:
            if name:
                self.save_filter_as(name)

        self.push_screen(NamePrompt("Save the current filter as", self.query_text), callback=chosen)

    async def apply_filter(self, flt: Filter, query_text: str | None = None) -> None:
        self.filter = flt
        self.query_text = self._format(flt) if query_text is None else query_text
        self.query_one(FilterSidebar).show_filter(flt, self.query_text)
        self._view_changed()
        await self.query_one(FeedView).load(flt)
        self._refresh_activity()

    @on(FilterSidebar.Changed)
    async def _sidebar_changed(self, event: FilterSidebar.Changed) -> None:
        c: SidebarChoice = event.choice
        since = self.clock() - c.range_ms if c.range_ms else None
        flt = self.filter.with_(
            kinds=c.kinds,
            categories=c.categories,
            results=c.results,
            reason_codes=c.reason_codes,
            sources=c.sources,
            text=c.text,
            since_ms=since,
            newest_first=c.newest_first,
        )
        self.query_one(FeedView).set_context(self._row_context())
        if flt != self.filter:
            self.filter = flt
            self.query_text = self._format(flt)
            self._view_changed()
            await self.query_one(FeedView).load(flt)
            self._refresh_activity()

    def _pick(self, attribute: str) -> int | None:
        record = self.query_one(FeedView).current
        if record is None:
            return None
        if attribute == "actor":
            return getattr(record, "actor_id", None) or getattr(record, "requested_by", None)
        value = getattr(record, "target_id", None) or getattr(record, "member_id", None)
        return value or getattr(record, "resource_id", None)

    async def action_filter_actor(self) -> None:
        actor = self._pick("actor")
        if actor is None:
            self.bell()
            return
        await self.apply_filter(self.filter.with_(actor_ids=frozenset({actor})))

    async def action_filter_target(self) -> None:
        target = self._pick("target")
        if target is None:
            self.bell()
            return
        await self.apply_filter(self.filter.with_(target_ids=frozenset({target})))

    async def action_clear_filter(self) -> None:
        self.find_filter = None
        await self.apply_filter(Filter(newest_first=self.filter.newest_first), "")

    async def action_search(self) -> None:
        await (await self._search_bar()).open(self.query_text)

    async def _search_bar(self) -> SearchBar:
        """The search bar, built (above the footer) the first time ``/`` is pressed."""
        if self._built_search is None:
            from console.ui.widgets.search import QuerySuggester, SearchBar

            self._built_search = SearchBar(QuerySuggester(self._known_users, self._known_roles), id="search")
            await self.mount(self._built_search, before="#footer-slot")
        return self._built_search

    async def on_search_bar_submitted(self, event: SearchBar.Submitted) -> None:
        bar = await self._search_bar()
        from console.model.query import QueryError, parse

        try:
            parsed = parse(
                event.query,
                now_ms=self.clock(),
                resolve=self._resolve,
                base=Filter(newest_first=self.filter.newest_first),
            )
        except QueryError as e:
            bar.show_error(str(e), e.column)
            return
        flt = parsed.filter
        if parsed.actor_role_ids:
            members = await self._members_with_roles(parsed.actor_role_ids)
            if not members:
                bar.show_error("role: nobody holds that role in the stored guild state", event.query.find("role:"))
                return
            flt = flt.with_(actor_ids=flt.actor_ids | members if flt.actor_ids else members)
        bar.show_error(None)
        bar.hide()
        self.query_one(FeedView).focus()
        if event.find:
            self.find_filter = flt
            await self.action_find(1)
        else:
            self.find_filter = None
            await self.apply_filter(flt, event.query.strip())

    def on_search_bar_closed(self) -> None:
        self.query_one(FeedView).focus()

    async def action_find(self, direction: int) -> None:
        """n / N: the next / previous record matching the find query, within the filter."""
        if self.find_filter is None:
            self.bell()
            return
        feed = self.query_one(FeedView)
        here = feed.current
        combined = narrow(self.filter, self.find_filter)  # the find query ANDs the filter
        down = direction > 0  # down the list
        older = down == self.filter.newest_first
        probe = combined.with_(newest_first=older)
        anchor = None
        if here is not None:
            anchor = here.id - 1 if older else here.id + 1
        refs = await tl.page_refs(self.store.reader, probe, anchor=anchor, limit=1)
        if not refs or not await feed.jump_to_id(refs[0].id):
            self.notify("No more matches.", markup=False)

    def _resolve(self, kind: str, text: str) -> list[int]:
        low = text.lower()
        return [i for i, n in self.store.names(kind).items() if n.lower() == low]

    def _known_users(self) -> list[str]:
        return sorted(set(self.store.names("user").values()))[:5000]

    def _known_roles(self) -> list[str]:
        return sorted(set(self.store.names("role").values()))

    async def _members_with_roles(self, role_ids: frozenset[int]) -> frozenset[int]:
        found: set[int] = set()
        for gid in self.filter.guild_ids or await self._guild_ids():
            snapshot = await self.store.guild_state(gid) or {}
            for m in snapshot.get("members") or []:
                roles = {int(r) for r in m.get("roles") or [] if str(r).isdigit()}
                user = m.get("user") or {}
                if roles & role_ids and str(user.get("id", "")).isdigit():
                    found.add(int(user["id"]))
        return frozenset(found)

    async def _guild_ids(self) -> list[int]:
        return await self.store.guild_ids_with_state()

    # -- panes ----------------------------------------------------------------------------------

    def action_toggle_sidebar(self) -> None:
        self._user_toggled_sidebar = True
        self.query_one(FilterSidebar).toggle_class("-hidden")
        self._view_changed()
        self.call_after_refresh(self._apply_context)

    # -- acting: explain, grant/revoke, retry/cancel ---------------------------------------------

    def _guild_for(self, record: Any) -> int | None:
        gid = getattr(record, "guild_id", None)
        if gid:
            return int(gid)
        ids = self.state.guild_ids
        return next(iter(ids)) if len(ids) == 1 else None

    def _member_under_cursor(self) -> int | None:
        """The row's target when it is a member we know, else whoever acted."""
        target = self._pick("target")
        if target is not None and self.store.name_of("user", target) is not None:
            return target
        return self._pick("actor")

    def action_explain(self) -> None:
        from console.ui.screens.explain import ExplainScreen

        record = self.query_one(FeedView).current
        if self.services is None and self._services_factory is not None:
            factory, self._services_factory = self._services_factory, None
            self.services = factory()
        gatekeeper = self.services.gatekeeper if self.services is not None else None
        self.push_screen(
            ExplainScreen(
                guild_id=self._guild_for(record),
                member_id=self._member_under_cursor(),
                name_of=self.store.name_of,
                gatekeeper=gatekeeper,
            )
        )

    def action_report(self, days: int = 7) -> None:
        from console.ui.screens.report import ReportScreen

        self.push_screen(ReportScreen(self.store, days=days, now_ms=self.clock))

    def action_role_dialog(self) -> None:
        from console.ui.screens.role_dialog import RoleDialog

        if self.services is None or self.services.roles is None:
            self.notice(
                "Role changes need a connection to Discord: `audit-console run` (or the demo).", severity="warning"
            )
            return
        if self.operator_id is None:
            self.notice("Set operator_id in the config: the console acts as that Discord user.", severity="warning")
            return
        record = self.query_one(FeedView).current
        guild_id = self._guild_for(record)
        if guild_id is None:
            self.notice("Which guild? Move to a row of the guild first.", severity="warning")
            return
        operator = self.store.name_of("user", self.operator_id) or str(self.operator_id)

        async def submitted(form: Any) -> None:
            if form is not None:
                await self._request_role_change(guild_id, form)

        self.push_screen(
            RoleDialog(
                member_id=self._member_under_cursor(),
                roles=lambda: self.store.names("role"),
                users=lambda: self.store.names("user"),
                operator=safe_text(operator, 40),
            ),
            callback=submitted,
        )

    async def _request_role_change(self, guild_id: int, form: Any) -> None:
        from console.policy.gatekeeper import GateError

        try:
            done = await self.services.roles.request(
                guild_id, self.operator_id, form.member_id, form.role_id, form.op, reason=form.reason, source="TUI"
            )
        except (GateError, ValueError) as e:
            self.notice(f"Cannot decide: {e}", severity="error")
            return
        verdict = done.checked.verdict
        if done.change is None:
            self.notice(f"Denied: {verdict.denial()}", severity="error")
        else:
            self.notice(
                f"{form.op.capitalize()} allowed ({verdict.reason_code}): request {done.change.id} is pending "
                "until the console sees it applied."
            )
        await self._refresh_pending()

    def _change_under_cursor(self) -> Any:
        pane = self.query_one(PendingPane)
        if pane.has_focus and pane.selected is not None:
            return pane.selected
        record = self.query_one(FeedView).current
        if isinstance(record, RoleChange) and not record.final:
            return record
        return pane.selected

    async def action_retry_change(self) -> None:
        change = self._change_under_cursor()
        reconciler = self.services.reconciler if self.services is not None else None
        if change is None or reconciler is None or not await reconciler.retry_now(change.id):
            self.bell()
            return
        self.notice(f"Retrying request {change.id} now.")

    async def action_cancel_change(self) -> None:
        change = self._change_under_cursor()
        reconciler = self.services.reconciler if self.services is not None else None
        if change is None or reconciler is None or not await reconciler.cancel(change.id, self.operator_id):
            self.bell()
            return
        self.notice(f"Request {change.id} cancelled.")
        await self._refresh_pending()

    def action_toggle_pending(self) -> None:
        self._user_toggled_pending = True
        self.query_one(PendingPane).toggle_class("-hidden")
        self._view_changed()
        self.call_after_refresh(self._apply_context)

    def action_sidebar_width(self, delta: int) -> None:
        sidebar = self.query_one(FilterSidebar)
        width = sidebar.styles.width.value if sidebar.styles.width else 26
        sidebar.styles.width = max(16, min(60, int(width) + delta))
        self._view_changed()

    async def action_drawer_height(self, delta: int) -> None:
        drawer = await self._drawer()
        current = drawer.outer_size.height or self._drawer_height or 14  # hidden: the height it will have
        self._drawer_height = max(5, min(self.size.height - 8, current + delta))
        drawer.styles.height = self._drawer_height
        self._view_changed()

    def action_help(self) -> None:
        from console.ui.screens.help import HelpScreen

        self.push_screen(HelpScreen())

    async def action_alerts(self) -> None:
        """The alerts list; Enter there jumps to the newest record behind the chosen alert."""
        from console.alerts import records
        from console.ui.screens.alerts import AlertsScreen

        async def chosen(record_id: int | None) -> None:
            if record_id is not None:
                await self.jump_to(record_id)

        self.push_screen(AlertsScreen(await records.newest(self.store), self.store.name_of), chosen)

    async def jump_to(self, record_id: int) -> None:
        if not await self.query_one(FeedView).jump_to_id(record_id):
            self.notify(f"Record {record_id} is not in the current filter.", markup=False, severity="warning")

    def action_export(self, fmt: str = "csv") -> None:
        """``e`` (and the palette): the export dialog — format, file, what; it runs off the UI loop.
        Connected and acting as an operator, the policy's ``console.export`` decides first."""
        self.run_worker(self._export_checked(fmt), group="export-check", exclusive=True)

    async def _export_checked(self, fmt: str) -> None:
        guild_id = self._guild_for(self.query_one(FeedView).current)
        live = self.services is not None and self.services.roles is not None and not self.store.readonly
        if live and self.operator_id is not None and guild_id is not None:
            from console.policy.engine import Request
            from console.policy.gatekeeper import GateError

            try:
                checked = await self.services.gatekeeper.check(
                    guild_id, Request(self.operator_id, "console.export", "guild", guild_id), "TUI"
                )
            except GateError as e:
                self.notice(f"Cannot decide: {e}", severity="error")
                return
            if not checked.allowed:
                self.notice(f"Export denied: {checked.verdict.denial()}", severity="error")
                return
        self._open_export_dialog(fmt)

    def _open_export_dialog(self, fmt: str) -> None:
        from console import paths
        from console.ui.screens.export_dialog import ExportDialog, ExportJob

        feed = self.query_one(FeedView)
        current = feed.current
        folder = paths.data_dir()
        folder.mkdir(parents=True, exist_ok=True)
        self.push_screen(
            ExportDialog(
                ExportJob(
                    db_path=self.store.path,
                    filter=self.filter,
                    folder=folder,
                    now_ms=self.clock(),
                    bookmarks=tuple(sorted(i for _, i in feed.bookmarks)),
                    current=None if current is None else current.id,
                    fmt=fmt,
                )
            )
        )


@contextlib.contextmanager
def _closing_quietly() -> Iterator[None]:
    """Timers may fire while the app shuts down: a missing widget or a closed store then means
    "nothing to update", not a crash."""
    try:
        yield
    except NoMatches:
        pass
    except (ValueError, sqlite3.ProgrammingError) as e:
        if "closed" not in str(e).lower():
            raise
