"""A real ``audit-console serve`` process for the web tests: started on a free port, its login
link read from what it prints, stopped with SIGTERM."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

LINK = re.compile(r"Log in once with: (http://[^\s]+)")


@dataclass
class Served:
    process: subprocess.Popen[str]
    link: str
    output: Path
    link_spent: bool = False

    @property
    def base(self) -> str:
        parts = urlsplit(self.link)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def port(self) -> int:
        return urlsplit(self.link).port or 80

    @property
    def token(self) -> str:
        return self.link.split("token=", 1)[1]

    def text(self) -> str:
        return self.output.read_text(encoding="utf-8", errors="replace")

    def get(self, path: str, *, cookie: str | None = None, headers: dict[str, str] | None = None) -> Answer:
        return request(self.port, "GET", path, cookie=cookie, headers=headers)

    def log_in(self) -> str:
        """Spends the link; the session cookie's value."""
        answer = self.get(urlsplit(self.link).path + "?" + urlsplit(self.link).query)
        assert answer.status == 303, answer
        return session_cookie(answer)

    def tab_pids(self) -> list[int]:
        """The console processes serve started (its children)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return [int(pid) for pid in children]


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: str


def request(
    port: int,
    method: str,
    path: str,
    *,
    cookie: str | None = None,
    headers: dict[str, str] | None = None,
    body: str | None = None,
) -> Answer:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    sent = dict(headers or {})
    if cookie is not None:
        sent["Cookie"] = f"audit_console_session={cookie}"
    if body is not None:
        sent["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        conn.request(method, path, body=body, headers=sent)
        response = conn.getresponse()
        return Answer(response.status, response.headers, response.read().decode("utf-8", "replace"))
    finally:
        conn.close()


def session_cookie(answer: Answer) -> str:
    header = answer.headers["Set-Cookie"]
    assert header is not None, answer
    return header.split(";", 1)[0].split("=", 1)[1]


#: What a websocket upgrade sends, so /ws answers as it would a browser.
WS_HEADERS = {
    "Connection": "Upgrade",
    "Upgrade": "websocket",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
}


@contextlib.contextmanager
def serving(*args: str, folder: Path, env: dict[str, str] | None = None) -> Iterator[Served]:
    output = folder / "serve.out"
    with output.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "console", "serve", "--port", "0", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            env={**os.environ, **(env or {})},
        )
    try:
        deadline = time.monotonic() + 60
        while not (found := LINK.search(output.read_text())):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"serve did not start: {output.read_text()}")
            time.sleep(0.05)
        yield Served(process, found.group(1), output)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
