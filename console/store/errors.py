"""Store errors carry one line fit to show a person."""

from __future__ import annotations


class StoreError(Exception):
    """The database cannot be used: unreadable, corrupt, locked, or not ours. One-line message."""


class StoreFullError(StoreError):
    """SQLITE_FULL or an I/O error while writing: nothing in the failed batch was committed."""


class CollectorRunningError(StoreError):
    """Another collecting console holds the store (SQLite's lock file, PostgreSQL's advisory
    lock): a command that only hands the collector a request opens it beside that one."""


class DeposedError(StoreError):
    """A collecting store whose leadership another collector took over (PostgreSQL): nothing it
    tries to write commits any more."""
