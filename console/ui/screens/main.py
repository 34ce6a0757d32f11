"""The console's screen: the feed and its panes, the keys that work on them, and what keeps them
current. What a key sets going lives in small modules beside it, loaded when first used:
filters and search (``console.ui.filtering``), acting on a record (``console.ui.acting``), the
view remembered between runs and saved filters (``console.ui.view_memory``); keeping the header
and the panes current is ``console.ui.live_updates``.

The app composes this screen's widgets and starts it (``widgets``, ``start``) from its own
compose and mount, inside Textual's startup batch: the first frame is drawn once, with the
feed's rows, and the work deferred until after it (``ConsoleApp.call_after_refresh``) runs after
that frame, not before it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.widget import Widget

from console.model import times
from console.model.filters import Filter
from console.model.sanitize import safe_text
from console.store import StoreError
from console.ui.live_updates import LiveUpdates
from console.ui.rows import RowContext, names_shown
from console.ui.textual_internals import FirstResumeScreen
from console.ui.widgets.activity import ActivityBar
from console.ui.widgets.feed import FeedView, FirstPage, read_first_page
from console.ui.widgets.pending import PendingPane
from console.ui.widgets.sidebar import FilterSidebar
from console.ui.widgets.status import StatusBar

if TYPE_CHECKING:
    from console.store import AuditStore
    from console.ui.acting import Acting
    from console.ui.alerts import AlertWatch
    from console.ui.app import ConsoleApp
    from console.ui.filtering import Filtering
    from console.ui.view_memory import ViewMemory
    from console.ui.widgets.drawer import DetailDrawer
    from console.ui.widgets.search import SearchBar


class MainScreen(FirstResumeScreen):
    """The console's screen (the feed and its panes)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "app.quit", "Quit", id="quit"),
        Binding("slash", "search", "Search", id="search"),
        Binding("a", "filter_actor", "Actor", id="filter-actor"),
        Binding("t", "filter_target", "Target", id="filter-target"),
        Binding("c", "clear_filter", "Clear", id="clear-filter"),
        Binding("greater_than_sign", "find(1)", "Next match", show=False),
        Binding("less_than_sign", "find(-1)", "Prev match", show=False),
        Binding("n", "note", "Note", show=False, id="note"),
        Binding("s", "toggle_sidebar", "Filters", id="toggle-sidebar"),
        Binding("p", "toggle_pending", "Pending", id="toggle-pending"),
        # Not in the footer (it is full at 120 columns): the help screen and the palette list them.
        Binding("g", "role_dialog", "Grant/revoke", show=False, id="role-dialog"),
        Binding("w", "explain", "Why (explain)", show=False, id="explain"),
        Binding("u", "member_of_row", "Member view", show=False, id="member-view"),
        Binding("U", "member_by_name", "Member view…", show=False, id="member-view-by-name"),
        Binding("r", "retry_change", "Retry", show=False),
        Binding("x", "cancel_change", "Cancel change", show=False),
        Binding("escape", "close_drawer", "Close", show=False),
        Binding("z", "toggle_utc", "UTC / local times", show=False, id="toggle-utc"),
        Binding("plus", "sidebar_width(2)", "Wider", show=False),
        Binding("minus", "sidebar_width(-2)", "Narrower", show=False),
        Binding("left_curly_bracket", "drawer_height(-3)", "Shorter details", show=False),
        Binding("right_curly_bracket", "drawer_height(3)", "Taller details", show=False),
        Binding("question_mark,f1", "help", "Help", id="help"),
        Binding("exclamation_mark", "alerts", "Alerts", show=False, id="alerts"),
        Binding("R", "report(7)", "Report", show=False, id="report"),
        Binding("e", "export", "Export", show=False, id="export"),
    ]

    def __init__(self, console: ConsoleApp, *, remember: bool, id: str | None = None) -> None:
        super().__init__(id=id)
        self.console = console
        self.remember = remember
        self.filter = Filter()
        self.query_text = ""
        #: Retention's newest cut-off (ms): the store keeps everything after it (None: no prune yet).
        self.kept_since: int | None = None
        self.alert_watch: AlertWatch | None = None
        self.live = LiveUpdates(self)
        self.user_toggled_pending = False
        self.user_toggled_sidebar = False
        self._view_shown = False
        #: The feed's first page, read before the screen is composed (``prepare``).
        self._first_page: FirstPage | None = None
        # Built on first use (``drawer``). The drawer's height as set
        # with { and } (or restored), given to the drawer when it is built.
        self.built_drawer: DetailDrawer | None = None
        self.drawer_height: int | None = None
        self._unsubscribe: Callable[[], Any] | None = None
        self._memory: ViewMemory | None = None
        self._filtering: Filtering | None = None
        self._acting: Acting | None = None

    @property
    def store(self) -> AuditStore:
        return self.console.store

    def clock(self) -> int:
        return self.console.clock()

    # -- helpers loaded on first use -------------------------------------------------------------

    @property
    def memory(self) -> ViewMemory:
        if self._memory is None:
            from console.ui.view_memory import ViewMemory

            self._memory = ViewMemory(self)
        return self._memory

    @property
    def filtering(self) -> Filtering:
        if self._filtering is None:
            from console.ui.filtering import Filtering

            self._filtering = Filtering(self)
        return self._filtering

    @property
    def acting(self) -> Acting:
        if self._acting is None:
            from console.ui.acting import Acting

            self._acting = Acting(self)
        return self._acting

    # -- starting --------------------------------------------------------------------------------

    async def prepare(self) -> None:
        """Before anything is composed (the app's on_load): the last session's filter, and the
        feed's first page, so that the first layout has its rows (not a frame without them and
        another layout and paint of the whole screen after), with the names that page shows (all
        of them are read after its first frame)."""
        if self.remember:
            self.memory.restore_filter()
        # Following the store's commits (this process's and everyone else's) from before the first
        # page is read: a commit between the two is never missed.
        self._unsubscribe = await self.store.watch(self.live.committed, self.live.link_changed)
        with contextlib.suppress(StoreError):  # the feed reads again and says why
            self._first_page = await read_first_page(self.store, self.filter)
            wanted: list[tuple[str, int | None]] = [
                ("user", self.console.operator_id),
                ("member", self.console.operator_id),
            ]
            wanted += [("user", i) for i in self.filter.actor_ids | self.filter.target_ids]  # the query text's
            for record in self._first_page[1]:
                wanted += names_shown(record)
            await self.store.load_names_for(wanted)
        if self.remember and self.memory.restored_filter:
            self.query_text = self.format(self.filter)

    def widgets(self) -> ComposeResult:
        """The screen's widgets (the app's compose yields them, see the module's docstring)."""
        # The width-dependent classes are given before anything is styled: set after mounting
        # (layout_for_width), they restyle every widget once more.
        width = self.console.size.width
        self.set_class(width < 110, "-narrow")
        yield StatusBar(id="status")
        with Horizontal(id="main"):
            yield FilterSidebar(id="sidebar", classes="-hidden" if width < 100 else None)
            with Vertical(id="center"):
                yield ActivityBar(id="activity-bar")
                feed = FeedView(self.store, self.row_context(), id="feed")
                feed.on_bookmarks = self.view_changed
                feed.border_title = "Feed"
                yield feed
                # The detail drawer and the search bar are hidden until first used, and built
                # then (drawer, Filtering.search_bar): five widgets fewer to mount and style at start.
            yield PendingPane(id="pending", classes=None if width >= 150 else "-hidden")
        # The footer's line; the footer itself (Textual's, and its CSS) comes after the first
        # frame, which it would show without keys anyway (KeysFooter).
        yield Widget(id="footer-slot")

    async def start(self) -> None:
        """The widgets are mounted (the app's on_mount): the feed's first page, then timers and
        what comes after the first frame."""
        app = self.console
        self.layout_for_width(app.size.width)
        feed = self.query_one(FeedView)
        if self.remember:
            self.memory.restore_view()
        self._view_shown = True
        first_page, self._first_page = self._first_page, None
        await feed.load(self.filter, first_page=first_page)
        self.show_feed_state(feed)  # in the first frame (its Changed message comes after it)
        # Scheduled through the app, which is inside Textual's startup batch: after the first
        # frame (the screen would run them before it is drawn).
        app.call_after_refresh(self.query_one(FilterSidebar).scroll_home, animate=False)
        app.call_after_refresh(self._first_frame_drawn)
        # The header's counts, the sparkline and the pending pane come after the first frame: its
        # callback runs first, and the pending pane's tick starts there (started here, it ran
        # before a frame that took over a second to draw on a loaded machine, and showed the pane).
        app.call_after_refresh(self.live.refresh_side)
        self.live.start()
        # Alerts are watched from after the first frame (one more query is not startup's to pay).
        app.call_after_refresh(self._watch_alerts)

    def _first_frame_drawn(self) -> None:
        """The feed has drawn its records: the rest of the screen now."""
        app = self.console
        self.set_interval(1.0, self.live.tick, name="pending-tick")
        self.query_one(FilterSidebar).show_choices()
        from console.ui.widgets.keys_footer import KeysFooter

        self.query_one("#footer-slot").mount(KeysFooter())
        app.check_store_after_first_frame()
        if not self.store.names_complete:
            app.run_worker(self.store.reload_names(), name="names", exit_on_error=False)
        # A moment later: the frame is written by the driver's thread, which needs the GIL.
        hooks, app.after_first_frame = app.after_first_frame, []

        def run_hooks() -> None:
            for hook in hooks:
                hook()

        if hooks:
            app.set_timer(0.05, run_hooks, name="after-first-frame")

    async def _watch_alerts(self) -> None:
        from console.ui.alerts import AlertWatch

        self.alert_watch = AlertWatch(self.console)
        await self.alert_watch.start()

    def stop(self) -> None:
        """The app is unmounting: remember the view (only one that was shown: an app that failed
        before its screen was composed would otherwise save the defaults over the moderator's
        last view)."""
        if self.remember and self._view_shown:
            with contextlib.suppress(NoMatches):
                self.memory.save_view()
        if self._unsubscribe:
            self._unsubscribe()

    # -- layout ----------------------------------------------------------------------------------

    def layout_for_width(self, width: int) -> None:
        self.set_class(width < 110, "-narrow")
        if not self.user_toggled_sidebar:
            # At 80 columns the feed needs the room; `s` brings the filters back.
            self.query_one(FilterSidebar).set_class(width < 100, "-hidden")
        self.auto_pending()

    def auto_pending(self) -> None:
        """The pending pane shows itself on wide screens, and whenever something is pending on
        ordinary ones; a person's own toggle always wins."""
        if self.user_toggled_pending:
            return
        pane = self.query_one(PendingPane)
        width = self.console.size.width
        show = width >= 150 or (bool(pane.changes) and width >= 110)
        pane.set_class(not show, "-hidden")

    def row_context(self) -> RowContext:
        try:
            sidebar: FilterSidebar | None = self.query_one(FilterSidebar)
        except NoMatches:  # composing: the sidebar is not there yet
            sidebar = None
        # Its controls come after the first frame (FilterSidebar.show_choices).
        sidebar_relative = sidebar is not None and sidebar.ready and sidebar.choice().relative
        feeds = self.query(FeedView)
        feed_width = feeds.first().size.width if feeds else self.console.size.width
        return RowContext(
            name_of=self.store.name_of,
            styles=self.console.row_styles,
            tz=self.console.shown_zone(),
            relative=sidebar_relative,
            now_ms=self.clock(),
            compact=0 < feed_width < 100,
        )

    def apply_context(self) -> None:
        self.query_one(FeedView).set_context(self.row_context())
        if self.built_drawer is not None:
            self.built_drawer.tz = self.console.shown_zone()
        drawer = self.open_drawer()
        if drawer is not None:
            drawer.refresh_details()

    # -- the feed and the drawer -----------------------------------------------------------------

    @on(FeedView.Changed)
    def _feed_changed(self, event: FeedView.Changed) -> None:
        self.show_feed_state(event.feed)

    def show_feed_state(self, feed: FeedView) -> None:
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
            subtitle += " · since " + times.day(self.kept_since)
        # A Text, not a str (a str title is markup): the query may hold pasted hostile text.
        title = Text("Feed" + (f" · {safe_text(self.query_text, 200)}" if self.query_text else ""))
        if feed.border_subtitle != subtitle:
            feed.border_subtitle = subtitle
        if getattr(feed, "_title_shown", None) != title.plain:
            feed._title_shown = title.plain  # type: ignore[attr-defined]
            feed.border_title = title

    @on(FeedView.Selected)
    async def _feed_selected(self, event: FeedView.Selected) -> None:
        await self.show_details(event.record)

    @on(FeedView.CursorMoved)
    async def _cursor_moved(self, event: FeedView.CursorMoved) -> None:
        if self.open_drawer() is not None:
            await self.show_details(event.record)

    async def drawer(self) -> DetailDrawer:
        """The detail drawer, built (under the feed) the first time it is needed."""
        if self.built_drawer is None:
            from console.ui.widgets.drawer import DetailDrawer

            drawer = DetailDrawer(id="drawer", name_of=self.store.name_of, clock=self.clock)
            drawer.tz = self.console.shown_zone()
            if self.drawer_height is not None:
                drawer.styles.height = self.drawer_height
            self.built_drawer = drawer
            await self.query_one("#center", Vertical).mount(drawer)
        return self.built_drawer

    def open_drawer(self) -> DetailDrawer | None:
        """The drawer if it is open (None before it was ever built)."""
        drawer = self.built_drawer
        return drawer if drawer is not None and drawer.has_class("-open") else None

    async def show_details(self, record: Any) -> None:
        await (await self.drawer()).open_on(self.store, record)

    def action_close_drawer(self) -> None:
        if self.built_drawer is not None:
            self.built_drawer.remove_class("-open")
        self.query_one(FeedView).focus()

    async def action_toggle_drawer(self) -> None:
        if self.open_drawer() is not None:
            self.action_close_drawer()
        else:
            record = self.query_one(FeedView).current
            if record is not None:
                await self.show_details(record)

    async def jump_to(self, record_id: int) -> None:
        if not await self.query_one(FeedView).jump_to_id(record_id):
            self.notify(f"Record {record_id} is not in the current filter.", markup=False, severity="warning")

    # -- panes -----------------------------------------------------------------------------------

    def action_toggle_sidebar(self) -> None:
        self.user_toggled_sidebar = True
        self.query_one(FilterSidebar).toggle_class("-hidden")
        self.view_changed()
        self.call_after_refresh(self.apply_context)

    def action_toggle_utc(self) -> None:
        """``z``: every time shown in UTC, or back in the console's zone."""
        self.console.show_utc = not self.console.show_utc
        self.apply_context()
        self.live.render_status()

    def action_toggle_pending(self) -> None:
        self.user_toggled_pending = True
        self.query_one(PendingPane).toggle_class("-hidden")
        self.view_changed()
        self.call_after_refresh(self.apply_context)

    def action_sidebar_width(self, delta: int) -> None:
        sidebar = self.query_one(FilterSidebar)
        width = sidebar.styles.width.value if sidebar.styles.width else 26
        sidebar.styles.width = max(16, min(60, int(width) + delta))
        self.view_changed()

    async def action_drawer_height(self, delta: int) -> None:
        drawer = await self.drawer()
        current = drawer.outer_size.height or self.drawer_height or 14  # hidden: the height it will have
        self.drawer_height = max(5, min(self.console.size.height - 8, current + delta))
        drawer.styles.height = self.drawer_height
        self.view_changed()

    # -- screens over this one -------------------------------------------------------------------

    def action_help(self) -> None:
        from console.ui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen())

    async def action_alerts(self) -> None:
        """The alerts list; Enter there jumps to the newest record behind the chosen alert."""
        from console.alerts import records
        from console.ui.screens.alerts import AlertsScreen

        async def chosen(record_id: int | None) -> None:
            if record_id is not None:
                await self.jump_to(record_id)

        alerts = await records.newest(self.store)
        self.app.push_screen(AlertsScreen(alerts, self.store.name_of, tz=self.console.shown_zone()), chosen)

    def action_report(self, days: int = 7) -> None:
        from console.ui.screens.report import ReportScreen

        self.app.push_screen(ReportScreen(self.store, days=days, now_ms=self.clock, tz=self.console.shown_zone()))

    # -- a member's story (console.ui.screens.member) -------------------------------------------

    async def action_member_of_row(self) -> None:
        """``u``: the member view of the row's actor or target (asked when it names both)."""
        from console.ui.screens.member import choose_member

        await choose_member(self.console, self.query_one(FeedView).current)

    def action_member_by_name(self) -> None:
        """``U``: the member view of a name or id."""
        from console.ui.screens.member import ask_member

        ask_member(self.console, None)

    # -- the session: last view, saved filters (console.ui.view_memory) ---------------------------

    def format(self, flt: Filter) -> str:
        """``flt`` as the search bar's query text (the query language loads on first use)."""
        from console.model.query import format_filter

        return format_filter(flt, self.store.name_of)

    def view_changed(self) -> None:
        """Remember the view now (a small file; a crash must not forget what the moderator set)."""
        if self.remember and self.app.is_running:
            with contextlib.suppress(NoMatches):
                self.memory.save_view()

    def saved_filter_names(self) -> list[str]:
        return self.memory.saved_filter_names()

    def save_filter_as(self, name: str) -> None:
        self.memory.save_filter_as(name)

    async def use_saved_filter(self, name: str) -> None:
        await self.memory.use_saved_filter(name)

    def forget_saved_filter(self, name: str) -> None:
        self.memory.forget_saved_filter(name)

    def action_save_filter(self) -> None:
        self.memory.ask_name_and_save()

    # -- filters and search (console.ui.filtering) ------------------------------------------------

    async def apply_filter(self, flt: Filter, query_text: str | None = None) -> None:
        await self.filtering.apply(flt, query_text)

    @on(FilterSidebar.Changed)
    async def _sidebar_changed(self, event: FilterSidebar.Changed) -> None:
        await self.filtering.sidebar_changed(event.choice)

    async def action_filter_actor(self) -> None:
        await self.filtering.only("actor")

    async def action_filter_target(self) -> None:
        await self.filtering.only("target")

    async def action_clear_filter(self) -> None:
        await self.filtering.clear()

    async def action_search(self) -> None:
        await self.filtering.open_search()

    async def on_search_bar_submitted(self, event: SearchBar.Submitted) -> None:
        await self.filtering.submitted(event.query, find=event.find)

    def on_search_bar_closed(self) -> None:
        self.query_one(FeedView).focus()

    async def action_find(self, direction: int) -> None:
        """> / <: the next / previous record matching the find query, within the filter."""
        await self.filtering.find(direction)

    # -- acting on a record (console.ui.acting) --------------------------------------------------

    def action_explain(self) -> None:
        self.acting.explain()

    def action_role_dialog(self) -> None:
        self.acting.role_dialog()

    def action_note(self) -> None:
        """``n``: a note on the record under the cursor (console.ui.noting)."""
        from console.ui.noting import note_on_row

        note_on_row(self, self.console, self.query_one(FeedView).current)

    async def action_retry_change(self) -> None:
        await self.acting.retry_change()

    async def action_cancel_change(self) -> None:
        await self.acting.cancel_change()

    def action_export(self, fmt: str = "csv") -> None:
        """``e`` (and the palette): the export dialog — format, file, what; it runs off the UI loop.
        Connected and acting as an operator, the policy's ``console.export`` decides first."""
        self.run_worker(self.acting.export_checked(fmt), group="export-check", exclusive=True)

    def open_export_dialog(self, fmt: str) -> None:
        self.acting.open_export_dialog(fmt)
