"""Running the console app: open the store first (a bad database is one line, before any screen),
then run the app on the same loop, then close everything in order.

What the app connects to (the collecting runtime for ``run``, the simulator and the runtime for
``demo``) is made by the command (console/commands/screens.py) and handed in as a
:class:`Session`; the UI imports none of it."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from console import gc_policy, paths, switch_interval
from console.errors import ConfigError
from console.model.location import StoreLocation
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


async def run_app(
    location: StoreLocation,
    *,
    readonly: bool,
    label: str,
    session_factory: Callable[[AuditStore], Session] | None = None,
    services_factory: Callable[[AuditStore], Any] | None = None,
    operator_id: int | None = None,
    alert_bell: bool = False,
    password_file: Path | None = None,
    zone: dt.tzinfo | None = None,
) -> int:
    """The console on the store at ``location`` until it is quit; its exit code. ``session_factory`` makes
    what connects (nothing when browsing); ``services_factory`` the offline gatekeeper that
    answers explain while browsing."""
    from console import logs

    logs.setup(paths.log_file())  # the TUI owns the terminal: logs go to the file only
    # quick_check reads the whole file (seconds on a big store): the app runs it after the first
    # frame and shows what it finds; a file that is not a usable database still fails here.
    # The names: the first screen's now (ConsoleApp.on_load), all of them after its first frame.
    # On a team store the console acts as the Discord user its login is mapped to, never as the
    # config's operator_id; an unmapped login browses and says so.
    identity = await store_identity(location, password_file=password_file)
    browse_only = None
    if identity is not None:
        browse_only = identity.browse_only()
        operator_id = identity.discord_id if browse_only is None else None
    store = await open_store(location, readonly=readonly, quick_check=False, names=False, password_file=password_file)
    if not _has_terminal():
        # Under a service manager or with its output redirected, the screen would be escape
        # codes written into a log for as long as it runs.
        await store.close()
        raise ConfigError(
            "the console needs a terminal (its keyboard input or its screen is not one); "
            "to collect on a server without one, use `audit-console collect`"
        )
    session = session_factory(store) if session_factory else None
    app = ConsoleApp(
        store,
        label=label,
        connect=settling(session.connect) if session else None,
        operator_id=operator_id,
        services_factory=(lambda: services_factory(store)) if services_factory else None,
        zone=zone,
    )
    app.alert_bell = alert_bell
    app.browse_only = browse_only
    app.after_first_frame.append(gc_policy.resume)  # the CLI pauses it while the console starts
    app.after_first_frame.append(switch_interval.restore)  # the CLI shortens it meanwhile
    if session is None:
        # Browsing: startup is over once the rest of the screen (sidebar, counts) has come.
        app.after_first_frame.append(lambda: app.set_timer(1.0, gc_policy.settle, name="gc-settle"))
    try:
        await app.run_async()
    finally:
        if session is not None:
            await session.close()
        await store.close()
    return app.return_code or 0


def _has_terminal() -> bool:
    """Textual reads keys from stdin and draws on stderr."""
    try:
        return sys.stdin.isatty() and sys.__stderr__ is not None and sys.__stderr__.isatty()
    except (AttributeError, ValueError):  # closed or replaced streams
        return False
