"""What a tab's console process inherits: only what the console reads (its folders, its config,
the PostgreSQL connection's libpq settings, the locale) — never the bot token (``serve`` does
not collect: a collector runs on its own) and never anything of the web login."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

#: Kept as they are.
_NAMES = frozenset(
    {"PATH", "HOME", "USER", "LOGNAME", "LANG", "TZ", "TMPDIR", "AUDIT_CONSOLE_CONFIG", "PYTHONPATH", "SYSTEMROOT"}
)
#: Kept by prefix: locale, XDG folders, libpq's connection settings (PGHOST, PGUSER, PGSERVICE…).
_PREFIXES = ("LC_", "XDG_", "PG")
#: Never, whatever the prefixes say.
_SECRETS = frozenset({"DISCORD_TOKEN", "CREDENTIALS_DIRECTORY"})


def app_environment(parent: Mapping[str, str]) -> dict[str, str]:
    env = {
        name: value
        for name, value in parent.items()
        if name not in _SECRETS and (name in _NAMES or name.startswith(_PREFIXES))
    }
    # The package as this process imported it, whether installed or run from a checkout.
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env
