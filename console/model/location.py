"""Where a store is: what ``--db`` and the config's ``db`` hold. A path is a SQLite store (as it
always was); a ``postgresql://`` (or ``postgres://``) URL in libpq's syntax is a PostgreSQL one.

A password is never part of a location: on the command line it shows in ``ps`` and in shell
history, and a config file is often readable by others, so a URL carrying one (``user:secret@``
or ``?password=``) is refused, in both places, with a line saying where a password goes
(:data:`PASSWORD_SOURCES`). The driver (asyncpg) reads ``PGPASSWORD``, ``~/.pgpass`` or
``PGPASSFILE`` and a ``?service=`` from ``~/.pg_service.conf`` or ``PGSERVICEFILE`` itself; the
config's ``password_file`` is read by the store's opening (``console/store/opening.py``).

Here rather than in ``console/store``: the config parses a location on every command, and the
store package imports the SQLite backend when it loads."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

#: Where a PostgreSQL password may come from, said whenever one is refused.
PASSWORD_SOURCES = (
    "PGPASSWORD, ~/.pgpass (or PGPASSFILE), a service file (?service=NAME), "
    "or password_file in the config (a file only you can read)"
)

#: libpq's sslmode values (asyncpg knows the same).
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")

_SCHEMES = ("postgresql", "postgres")
#: A libpq "key=value" connection string (``host=db dbname=audit``): not taken for a file name.
_KEYWORDS = re.compile(r"^\s*(host|hostaddr|dbname|user|port|service|sslmode)\s*=", re.IGNORECASE)


class LocationError(ValueError):
    """A ``--db`` or ``db`` that cannot be used; its text is one line without the caller's
    prefix (the flag or the config file)."""


def display_url(url: str) -> str:
    """``url`` as shown to people: never a password (libpq URLs may carry one after the user),
    and no query (its parameters are options, not where the store is)."""
    head, sep, rest = url.partition("://")
    if not sep:
        return url
    netloc, slash, tail = rest.partition("/")
    netloc = netloc.partition("?")[0]
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        netloc = user.partition(":")[0] + "@" + host
    return f"{head}://{netloc}{slash}{tail.partition('?')[0]}"


@dataclass(frozen=True)
class PgLocation:
    """A PostgreSQL store: ``url`` as given (a libpq URL without a password)."""

    url: str

    def __str__(self) -> str:
        return display_url(self.url)

    @property
    def name(self) -> str:
        """A short label: the database's name, else the whole display URL."""
        database = unquote(urlsplit(self.url).path.lstrip("/"))
        return database or str(self)


#: A store's location: a SQLite file or a PostgreSQL database.
StoreLocation = Path | PgLocation


def is_postgres(text: str) -> bool:
    return text.partition("://")[0].lower() in _SCHEMES and "://" in text


def parse_location(text: str) -> StoreLocation:
    """A path (``~`` expanded) or a PostgreSQL URL, checked; LocationError with one line otherwise."""
    if is_postgres(text):
        return PgLocation(_check_url(text.strip()))
    scheme = text.partition("://")[0]
    if "://" in text and scheme.isalpha():
        raise LocationError(f"{scheme}:// is not a store: give a file path or a postgresql:// URL")
    if _KEYWORDS.match(text):
        raise LocationError(
            "libpq key=value strings are not taken: write it as a URL, postgresql://user@host:port/dbname?sslmode=…"
        )
    if not text.strip():
        raise LocationError("empty: give a file path or a postgresql:// URL")
    return Path(text).expanduser()


def _check_url(url: str) -> str:
    """What libpq and asyncpg would otherwise take silently or answer with a confusing error."""
    try:
        parts = urlsplit(url)
    except ValueError as e:
        raise LocationError(f"not a PostgreSQL URL ({e})") from None
    netloc = parts.netloc
    shown = display_url(url)
    userinfo = netloc.rpartition("@")[0] if "@" in netloc else ""
    query: dict[str, list[str]] = {}
    if parts.query:
        try:
            query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=True)
        except ValueError:
            raise LocationError(f"{shown}: the part after ? must be key=value pairs joined by &") from None
    if ":" in userinfo or "password" in query:
        raise LocationError(f"{shown}: a password does not belong in the URL; it comes from {PASSWORD_SOURCES}")
    hosts = netloc.rpartition("@")[2]
    for host in filter(None, hosts.split(",")):
        port = host.rpartition("]")[2].rpartition(":")[2] if ":" in host.rpartition("]")[2] else ""
        if port and not (port.isdigit() and 0 < int(port) < 65536):
            raise LocationError(f"{shown}: the port {port!r} is not a number from 1 to 65535")
    for value in query.get("port", []):
        for port in value.split(","):
            if not (port.isdigit() and 0 < int(port) < 65536):
                raise LocationError(f"{shown}: the port {port!r} is not a number from 1 to 65535")
    for value in query.get("sslmode", []):
        if value not in SSLMODES:
            raise LocationError(f"{shown}: sslmode {value!r} is not one of {', '.join(SSLMODES)}")
    return url
