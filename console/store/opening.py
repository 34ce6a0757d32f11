"""Opening a store by its location (``--db``, the config's ``db``): a path opens the SQLite
store, a ``postgresql://`` URL the PostgreSQL one. Every command opens its store here.

The PostgreSQL password: asyncpg itself reads ``PGPASSWORD``, ``~/.pgpass`` or ``PGPASSFILE``, and
the URL's ``?service=NAME`` from ``~/.pg_service.conf`` or ``PGSERVICEFILE``. Here are added what it
lacks: the config's ``password_file`` (read with the token file's rules, handed to the driver and
to nothing else), ``PGSERVICE`` (libpq's default service, which asyncpg 0.31–0.32 reads too late
to use), and one line for a service that is not in the file (asyncpg would quietly ignore it)."""

from __future__ import annotations

import configparser
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlsplit

from console.errors import ConfigError
from console.model.location import PgLocation, StoreLocation
from console.secret import REDACTOR, read_secret_file
from console.store.api import AuditStore
from console.store.connection import NO_DATABASE_HINT
from console.store.errors import StoreError

if TYPE_CHECKING:
    from console.store.export import ExportSource


async def open_store(
    location: StoreLocation, *, password_file: Path | None = None, existing: bool = False, **options: Any
) -> AuditStore:
    """The store at ``location``, open (created and migrated unless ``readonly=True``). Options:
    ``readonly``, ``collector_lock``, ``names``, ``clock`` for both; ``quick_check`` and
    ``busy_timeout`` mean something to SQLite only, ``standby``, ``on_deposed`` and ``shard_group``
    (collectors that fail over or split a bot's shards, ``PgStore.open``) to PostgreSQL only.
    ``password_file`` is used for PostgreSQL only.
    ``existing``: a writing command that must not create a store (``prune``) refuses a missing
    file or a database without one, as a read-only open does. StoreError or ConfigError with one
    line when it cannot be opened."""
    if isinstance(location, PgLocation):
        from console.store.postgres.store import PgStore  # asyncpg only for a PostgreSQL store

        url, password = pg_dsn(location), pg_password(password_file)
        if existing and not options.get("readonly"):
            await _holds_store(url, str(location), password)
        return await PgStore.open(url, password=password, **options)
    from console.store.sqlite.store import Store

    # One collector per file: SQLite's lock file refuses a second one, which never stands by.
    options.pop("standby", None)
    options.pop("on_deposed", None)
    options.pop("shard_group", None)
    if existing and not location.exists():
        raise StoreError(f"no database at {location}{NO_DATABASE_HINT}")
    return await Store.open(location, **options)


def pg_password(password_file: Path | None) -> str | None:
    """The password in the config's ``password_file`` (None: the driver finds one, or none is
    needed). Read with the token file's rules; registered with the log's redactor."""
    if password_file is None:
        return None
    secret = read_secret_file(password_file, "password file")
    if not secret.reveal():
        raise ConfigError(f"password file {password_file} is empty")
    REDACTOR.add(secret)  # a driver message or a log line that quotes it shows it redacted
    return secret.reveal()


def export_source(location: StoreLocation, *, password_file: Path | None = None) -> Path | ExportSource:
    """What ``export`` reads at ``location``: a SQLite file, or a PostgreSQL database reached as
    :func:`open_store` reaches it (the same URL, service and password)."""
    if not isinstance(location, PgLocation):
        return location
    from console.store.postgres.export import PgSource  # asyncpg only for a PostgreSQL store

    password = pg_password(password_file)
    return PgSource(pg_dsn(location), str(location), {} if password is None else {"password": password})


async def _holds_store(url: str, where: str, password: str | None) -> None:
    """StoreError when the database holds no tables at all, so no store: looked at on a
    connection of its own, before the opening would create one."""
    import asyncpg

    from console.store.postgres.connect import CONNECTION_ERRORS, connect, describe

    conn = await connect(url, where, **({} if password is None else {"password": password}))
    try:
        # Any table: someone else's are refused by the opening itself, with its own line.
        found = await conn.fetchval("SELECT count(*) > 0 FROM pg_catalog.pg_tables WHERE schemaname = current_schema()")
    except (asyncpg.PostgresError, *CONNECTION_ERRORS) as e:
        raise StoreError(describe(e, where)) from None
    finally:
        await conn.close()
    if not found:
        raise StoreError(f"PostgreSQL at {where} holds no Audit Console store yet")


async def collector_status(location: StoreLocation, *, password_file: Path | None = None, shard_group: str = "") -> str:
    """Who collects into the store at ``location`` (for ``shard_group``: that group's leader), one
    line (``collect --standby-info``):
    PostgreSQL only (a SQLite file has one collector and no standbys: ConfigError)."""
    if not isinstance(location, PgLocation):
        raise ConfigError(
            f"--standby-info needs a PostgreSQL store; {location} is a SQLite file (one collector, no standbys)"
        )
    import asyncpg

    from console.store.postgres.connect import CONNECTION_ERRORS, connect, describe
    from console.store.postgres.leadership import describe_leadership

    url, password = pg_dsn(location), pg_password(password_file)
    where = str(location)
    conn = await connect(url, where, **({} if password is None else {"password": password}))
    try:
        if not await conn.fetchval("SELECT to_regclass('leadership') IS NOT NULL"):
            raise StoreError(f"PostgreSQL at {where} holds no store with collectors yet (run `collect` once)")
        return await describe_leadership(conn, where, shard_group)
    except (asyncpg.PostgresError, *CONNECTION_ERRORS) as e:
        raise StoreError(describe(e, where)) from None
    finally:
        await conn.close()


def pg_dsn(location: PgLocation) -> str:
    """The URL handed to the driver: ``PGSERVICE`` added as ``?service=`` when the URL names none
    (libpq's rule), and the service checked to be in the service file."""
    url = location.url
    query = parse_qs(urlsplit(url).query)
    service = query["service"][-1] if "service" in query else os.environ.get("PGSERVICE") or None
    if service is None:
        return url
    named = os.environ.get("PGSERVICEFILE")
    file = Path(named) if named else Path.home() / ".pg_service.conf"
    services = configparser.ConfigParser(interpolation=None)
    try:
        found = services.read(file, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError) as e:
        raise StoreError(f"service file {file} cannot be read: {' '.join(str(e).split())}") from None
    if not found:
        raise StoreError(
            f"PostgreSQL at {location}: service {service!r} needs a service file "
            f"(~/.pg_service.conf or PGSERVICEFILE); there is none at {file}"
        )
    if not services.has_section(service):
        raise StoreError(f"PostgreSQL at {location}: service {service!r} is not defined in {file}")
    if "service" in query:
        return url
    return url + ("&" if urlsplit(url).query else "?") + "service=" + quote(service)
