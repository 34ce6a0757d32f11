"""textual-serve's server behind a login: each browser tab's websocket runs one console process
(with a minimal environment), ``/ws`` and ``/download`` answer 403 without a valid session
cookie, and at most ``max_sessions`` tabs run at once (the longest idle one is closed, with a
message in its tab)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from console.web.auth import CookieSigner, FailedLogins, LoginLink, verify_password
from console.web.environment import app_environment
from console.web.pages import HEADERS, TAB_JS, console_page, login_page
from console.web.settings import WebSettings

log = logging.getLogger("console.web")

COOKIE = "audit_console_session"

#: What textual-serve sets for a tab's process: Textual's web driver, the size, colours.
TEXTUAL_SERVE_SETS = (
    "TEXTUAL_DRIVER",
    "TEXTUAL_FPS",
    "TEXTUAL_COLOR_SYSTEM",
    "TERM_PROGRAM",
    "TERM_PROGRAM_VERSION",
    "COLUMNS",
    "ROWS",
)


class TabProcess(AppService):
    """One tab's console: started from an argument list (no shell) with the minimal environment."""

    def __init__(self, argv: Sequence[str], **kwargs: Any) -> None:
        super().__init__(" ".join(argv), **kwargs)
        self.argv = list(argv)

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        served = super()._build_environment(width, height)  # the parent's whole environment, and these
        return app_environment(os.environ) | {name: served[name] for name in TEXTUAL_SERVE_SETS if name in served}

    async def _open_app_process(self, width: int = 80, height: int = 24) -> asyncio.subprocess.Process:
        self._process = process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self._build_environment(width, height),
        )
        assert process.stdin is not None
        self._stdin = process.stdin
        return process

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid


@dataclass
class Tab:
    websocket: web.WebSocketResponse
    process: TabProcess
    last_active: float = field(default_factory=time.monotonic)


