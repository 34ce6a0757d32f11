"""What the commands ask of a team store without opening it as a store: ``team …`` (the admin's
roles and mappings), the connected login's identity (who a console acts as), and whether a
collector is running to carry out requests. Each opens one connection of its own."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from console.model.location import PgLocation, StoreLocation
from console.store.errors import StoreError
from console.store.opening import pg_dsn, pg_password

if TYPE_CHECKING:
    import asyncpg

    from console.store.postgres.team import Identity

T = TypeVar("T")

#: Said of a request waiting when no collector holds the store.
NO_COLLECTOR = "no collector is running for this guild"


async def _on_pg(
    location: PgLocation, password_file: Path | None, run: Callable[[asyncpg.Connection], Awaitable[T]]
) -> T:
    import asyncpg

    from console.store.postgres.connect import CONNECTION_ERRORS, connect, describe

    where, password = str(location), pg_password(password_file)
    conn = await connect(pg_dsn(location), where, **({} if password is None else {"password": password}))
    try:
        return await run(conn)
    except (asyncpg.PostgresError, *CONNECTION_ERRORS) as e:
        raise StoreError(describe(e, where)) from None
    finally:
        await conn.close()


async def store_identity(location: StoreLocation, *, password_file: Path | None = None) -> Identity | None:
    """The connected login's identity when ``location`` is a team store, else None (a SQLite
    file, a PostgreSQL store without ``team init``: the config's ``operator_id`` acts)."""
    if not isinstance(location, PgLocation):
        return None
    from console.store.postgres import team

    return await _on_pg(location, password_file, team.identity)


async def collector_running(
    location: StoreLocation, guild_id: int | None = None, *, password_file: Path | None = None
) -> bool:
    """Whether a collector that carries out ``guild_id``'s requests holds the store now: the
    unsharded one or its shard group's leader (always True for a SQLite file, whose requests are
    only handed over while one runs)."""
    if not isinstance(location, PgLocation):
        return True
    from console.store.postgres.leadership import guild_has_collector

    return await _on_pg(location, password_file, lambda conn: guild_has_collector(conn, guild_id))


async def team_command(location: StoreLocation, action: str, *, password_file: Path | None = None, **args: Any) -> Any:
    """Run ``team ACTION`` (init, add, remove, list) on the PostgreSQL store at ``location``."""
    if not isinstance(location, PgLocation):
        raise StoreError(f"`team` needs a PostgreSQL store; {location} is a SQLite file (one person, no logins)")
    from console.model.times import wall_clock_ms
    from console.store.postgres import team
    from console.store.postgres.connect import prepare
    from console.store.postgres.links import adopt

    async def run(conn: asyncpg.Connection) -> Any:
        if action == "init":
            # The store first, at this version, its chain started (a moderator's console may
            # not write the marker that says so).
            await prepare(conn, str(location), readonly=False)
            async with conn.transaction():
                await adopt(conn, wall_clock_ms())
            return await team.init(conn, wall_clock_ms())
        if action == "add":
            return await team.add(
                conn, team.check_login(args["login"]), args["kind"], args["discord_id"], wall_clock_ms()
            )
        if action == "remove":
            return await team.remove(conn, team.check_login(args["login"]))
        return await team.members(conn)

    return await _on_pg(location, password_file, run)
