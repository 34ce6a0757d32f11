"""``audit-console serve``: the console in a browser tab (console/web). Refuses a bind beyond
loopback without TLS or ``--behind-proxy``; prints the one-time login link; each tab runs
``audit-console open`` on the store (``demo`` with a store of its own under ``--demo``)."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import ipaddress
import signal
import ssl
import sys
import tempfile
from collections.abc import Callable, Sequence
from itertools import count
from pathlib import Path
from typing import TYPE_CHECKING

from console.config import Settings
from console.errors import EXIT_OK, ConfigError
from console.model.location import PgLocation
from console.web.settings import WebSettings

if TYPE_CHECKING:
    from console.web.server import ConsoleServer


def hash_password() -> int:
    """``--hash-password``: the config line for a password read from stdin (never from a flag)."""
    from console.web.auth import hash_password as make

    password = getpass.getpass("Web password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\r\n")
    if len(password) < 8:
        raise ConfigError("the web password must be at least 8 characters")
    sys.stdout.write(f'[web]\npassword_hash = "{make(password)}"\n')
    return EXIT_OK


def check_bind(host: str, web: WebSettings, behind_proxy: bool) -> None:
    """Beyond loopback the login cookie and the password would cross the network in clear text."""
    if _loopback(host) or behind_proxy or web.tls_cert is not None:
        return
    raise ConfigError(
        f"refusing to serve on {host} without TLS: set [web] tls_cert and tls_key in the config, "
        "or put a TLS proxy in front and pass --behind-proxy (or keep the default 127.0.0.1)"
    )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def tls_context(web: WebSettings) -> ssl.SSLContext | None:
    if web.tls_cert is None or web.tls_key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(web.tls_cert, web.tls_key)
    except (OSError, ssl.SSLError) as e:
        raise ConfigError(f"[web] tls_cert/tls_key: cannot load {web.tls_cert} and {web.tls_key}: {e}") from None
    return context


def tab_command(settings: Settings, *, demo: bool, config: Path | None, folder: Path) -> Callable[[], Sequence[str]]:
    """Each tab's console: ``open`` on the store, or a demo on a fresh store of the tab's own."""
    base = [sys.executable, "-m", "console"]
    if demo:
        numbers = count(1)
        return lambda: [*base, "demo", "--db", str(folder / f"tab-{next(numbers)}.db")]
    db = settings.db.url if isinstance(settings.db, PgLocation) else str(settings.db.resolve())
    argv = [*base, "open", "--db", db, *(["--config", str(config.resolve())] if config else [])]
    return lambda: argv


def who_acts(settings: Settings, demo: bool) -> str:
    if demo:
        return "each tab is a demo: a simulated guild of its own, acting as its demo moderator"
    if isinstance(settings.db, PgLocation):
        return "on a team store each tab acts as the moderator its PostgreSQL login is mapped to (team add-moderator)"
    if settings.operator_id is None:
        return "no operator_id in the config: the tabs browse and act as nobody"
    return f"each tab acts as the configured operator {settings.operator_id} (operator_id in the config)"


def serve(settings: Settings, *, host: str, port: int, demo: bool, behind_proxy: bool, config: Path | None) -> int:
    from console.web.server import ConsoleServer

    if not 0 <= port <= 65535:
        raise ConfigError("--port must be between 0 and 65535")
    check_bind(host, settings.web, behind_proxy)
    context = tls_context(settings.web)
    if not demo and isinstance(settings.db, Path) and not settings.db.exists():
        raise ConfigError(f"no store at {settings.db}: collect first, or try `audit-console serve --demo`")
    with tempfile.TemporaryDirectory(prefix="audit-console-serve-") as folder:
        command = tab_command(settings, demo=demo, config=config, folder=Path(folder))
        server = ConsoleServer(command, settings.web, behind_proxy=behind_proxy, secure=context is not None)
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_run(server, host, port, context, who_acts(settings, demo)))
    return EXIT_OK


async def _run(server: ConsoleServer, host: str, port: int, context: ssl.SSLContext | None, acting: str) -> None:
    from aiohttp import web

    # No access log: a login link's token is in its request line.
    runner = web.AppRunner(await server.application(), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=context)
    try:
        await site.start()
    except OSError as e:
        await runner.cleanup()
        raise ConfigError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    bound = runner.addresses[0][1]
    scheme = "https" if context is not None else "http"
    shown = f"[{host}]" if ":" in host else host
    out = sys.stdout
    out.write(f"Serving the console on {scheme}://{shown}:{bound}/ — {acting}.\n")
    out.write(f"Log in once with: {scheme}://{shown}:{bound}/?token={server.link.token}\n")
    if server.web.password_hash is not None:
        out.write("(or with the password, on the login page)\n")
    out.write("Ctrl+C stops it.\n")
    out.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
