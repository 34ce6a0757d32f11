"""The console app: its themes, the store and the services attached to it, connecting, and what
an unexpected error leaves on the terminal. It watches the store and never talks to Discord
itself: a session object (demo, live) connects in a worker after the first frame; actions go
through the store. The console's behaviour (the feed, its panes and keys) is the main screen's
(``console.ui.screens.main``); Textual's private members are reached only through
``console.ui.textual_internals``."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from textual.app import App, ComposeResult
from textual.css.query import NoMatches
from textual.screen import Screen

from console.ingest.state import CollectorState
from console.model.sanitize import safe_text
from console.store import AuditStore
from console.ui import session_state, theming
from console.ui.screens.main import MainScreen
from console.ui.textual_internals import QuietCrashApp, refresh_ansi_palette
from console.ui.widgets.feed import FeedView

Connect = Callable[["ConsoleApp"], Awaitable[None]]


def _console_commands() -> Any:
    """The palette's provider, imported when the palette first opens (not at startup)."""
    from console.ui.commands import ConsoleCommands

    return ConsoleCommands


def _now_ms() -> int:
    return int(time.time() * 1000)


class ConsoleApp(QuietCrashApp):
    TITLE = "Audit Console"
    CSS_PATH = "app.tcss"
    # Focus lands on the feed when the screen first shows; focusing it after mount instead
    # restyles the whole screen twice over (auto focus picks the sidebar first).
    AUTO_FOCUS = "#feed"
    COMMANDS: ClassVar = App.COMMANDS | {_console_commands}
    #: Ring the terminal bell on a new alert (config ``[alerts] bell``; set by the launcher).
    alert_bell: bool = False

    def __init__(
        self,
        store: AuditStore | None = None,
        *,
        open_store: Callable[[], Awaitable[AuditStore]] | None = None,
        label: str,
        connect: Connect | None = None,
        clock: Callable[[], int] = _now_ms,
        operator_id: int | None = None,
        services: Any = None,
        services_factory: Callable[[], Any] | None = None,
        remember: bool = True,
        theme_dirs: list[Any] | None = None,
        zone: dt.tzinfo | None = None,
    ) -> None:
        """``zone``: the ``timezone`` setting's zone for every time shown (None: the system's)."""
        super().__init__()
        if store is None and open_store is None:
            raise ValueError("ConsoleApp needs a store or a way to open one")
        self.store: AuditStore = store  # type: ignore[assignment]  # set in on_load when opened here
        self._open_store = open_store
        self.label = label
        self.clock = clock
        self.operator_id = operator_id
        #: Why this console may not act (a team store's unmapped login), shown in the header.
        self.browse_only: str | None = None
        #: console.services.Services: the gatekeeper always; role changes once connected.
        self.services = services
        #: Builds the offline gatekeeper when explain first needs it (it costs startup time).
        self._services_factory = services_factory
        self._connect = connect
        self._remember = remember
        self._theme_dirs = theme_dirs
        self.zone = zone
        #: ``z``: times shown in UTC instead of :attr:`zone`.
        self.show_utc = False
        self.state = CollectorState()
        self.row_styles: dict[str, str] = dict(theming.VARIABLE_DEFAULTS)
        self._store_checked = asyncio.Event()
        #: SQLite's quick_check finding, once it ran (None: healthy).
        self.store_problem: str | None = None
        #: The reconciler paused role changes (the store cannot be written).
        self.roles_paused = False
        self.theme_problems: list[str] = []
        #: Called once, shortly after the first frame has been drawn.
        self.after_first_frame: list[Callable[[], Any]] = []
        #: The console's screen: the feed, its panes and keys, and what they do.
        self.main_screen = MainScreen(self, remember=remember, id="_default")
        self._register_themes()

    def shown_zone(self) -> dt.tzinfo | None:
        """The zone times are shown in now (None: the system's)."""
        return dt.UTC if self.show_utc else self.zone

    def crash_line(self, error: BaseException | None) -> str:
        """An unhandled exception: the traceback goes to the log file (redacted); the terminal
        gets one line (QuietCrashApp)."""
        import logging

        from console import paths
        from console.secret import REDACTOR

        logging.getLogger("console.ui").error(
            "unhandled exception in the console",
            exc_info=(type(error), error, error.__traceback__) if error is not None else True,
        )
        what = f"{type(error).__name__}: {error}" if error is not None else "unknown error"
        return REDACTOR.redact(f"audit-console: internal error: {safe_text(what, 200)} (details in {paths.log_file()})")

    # -- starting and stopping -------------------------------------------------------------------

    async def on_load(self) -> None:
        # Tests open the store on the app's own loop (aiosqlite futures belong to one loop).
        if self.store is None and self._open_store is not None:
            self.store = await self._open_store()
        await self.main_screen.prepare()

    def get_default_screen(self) -> Screen[Any]:
        return self.main_screen

    def compose(self) -> ComposeResult:
        # The main screen's widgets, composed here, in Textual's startup batch (MainScreen).
        yield from self.main_screen.widgets()

    async def on_mount(self) -> None:
        await self.main_screen.start()
        for problem in self.theme_problems:
            self.notify(safe_text(problem, 200), title="Theme not loaded", severity="warning", markup=False)
        if self._connect is not None:
            # After the first frame: importing hikari alone takes about a second.
            self.call_after_refresh(self._start_connect)

    def on_resize(self, event: Any) -> None:
        self.main_screen.layout_for_width(event.size.width)
        self.call_after_refresh(self.main_screen.apply_context)

    async def on_unmount(self) -> None:
        self.main_screen.stop()
        if self._open_store is not None and self.store is not None:
            await self.store.close()

    # -- themes ----------------------------------------------------------------------------------

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(theming.VARIABLE_DEFAULTS)

    #: False while App.__init__ runs: the console's themes are not registered yet.
    _themes_registered = False

    def get_css_variables(self) -> dict[str, str]:
        # App.__init__ builds its stylesheet with the variables of Textual's default theme, which
        # the console replaces at once (_start_with_theme): generating that colour system too
        # would be startup time for nothing.
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
        re-parse Textual schedules for a change of theme (parsing the app's CSS twice before the
        first frame). Nothing is parsed or styled yet; the variables are all it needs."""
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
        refresh_ansi_palette(self)  # ANSI colours as this theme's terminal palette
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
        if self.screen_stack and self.main_screen.query(FeedView):
            self.main_screen.apply_context()
            self.main_screen.live.render_status()

    # -- the store, the connection and the services ------------------------------------------------

    def check_store_after_first_frame(self) -> None:
        self.run_worker(self._check_store(), name="quick-check", exit_on_error=False)

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

    def collector_state(self, state: CollectorState) -> None:
        """Called by the session whenever the collector's state changes (at every committed
        batch while ingesting): the main screen's header shows it."""
        self.state = state
        if self.is_running and self.screen_stack:
            self.main_screen.live.state_changed()

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

    def ensure_services(self) -> Any:
        """The services, the offline gatekeeper built on first use when the console is not connected."""
        if self.services is None and self._services_factory is not None:
            factory, self._services_factory = self._services_factory, None
            self.services = factory()
        return self.services

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
            self.main_screen.live.render_status()

    def notice(self, message: str, *, severity: str = "information") -> None:
        self.notify(safe_text(message, 300), severity=severity, markup=False)  # type: ignore[arg-type]
