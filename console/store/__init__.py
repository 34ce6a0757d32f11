"""The store: the only package that imports aiosqlite. SQLite in WAL mode, one batched writer."""

from console.model.stored import StoredEntry
from console.store.errors import StoreError
from console.store.store import IngestResult, Store

__all__ = ["IngestResult", "Store", "StoreError", "StoredEntry"]
