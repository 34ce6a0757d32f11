"""LOGIN roles of a test's own on the PostgreSQL server, and a team store made of them (the team
tests connect as each login; the shared server trusts local connections, so no passwords)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from console.model.location import PgLocation
from console.store.team_access import team_command


def as_login(url: str, login: str) -> str:
    """``url`` with ``login`` as its user."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{login}@{parts.netloc.rsplit('@', 1)[-1]}"))


async def fresh_logins(pg_url: str) -> AsyncIterator[list[str]]:
    """Fresh LOGIN roles (moderator, viewer, unmapped, collector), cluster-wide and so uniquely
    named, dropped after the test (the ``logins`` fixture)."""
    tag = uuid.uuid4().hex[:10]
    names = [f"t_mod_{tag}", f"t_view_{tag}", f"t_none_{tag}", f"t_col_{tag}"]
    admin = await asyncpg.connect(pg_url, timeout=60)
    try:
        for name in names:
            await admin.execute(f'CREATE ROLE "{name}" LOGIN')
    finally:
        await admin.close()
    yield names
    admin = await asyncpg.connect(pg_url, timeout=60)
    try:
        for name in names:
            # Their sessions end with the test; what they were granted in this database goes
            # with it (the database is dropped after), the memberships here.
            await admin.execute(f'REASSIGN OWNED BY "{name}" TO CURRENT_USER')
            await admin.execute(f'DROP OWNED BY "{name}"')
            await admin.execute(f'DROP ROLE "{name}"')
    finally:
        await admin.close()


async def make_team(pg_url: str, moderator: str, viewer: str, unmapped: str, discord_id: int) -> None:
    """A team store: ``moderator`` mapped to ``discord_id``, ``viewer``, and ``unmapped`` made a
    moderator by hand (GRANT) without a mapping: it reads, but may not act."""
    location = PgLocation(pg_url)
    await team_command(location, "init")
    await team_command(location, "add", login=moderator, kind="moderator", discord_id=discord_id)
    await team_command(location, "add", login=viewer, kind="viewer", discord_id=None)
    admin = await asyncpg.connect(pg_url, timeout=60)
    try:
        await admin.execute(f'GRANT audit_moderator TO "{unmapped}"')
    finally:
        await admin.close()
