"""A team on one PostgreSQL store: the database roles that say what each login may do, and the
table that says which Discord user each login acts as (``audit-console team …``).

Three group roles (NOLOGIN; a person's or a collector's login is made a member):

- ``audit_collector`` writes history: every table but ``team_members``, INSERT/UPDATE/DELETE.
- ``audit_moderator`` reads everything and writes only what acting needs: new decisions (its own:
  a trigger checks the actor is the Discord user its login is mapped to), requests (``role_changes``
  rows the collector carries out, and their cancelling), break-glass sessions, and the chain links
  of its own decisions. A decision is linked in the transaction that stores it, as everywhere
  (``links.py``): the moderator may INSERT chain rows, and moves a head only through
  ``audit_advance_head`` (SECURITY DEFINER, forward only, onto a link that exists). It has no
  UPDATE or DELETE on history; a link it appended wrongly is caught by ``verify``, as anything done
  around the database is.
- ``audit_viewer`` reads.

``team init`` is idempotent: run it again after an upgrade added tables (default privileges cover
tables the same admin creates later)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import asyncpg

from console.store.errors import StoreError

COLLECTOR: Final = "audit_collector"
MODERATOR: Final = "audit_moderator"
VIEWER: Final = "audit_viewer"
GROUPS: Final = {"collector": COLLECTOR, "moderator": MODERATOR, "viewer": VIEWER}

#: The meta key that makes a store a team store: identities come from ``team_members``.
TEAM_KEY: Final = "team"

#: What a moderator may write beyond reading (table → privileges).
_MODERATOR_WRITES: Final = {
    "decisions": "INSERT",
    "role_changes": "INSERT, UPDATE",
    "break_glass": "INSERT, UPDATE (ended_at, ended_by)",
    "notes": "INSERT",
    "chain": "INSERT",
}


def quote_ident(name: str) -> str:
    """``name`` as an SQL identifier (a login may hold any character but NUL)."""
    return '"' + name.replace('"', '""') + '"'


def check_login(login: str) -> str:
    """A PostgreSQL login name as given; StoreError with one line for one the server cannot hold."""
    if not login or "\x00" in login or len(login.encode()) > 63:
        raise StoreError(f"{login!r} is not a PostgreSQL login name (1 to 63 bytes, no NUL)")
    return login


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the connected login is on a team store."""

    login: str
    #: "moderator", "viewer", "collector", or None (the login is not in the team).
    kind: str | None
    #: The Discord user the login acts as (moderators only).
    discord_id: int | None

    @property
    def a_person(self) -> bool:
        """A moderator's or a viewer's login: it may not write history, so its console never
        collects nor takes the collector lock (the team's collectors do), whatever the command."""
        return self.kind in ("moderator", "viewer")

    def browse_only(self) -> str | None:
        """Why this login may not act (one line), or None when it may."""
        if self.kind == "moderator" and self.discord_id is not None:
            return None
        if self.kind is None:
            return (
                f"login {self.login} is not mapped to a Discord user on this team store: browse only "
                f"(an admin runs `audit-console team add-moderator {self.login} --discord-id ID`)"
            )
        return f"login {self.login} is a {self.kind} on this team store: browse only"


async def identity(conn: asyncpg.Connection) -> Identity | None:
    """The connected login's identity on a team store, None when the store is not one."""
    if not await conn.fetchval("SELECT to_regclass('team_members') IS NOT NULL"):
        return None
    if await conn.fetchval("SELECT value FROM meta WHERE key = $1", TEAM_KEY) is None:
        return None
    login = str(await conn.fetchval("SELECT session_user"))
    row = await conn.fetchrow("SELECT kind, discord_id FROM team_members WHERE login = $1", login)
    if row is None:
        return Identity(login, None, None)
    return Identity(login, row["kind"], None if row["discord_id"] is None else int(row["discord_id"]))


