"""On a team store a browser tab acts as a PostgreSQL login does: as the Discord user that
serve's login is mapped to, never the config's ``operator_id``."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from web.served import serving

from .team_logins import as_login, make_team

OPERATOR_IN_CONFIG = 176633885491343362


async def test_a_tab_on_a_team_store_acts_as_the_mapped_moderator(
    pg_url: str,
    logins: list[str],
    tmp_path: Path,
) -> None:
    moderator, viewer, unmapped, _ = logins
    await make_team(pg_url, moderator, viewer, unmapped, 4242)
    config = tmp_path / "config.toml"
    config.write_text(f'operator_id = "{OPERATOR_IN_CONFIG}"\n')
    db = as_login(pg_url, moderator)
    with serving("--db", db, "--config", str(config), folder=tmp_path) as served:
        assert "PostgreSQL login is mapped to" in served.text()
        cookie = served.log_in()
        seen = bytearray()
        async with (
            aiohttp.ClientSession(cookies={"audit_console_session": cookie}) as http,
            http.ws_connect(f"ws://127.0.0.1:{served.port}/ws?width=160&height=40") as ws,
        ):
            while b"operator 4242" not in seen:
                message = await ws.receive(timeout=60)
                assert message.type == aiohttp.WSMsgType.BINARY, (message, bytes(seen[-2000:]))
                seen += message.data
        assert str(OPERATOR_IN_CONFIG).encode() not in seen
