"""A synchronous face on one PostgreSQL connection, for the walks over a whole store — ``verify``
and the copy between stores — whose code is shared with the SQLite store, whose driver is
synchronous. The asyncpg connection runs on an event loop in a thread of its own; rows stream
through server-side cursors in batches, all in one read-only snapshot, so a walk sees the store
as it was when it began however long it takes, and never holds more than a batch in memory.

It answers the small part of the ``sqlite3.Connection`` interface those walks use: ``execute``
with ``?`` placeholders returning an iterable with ``fetchone``, ``fetchmany`` and ``fetchall``,
and ``close``."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator, Sequence
from typing import Any, TypeVar

import asyncpg

from console.store.errors import StoreError
from console.store.postgres.connect import CONNECTION_ERRORS, connect, describe
from console.store.postgres.placeholders import numbered

T = TypeVar("T")

#: Rows fetched per round trip while streaming.
BATCH = 2000


async def _open_cursor(conn: Any, sql: str, params: Sequence[Any]) -> Any:
    if not conn.is_in_transaction():
        # A cursor needs a transaction; outside one (the writing face between its transactions)
        # the rows come whole: such reads are small (a settings row, a count).
        return _Fetched(await conn.fetch(sql, *params))
    return await conn.cursor(sql, *params)


class _Fetched:
    """Rows already fetched whole, answering a cursor's ``fetch``."""

    def __init__(self, rows: list[Any]) -> None:
        self._rows = rows

    async def fetch(self, n: int) -> list[Any]:
        out, self._rows = self._rows[:n], self._rows[n:]
        return out


class Rows:
    """The rows of one statement, streamed from a server-side cursor."""

    def __init__(self, owner: BlockingConnection, sql: str, params: Sequence[Any]) -> None:
        self._owner = owner
        self._cursor = owner._call(_open_cursor(owner._conn, numbered(sql), params))
        self._buffer: list[tuple[Any, ...]] = []
        self._done = False

    def _more(self) -> bool:
        if not self._buffer and not self._done:
            got = self._owner._call(self._cursor.fetch(BATCH))
            self._buffer = [tuple(r) for r in reversed(got)]
            self._done = len(got) < BATCH
        return bool(self._buffer)

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._buffer.pop() if self._more() else None

    def fetchmany(self, size: int) -> list[tuple[Any, ...]]:
        out: list[tuple[Any, ...]] = []
        while len(out) < size and self._more():
            # The buffer is kept reversed (next row last), so take from its end.
            take = min(size - len(out), len(self._buffer))
            out += self._buffer[: -take - 1 : -1]
            del self._buffer[-take:]
        return out

    def fetchall(self) -> list[tuple[Any, ...]]:
        return list(self)

    def close(self) -> None:
        """Read no further (the server closes the cursor with the snapshot's transaction)."""
        self._buffer = []
        self._done = True

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        while self._more():
            yield self._buffer.pop()


class BlockingConnection:
    """One connection: by default one read-only snapshot (REPEATABLE READ) from :meth:`open` to
    :meth:`close`; opened with ``readonly=False`` it writes in transactions of the caller's
    (:meth:`begin`, :meth:`commit`), for the copy between stores."""

    def __init__(self, where: str) -> None:
        self.where = where
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="pg-walk", daemon=True)
        self._thread.start()
        self._conn: Any = None

    @classmethod
    def open(cls, dsn: str, where: str, *, readonly: bool = True, **options: Any) -> BlockingConnection:
        self = cls(where)
        try:
            self._conn = self._call(connect(dsn, where, **options))
            if readonly:
                self._call(self._conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"))
                # The snapshot is taken by the first query, not by BEGIN: take it now.
                self._call(self._conn.fetchval("SELECT 1"))
        except BaseException:
            self.close()
            raise
        return self

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        try:
            return asyncio.run_coroutine_threadsafe(coro, self._loop).result()
        except StoreError:
            raise
        except (asyncpg.PostgresError, *CONNECTION_ERRORS) as e:
            raise StoreError(describe(e, self.where)) from None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        return Rows(self, sql, params)

    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        """A statement whose rows, if any, are not wanted."""
        self._call(self._conn.execute(numbered(sql), *params))

    def begin(self) -> None:
        self._call(self._conn.execute("BEGIN"))

    def commit(self) -> None:
        self._call(self._conn.execute("COMMIT"))

    def rollback(self) -> None:
        self._call(self._conn.execute("ROLLBACK"))

    def run_many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """One statement for each of ``rows`` (pipelined: what COPY cannot carry)."""
        self._call(self._conn.executemany(numbered(sql), rows))

    def copy_rows(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        """Bulk insert with binary COPY (the fast way in for many rows)."""
        self._call(self._conn.copy_records_to_table(table, records=rows, columns=list(columns)))

    def tables(self) -> set[str]:
        """The tables of the store's schema."""
        found = self.execute("SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = current_schema()")
        return {r[0] for r in found}

    def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                self._call(conn.close(timeout=5))
            except Exception:  # noqa: BLE001 - closing a connection that is already gone
                conn.terminate()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._loop.is_running():
            self._loop.close()
