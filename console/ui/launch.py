"""Running the console app: open the store first (a bad database is one line, before any screen),
then run the app on the same loop, then close everything in order.

What the app connects to (the collecting runtime for ``run``, the simulator and the runtime for
``demo``) is made by the command (console/commands/screens.py) and handed in as a
:class:`Session`; the UI imports none of it."""

from __future__ import annotations

import datetime as dt
import secrets
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from console import gc_policy, paths, switch_interval
from console.errors import ConfigError
from console.model.location import StoreLocation
from console.model.snowflake import SnowflakeFactory
from console.store import AuditStore, open_store
from console.store.team_access import store_identity
from console.ui.app import ConsoleApp


class Session(Protocol):
    """Connects once the app has drawn (in a worker), and is closed after the app has exited."""

    async def connect(self, app: ConsoleApp) -> None: ...

    async def close(self) -> None: ...


def settling(connect: Callable[[ConsoleApp], Awaitable[None]]) -> Callable[[ConsoleApp], Awaitable[None]]:
    """``connect``, after which startup is over: hikari and the services are loaded
    (:func:`gc_policy.settle`). Discord out of reach is a notice: the console stays to browse
    what is stored."""

    async def run(app: ConsoleApp) -> None:
        try:
            await connect(app)
        except Exception as e:
            from console.ingest.source import SourceError  # only now: browsing never needs it

            if not isinstance(e, SourceError):
                raise
            app.notice(str(e), severity="error")
        finally:
            gc_policy.settle()

    return run


class Console:
    """The app on its open store, and what connects it (nothing while browsing)."""

    def __init__(self, app: ConsoleApp, store: AuditStore, session: Session | None, *, team: bool = False) -> None:
        self.app = app
        self.store = store
        self.session = session
        self.team = team  # a team store: the login says whom the console acts as

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
        await self.store.close()


async def prepare_console(
    location: StoreLocation,
    *,
    readonly: bool,
    label: str,
    session_factory: Callable[[AuditStore], Session] | None = None,
    services_factory: Callable[[AuditStore], Any] | None = None,
    team_services: Callable[[AuditStore], Any] | None = None,
    operator_id: int | None = None,
    password_file: Path | None = None,
    zone: dt.tzinfo | None = None,
) -> Console:
    """The console on the store at ``location``, its store open, not yet running.
    ``session_factory`` makes what connects (nothing when browsing); ``services_factory`` the
    offline gatekeeper that answers explain while browsing; ``team_services`` what a moderator's
    console on a team store acts with (role changes handed to the team's active collector)."""
    # On a team store the console acts as the Discord user its login is mapped to, never as the
    # config's operator_id; an unmapped login browses and says so.
    identity = await store_identity(location, password_file=password_file)
    browse_only = None
    collector_lock = True
    if identity is not None:
        browse_only = identity.browse_only()
        operator_id = identity.discord_id if browse_only is None else None
        if identity.a_person:
            # Nor takes (or waits for) the collector lock: the team's active collector collects,
            # and carries out the requests a moderator's console writes.
            session_factory = None
            collector_lock = False
            readonly = browse_only is not None
            if not readonly:
                services_factory = team_services
    # quick_check reads the whole file (seconds on a big store): the app runs it after the first
    # frame and shows what it finds; a file that is not a usable database still fails here.
    # The names: the first screen's now (ConsoleApp.on_load), all of them after its first frame.
    store = await open_store(
        location,
        readonly=readonly,
        collector_lock=collector_lock,
        quick_check=False,
        names=False,
        password_file=password_file,
    )
    if identity is not None and identity.a_person:
        # Its decisions and requests: apart from the collector's ids, and from other consoles'.
        store.ids = SnowflakeFactory(worker=30, first=secrets.randbelow(4096))
    session = session_factory(store) if session_factory else None
    app = ConsoleApp(
        store,
        label=label,
        connect=settling(session.connect) if session else None,
        operator_id=operator_id,
        services_factory=(lambda: services_factory(store)) if services_factory else None,
        zone=zone,
    )
    app.browse_only = browse_only
    return Console(app, store, session, team=identity is not None)


async def run_app(location: StoreLocation, *, alert_bell: bool = False, **options: Any) -> int:
    """The console on the store at ``location`` until it is quit; its exit code. ``options``:
    :func:`prepare_console`'s."""
    from console import logs

    logs.setup(paths.log_file())  # the TUI owns the terminal: logs go to the file only
    console = await prepare_console(location, **options)
    web = in_browser()
    if not (web or _has_terminal()):
        # Under a service manager or with its output redirected, the screen would be escape
        # codes written into a log for as long as it runs.
        await console.close()
        raise ConfigError(
            "the console needs a terminal (its keyboard input or its screen is not one); "
            "to collect on a server without one, use `audit-console collect`"
        )
    app = console.app
    app.alert_bell = alert_bell
    if web and not console.team and console.session is None:
        # A web login is not a Discord user: on a single-user store the tab acts as the config's
        # operator, as the terminal does, and says so (a team store's login says who it is; the
        # demo names its own moderator in the header).
        app.after_first_frame.append(lambda: app.notice(acting_in_browser(app.operator_id)))
    app.after_first_frame.append(gc_policy.resume)  # the CLI pauses it while the console starts
    app.after_first_frame.append(switch_interval.restore)  # the CLI shortens it meanwhile
    if console.session is None:
        # Browsing: startup is over once the rest of the screen (sidebar, counts) has come.
        app.after_first_frame.append(lambda: app.set_timer(1.0, gc_policy.settle, name="gc-settle"))
    try:
        await app.run_async()
    finally:
        await console.close()
    return app.return_code or 0


def in_browser() -> bool:
    """Whether Textual will run this app with its web driver (textual-serve, ``audit-console
    serve``): it talks to the server over pipes, so no terminal is expected."""
    from textual import constants

    return constants.DRIVER == WEB_DRIVER


#: What textual-serve sets ``TEXTUAL_DRIVER`` to in each tab's process.
WEB_DRIVER = "textual.drivers.web_driver:WebDriver"


def acting_in_browser(operator_id: int | None) -> str:
    if operator_id is None:
        return "In a browser: no operator_id in the config, so this console browses and acts as nobody."
    return f"In a browser: acting as the configured operator {operator_id} (operator_id in the config)."


def _has_terminal() -> bool:
    """Textual reads keys from stdin and draws on stderr."""
    try:
        return sys.stdin.isatty() and sys.__stderr__ is not None and sys.__stderr__.isatty()
    except (AttributeError, ValueError):  # closed or replaced streams
        return False
