"""The store: the only package that imports a database driver. Its interface is
:class:`AuditStore` (``api.py``); ``Store`` is the SQLite backend (WAL mode, one batched writer),
``postgres/`` the PostgreSQL one. :func:`open_store` opens either by location (``opening.py``)."""

from typing import TYPE_CHECKING

from console.model.stored import StoredEntry
from console.store.api import AuditStore
from console.store.errors import StoreError, StoreFullError
from console.store.opening import open_store
from console.store.results import IngestResult, Ref
from console.store.sqlite.store import Store

__all__ = ["AuditStore", "IngestResult", "Ref", "Store", "StoreError", "StoreFullError", "StoredEntry", "open_store"]

if TYPE_CHECKING:
    from console.store.postgres.store import PgStore

    def _implements(store: Store) -> AuditStore:
        """mypy checks here that the SQLite store implements the interface."""
        return store

    def _implements_too(store: PgStore) -> AuditStore:
        """… and the PostgreSQL store."""
        return store
