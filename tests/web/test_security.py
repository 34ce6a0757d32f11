"""``audit-console serve``'s door, checked over plain HTTP against the real server process:
nothing without a session cookie, no forged or expired cookie, a login link good once, no bind
beyond loopback without TLS or a proxy, failed logins limited and logged, and neither the web
password nor the bot token in the pages, the logs or a tab's environment."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest

from console.web.auth import hash_password

from .served import WS_HEADERS, Answer, Served, request, serving, session_cookie

PASSWORD = "correct horse battery staple"
CANARY_TOKEN = "OTAwMDAwMDAwMDAwMDAwMDQy.canary.token-that-must-never-reach-a-tab"


def _config(folder: Path, **web: object) -> Path:
    lines = ["[web]"] + [f"{k} = {v!r}".replace("'", '"') for k, v in web.items()]
    path = folder / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _forbidden_everywhere(served: Served, cookie: str | None) -> None:
    assert served.get("/ws", cookie=cookie, headers=WS_HEADERS).status == 403
    assert served.get("/download/anything", cookie=cookie).status == 403
    index = served.get("/", cookie=cookie)
    assert index.status == 303
    assert index.headers["Location"] == "/login"


def test_nothing_without_a_valid_cookie(web_store: Path, tmp_path: Path) -> None:
    with serving("--db", str(web_store), folder=tmp_path) as served:
        _forbidden_everywhere(served, None)
        real = served.log_in()
        expiry, nonce, mac = real.split(".")
        for forged in (
            "1.2.3",
            f"{int(expiry) + 3600}.{nonce}.{mac}",  # a longer life, same signature
            f"{expiry}.{nonce}x.{mac}",
            f"{expiry}.{nonce}.{mac[:-2]}AA",
            "",
        ):
            _forbidden_everywhere(served, forged)
        assert served.get("/", cookie=real).status == 200


def test_an_expired_cookie_is_refused(web_store: Path, tmp_path: Path) -> None:
    # A login that lasts two seconds (session_hours is a float in the config).
    config = _config(tmp_path, session_hours=2 / 3600)
    with serving("--db", str(web_store), "--config", str(config), folder=tmp_path) as served:
        cookie = served.log_in()
        assert served.get("/", cookie=cookie).status == 200
        expiry = int(cookie.split(".")[0])
        while time.time() <= expiry + 1:
            time.sleep(0.2)
        _forbidden_everywhere(served, cookie)


def test_the_login_link_works_once_and_its_cookie_is_locked_down(web_store: Path, tmp_path: Path) -> None:
    with serving("--db", str(web_store), folder=tmp_path) as served:
        path = "/?token=" + served.token
        first = served.get(path)
        assert first.status == 303
        assert first.headers["Location"] == "/"
        header = first.headers["Set-Cookie"].lower()
        assert "httponly" in header
        assert "samesite=strict" in header
        assert "max-age=" in header
        again = served.get(path)
        assert again.status == 403
        assert "already used" in again.body
        assert "Set-Cookie" not in again.headers
        assert served.get("/?token=" + served.token[:-1] + "A").status in (403, 429)
        # The link's token is printed once, to the person who started serve, and nowhere else.
        assert served.text().count(served.token) == 1
        assert "referrer" in first.headers["Referrer-Policy"]


def test_a_cross_site_websocket_is_refused(web_store: Path, tmp_path: Path) -> None:
    with serving("--db", str(web_store), folder=tmp_path) as served:
        cookie = served.log_in()
        headers = {**WS_HEADERS, "Origin": "http://evil.example"}
        assert served.get("/ws", cookie=cookie, headers=headers).status == 403


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.7", "::", "example.org"])
def test_a_bind_beyond_loopback_is_refused_without_tls_or_a_proxy(host: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "console", "serve", "--demo", "--host", host],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "refusing to serve" in lines[0]
    assert "--behind-proxy" in lines[0]
    assert result.stdout == ""


def test_behind_a_proxy_a_non_loopback_bind_serves(tmp_path: Path) -> None:
    with serving("--demo", "--host", "0.0.0.0", "--behind-proxy", folder=tmp_path) as served:
        assert served.get("/login").status == 200


async def test_password_login_limits_and_secrets(web_store: Path, tmp_path: Path) -> None:
    config = _config(tmp_path, password_hash=hash_password(PASSWORD))
    state = tmp_path / "state"
    env = {"DISCORD_TOKEN": CANARY_TOKEN, "XDG_STATE_HOME": str(state)}
    with serving("--db", str(web_store), "--config", str(config), folder=tmp_path, env=env) as served:
        login_page = served.get("/login")
        assert login_page.status == 200
        assert 'type="password"' in login_page.body

        def post(password: str) -> Answer:
            return request(served.port, "POST", "/login", body=urlencode({"password": password}))

        right = post(PASSWORD)
        assert right.status == 303
        cookie = session_cookie(right)
        console_page = served.get("/", cookie=cookie)
        assert console_page.status == 200
        assert "textual-terminal" in console_page.body
        assert "default-src 'self'" in console_page.headers["Content-Security-Policy"]

        # A tab: its console process's environment holds neither the password nor the token.
        async with (
            aiohttp.ClientSession(cookies={"audit_console_session": cookie}) as http,
            http.ws_connect(f"ws://127.0.0.1:{served.port}/ws?width=100&height=30") as ws,
        ):
            await ws.receive(timeout=30)  # the console's first bytes
            (pid,) = served.tab_pids()
            environ = Path(f"/proc/{pid}/environ").read_bytes()
            assert b"TEXTUAL_DRIVER=textual.drivers.web_driver:WebDriver" in environ
            assert CANARY_TOKEN.encode() not in environ
            assert b"DISCORD_TOKEN" not in environ
            assert PASSWORD.encode() not in environ

        # Failed logins: refused, logged with the address, and after five the door stays shut
        # for a while even to the right password.
        for _ in range(5):
            wrong = post("hunter22")
            assert wrong.status == 403
            assert "Wrong password" in wrong.body
        assert post(PASSWORD).status == 429
        assert served.get("/?token=" + served.token).status == 429

    printed = served.text()
    assert printed.count("failed login from 127.0.0.1") == 5
    log = (state / "audit-console" / "console.log").read_text()
    assert "failed login from 127.0.0.1" in log
    assert "login from 127.0.0.1" in log
    pages = login_page.body + console_page.body
    for where, text in (("serve's output", printed), ("the log", log), ("the pages", pages)):
        assert PASSWORD not in text, where
        assert CANARY_TOKEN not in text, where
    assert served.token not in log


@pytest.mark.parametrize("behind_proxy", [False, True])
def test_forwarded_addresses_are_believed_only_from_the_proxy(behind_proxy: bool, tmp_path: Path) -> None:
    """Failed logins count per address: X-Forwarded-For names it only when serve is behind a
    proxy and the request comes from the proxy's address (127.0.0.1 by default)."""
    config = _config(tmp_path, password_hash=hash_password(PASSWORD))
    flags = ["--behind-proxy"] if behind_proxy else []
    with serving("--demo", "--config", str(config), *flags, folder=tmp_path) as served:

        def post(password: str, client: str) -> int:
            body = urlencode({"password": password})
            return request(served.port, "POST", "/login", body=body, headers={"X-Forwarded-For": client}).status

        for _ in range(5):
            assert post("hunter22", "203.0.113.7") == 403
        # Another browser behind the same proxy: its own count when the header is believed.
        assert post(PASSWORD, "198.51.100.9") == (303 if behind_proxy else 429)
    said = "203.0.113.7" if behind_proxy else "127.0.0.1"
    assert served.text().count(f"failed login from {said}") == 5
