"""``audit-console team init|add-moderator|add-viewer|add-collector|remove|list``: the admin's
commands for a team on one PostgreSQL store (``console/store/postgres/team.py`` says what each
role may do)."""

from __future__ import annotations

import asyncio

from console.commands.collect import say
from console.config import Settings
from console.store.team_access import team_command


def run_team(settings: Settings, op: str, login: str | None, discord_id: int | None) -> int:
    db, password_file = settings.db, settings.password_file
    if op == "init":
        asyncio.run(team_command(db, "init", password_file=password_file))
        say(f"team roles ready on {db}: audit_collector, audit_moderator, audit_viewer")
        return 0
    if op == "list":
        for name, kind, did in asyncio.run(team_command(db, "list", password_file=password_file)):
            print(f"{name}\t{kind}\t{'' if did is None else did}")
        return 0
    assert login is not None
    if op == "remove":
        kind = asyncio.run(team_command(db, "remove", password_file=password_file, login=login))
        say(f"{login} ({kind}) removed from the team")
        return 0
    kind = op.removeprefix("add-")
    asyncio.run(team_command(db, "add", password_file=password_file, login=login, kind=kind, discord_id=discord_id))
    say(f"{login} is a {kind}" + ("" if discord_id is None else f", acting as Discord user {discord_id}"))
    return 0
