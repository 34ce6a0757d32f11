"""The store: the only package that imports aiosqlite. SQLite in WAL mode, one batched writer."""

from console.store.errors import StoreError
from console.store.store import IngestResult, Store, StoredEntry

__all__ = ["IngestResult", "Store", "StoreError", "StoredEntry"]
