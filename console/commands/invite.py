"""``audit-console invite-url``: the link that adds the bot to a server with exactly the
permissions the console uses, each named under it. The application's id is asked of Discord
with the token (the token itself is never printed)."""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from console.config import Settings
from console.errors import EXIT_OK, ConfigError
from console.secret import REDACTOR, Secret
from console.setup.checks import INVITE_PERMISSIONS, PERMISSIONS, SCOPES, TOKEN_REJECTED, invite_url


def invite(settings: Settings, token: Secret, out: TextIO = sys.stdout) -> int:
    from console.discord.probe import TokenRejected, application_id

    REDACTOR.add(token)
    try:
        app_id = asyncio.run(application_id(token, settings.rest_url))
    except TokenRejected:
        raise ConfigError(TOKEN_REJECTED) from None
    out.write(f"{invite_url(app_id)}\n\n")
    out.write(f"Open it in a browser, choose the server, and keep these permissions ({INVITE_PERMISSIONS}):\n")
    width = max(len(name) for name, _ in PERMISSIONS)
    for name, why in PERMISSIONS:
        out.write(f"  {name:<{width}}  {why}\n")
    out.write(f"Scopes: {', '.join(SCOPES)} (the bot itself, and its /audit slash commands).\n")
    return EXIT_OK