class ConsoleServer(Server):
    """``command`` makes each tab's argument list (a demo tab gets a store of its own)."""

    def __init__(
        self,
        command: Callable[[], Sequence[str]],
        settings: WebSettings,
        *,
        behind_proxy: bool = False,
        secure: bool = False,
    ) -> None:
        super().__init__("audit-console", title="Audit Console")
        self.tab_command = command
        self.web = settings
        self.behind_proxy = behind_proxy
        self.secure = secure
        self.link = LoginLink()
        self.signer = CookieSigner(settings.session_hours * 3600)
        self.failures = FailedLogins()
        self.tabs: list[Tab] = []

    # -- the app ---------------------------------------------------------------------------------

    async def application(self) -> web.Application:
        app = web.Application(middlewares=[self._headers])
        app.add_routes(
            [
                web.get("/", self.handle_index, name="index"),
                web.get("/login", self.handle_login_page),
                web.post("/login", self.handle_login),
                web.get("/tab.js", self.handle_tab_js),
                web.get("/ws", self.handle_websocket, name="websocket"),
                web.get("/download/{key}", self.handle_download, name="download"),
                web.static("/static", self.statics_path, name="static"),
            ]
        )
        app.on_shutdown.append(self.on_shutdown)
        return app

    @web.middleware
    async def _headers(self, request: web.Request, handler: Any) -> web.StreamResponse:
        response: web.StreamResponse = await handler(request)
        if not response.prepared:
            response.headers.update(HEADERS)
        return response

    async def on_shutdown(self, app: web.Application) -> None:
        for tab in list(self.tabs):
            await tab.websocket.close(message=b"The server stopped.")

    # -- who is asking ---------------------------------------------------------------------------

    def client(self, request: web.Request) -> str:
        """The browser's address: the proxy's X-Forwarded-For only when it comes from the proxy."""
        remote = request.remote or "?"
        forwarded = request.headers.get("X-Forwarded-For")
        if self.behind_proxy and forwarded and remote == self.web.proxy:
            return forwarded.split(",")[-1].strip() or remote
        return remote

    def logged_in(self, request: web.Request) -> bool:
        return self.signer.valid(request.cookies.get(COOKIE))

    def _https(self, request: web.Request) -> bool:
        if self.secure:
            return True
        from_proxy = self.behind_proxy and request.remote == self.web.proxy
        return from_proxy and request.headers.get("X-Forwarded-Proto") == "https"

    def _log_in(self, request: web.Request) -> web.Response:
        response = web.HTTPSeeOther("/")
        response.set_cookie(
            COOKIE,
            self.signer.issue(),
            max_age=int(self.signer.lifetime_s),
            httponly=True,
            samesite="Strict",
            secure=self._https(request),
            path="/",
        )
        log.info("login from %s", self.client(request))
        return response

    def _refused(self, request: web.Request, why: str) -> web.Response:
        address = self.client(request)
        self.failures.failed(address)
        log.warning("failed login from %s: %s", address, why)
        page = login_page(password=self.web.password_hash is not None, error=why)
        return web.Response(text=page, content_type="text/html", status=403)

    def _too_many(self, request: web.Request) -> web.Response | None:
        if not self.failures.blocked(self.client(request)):
            return None
        log.warning("login refused unchecked from %s: too many failed logins", self.client(request))
        page = login_page(password=self.web.password_hash is not None, error="Too many failed logins: wait a minute.")
        return web.Response(text=page, content_type="text/html", status=429, headers={"Retry-After": "60"})

    # -- routes ----------------------------------------------------------------------------------

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        token = request.query.get("token")
        if token is not None:
            blocked = self._too_many(request)
            if blocked is not None:
                return blocked
            if not self.link.redeem(token):
                return self._refused(request, "This login link was already used or is wrong.")
            return self._log_in(request)  # a redirect: the token leaves the address bar
        if not self.logged_in(request):
            raise web.HTTPSeeOther("/login")
        scheme = "wss" if self._https(request) else "ws"
        page = console_page(
            websocket_url=f"{scheme}://{request.host}/ws",
            static_url="/static/",
            font_size=to_int(request.query.get("fontsize", "16"), 16),
        )
        return web.Response(text=page, content_type="text/html")

    async def handle_login_page(self, request: web.Request) -> web.Response:
        return web.Response(text=login_page(password=self.web.password_hash is not None), content_type="text/html")

    async def handle_login(self, request: web.Request) -> web.Response:
        blocked = self._too_many(request)
        if blocked is not None:
            return blocked
        form = await request.post()
        offered = form.get("password")
        stored = self.web.password_hash
        if stored is None:
            return self._refused(request, "No password is set: use the login link serve printed.")
        if not isinstance(offered, str) or not verify_password(offered, stored):
            return self._refused(request, "Wrong password.")
        return self._log_in(request)

    async def handle_tab_js(self, request: web.Request) -> web.Response:
        return web.Response(text=TAB_JS, content_type="application/javascript")

    async def handle_download(self, request: web.Request) -> web.StreamResponse:
        if not self.logged_in(request):
            raise web.HTTPForbidden(text="log in first")
        return await super().handle_download(request)

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        if not self.logged_in(request):
            raise web.HTTPForbidden(text="log in first")
        origin = request.headers.get("Origin")
        if origin is not None and origin.split("://", 1)[-1] != request.host:
            raise web.HTTPForbidden(text="cross-site websocket refused")
        await self._make_room()
        websocket = web.WebSocketResponse(heartbeat=15)
        await websocket.prepare(request)
        process = TabProcess(
            self.tab_command(),
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=websocket.close,
            download_manager=self.download_manager,
        )
        tab = Tab(websocket, process)
        self.tabs.append(tab)
        try:
            await process.start(
                to_int(request.query.get("width", "80"), 80), to_int(request.query.get("height", "24"), 24)
            )
            log.info("tab opened for %s (console process %s)", self.client(request), process.pid)
            try:
                await self._relay(tab)
            finally:
                await process.stop()
        except asyncio.CancelledError:
            await websocket.close()
        except Exception:
            log.exception("tab failed")
        finally:
            if tab in self.tabs:  # (not when the cap closed it)
                self.tabs.remove(tab)
            with contextlib.suppress(Exception):
                await process.stop()
        return websocket

    async def _relay(self, tab: Tab) -> None:
        """textual-serve's message loop, noting when the tab was last used."""
        async for message in tab.websocket:
            if message.type != web.WSMsgType.TEXT:
                continue
            envelope = message.json()
            if not isinstance(envelope, list) or not envelope:
                continue
            kind = envelope[0]
            if kind == "stdin":
                tab.last_active = time.monotonic()
                await tab.process.send_bytes(str(envelope[1]).encode("utf-8"))
            elif kind == "resize":
                tab.last_active = time.monotonic()
                size = envelope[1]
                await tab.process.set_terminal_size(int(size["width"]), int(size["height"]))
            elif kind == "ping":
                await tab.websocket.send_json(["pong", envelope[1]])
            elif kind == "blur":
                await tab.process.blur()
            elif kind == "focus":
                await tab.process.focus()

    async def _make_room(self) -> None:
        """At the cap, close the tab used longest ago; its page says why."""
        while len(self.tabs) >= self.web.max_sessions:
            idle = min(self.tabs, key=lambda t: t.last_active)
            self.tabs.remove(idle)
            log.info("closing the longest idle tab: %d tabs are the most (web.max_sessions)", self.web.max_sessions)
            await idle.websocket.close(
                code=4000,
                message=closed_for_room(self.web.max_sessions).encode(),
            )


def closed_for_room(cap: int) -> str:
    # A websocket's close reason holds at most 123 bytes.
    return f"Closed: a newer tab took its place (at most {cap} at once; this one was idle longest)."
