"""The embedded backend: SQLite through aiosqlite (see ``store.py``)."""