async def init(conn: asyncpg.Connection, now_ms: int) -> None:
    """Create the group roles (when missing) and grant them their privileges on this store."""
    schema = quote_ident(str(await conn.fetchval("SELECT current_schema()")))
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('audit-console team'))")
        for role in GROUPS.values():
            # Roles are the cluster's, so another database's `team init` may create one at the
            # same moment (the advisory lock above is this database's): either wins.
            await conn.execute(
                f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN"
                f" CREATE ROLE {role} NOLOGIN; END IF;"
                " EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
            )
        groups = ", ".join(GROUPS.values())
        await conn.execute(f"GRANT USAGE ON SCHEMA {schema} TO {groups}")
        await conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {groups}")
        await conn.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT ON TABLES TO {groups}")
        # The collector writes history; the team is the admin's alone.
        await conn.execute(f"GRANT INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {COLLECTOR}")
        await conn.execute(f"REVOKE INSERT, UPDATE, DELETE ON team_members FROM {COLLECTOR}")
        await conn.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {COLLECTOR}")
        await conn.execute(
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT INSERT, UPDATE, DELETE ON TABLES TO {COLLECTOR}"
        )
        await conn.execute(
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE, SELECT ON SEQUENCES TO {COLLECTOR}"
        )
        for table, privileges in _MODERATOR_WRITES.items():
            await conn.execute(f"GRANT {privileges} ON {table} TO {MODERATOR}")
        await conn.execute("REVOKE EXECUTE ON FUNCTION audit_advance_head(BIGINT, BIGINT, BYTEA) FROM PUBLIC")
        await conn.execute(
            f"GRANT EXECUTE ON FUNCTION audit_advance_head(BIGINT, BIGINT, BYTEA) TO {COLLECTOR}, {MODERATOR}"
        )
        await conn.execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING", TEAM_KEY, str(now_ms)
        )


async def add(conn: asyncpg.Connection, login: str, kind: str, discord_id: int | None, now_ms: int) -> None:
    """Make ``login`` a member of ``kind``'s group (and of no other) and record who it acts as."""
    await _team_store(conn)
    if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1 AND rolcanlogin", login):
        raise StoreError(f"there is no PostgreSQL login {login!r}; create it first (CREATE ROLE … LOGIN)")
    async with conn.transaction():
        for other in GROUPS.values():
            await conn.execute(f"REVOKE {other} FROM {quote_ident(login)}")
        await conn.execute(f"GRANT {GROUPS[kind]} TO {quote_ident(login)}")
        await conn.execute(
            "INSERT INTO team_members (login, kind, discord_id, added_at) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (login) DO UPDATE SET kind = excluded.kind, discord_id = excluded.discord_id,"
            " added_at = excluded.added_at",
            login,
            kind,
            discord_id,
            now_ms,
        )


async def remove(conn: asyncpg.Connection, login: str) -> str:
    """Take ``login`` out of the team (its group memberships and its mapping); what it was."""
    await _team_store(conn)
    kind = await conn.fetchval("SELECT kind FROM team_members WHERE login = $1", login)
    if kind is None:
        raise StoreError(f"{login!r} is not in this store's team (see `audit-console team list`)")
    async with conn.transaction():
        if await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", login):
            for group in GROUPS.values():
                await conn.execute(f"REVOKE {group} FROM {quote_ident(login)}")
        await conn.execute("DELETE FROM team_members WHERE login = $1", login)
    return str(kind)


async def members(conn: asyncpg.Connection) -> list[tuple[str, str, int | None]]:
    """(login, kind, Discord id) of everyone in the team, by login."""
    await _team_store(conn)
    rows = await conn.fetch("SELECT login, kind, discord_id FROM team_members ORDER BY login")
    return [(r[0], r[1], None if r[2] is None else int(r[2])) for r in rows]


async def _team_store(conn: asyncpg.Connection) -> None:
    if (
        not await conn.fetchval("SELECT to_regclass('team_members') IS NOT NULL")
        or await conn.fetchval("SELECT value FROM meta WHERE key = $1", TEAM_KEY) is None
    ):
        raise StoreError("this store has no team yet: run `audit-console team init URL` first")
