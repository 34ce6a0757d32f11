"""Consoles following a PostgreSQL store written elsewhere (another collector, another machine),
without polling: every write transaction that changed something sends one ``NOTIFY`` before it
commits — so it is delivered only if, and when, it commits — and each watching store listens on a
connection of its own.

The payload is tiny (what kinds changed, a few guild ids, the batch's lowest and newest entry id,
the records changed in place when few), far below the server's 8,000 bytes: a console reads what
is new by keyset from its own cursor. Once per transaction, never per row: every commit that sent
a notification takes one instance-wide lock, so such commits serialise. Notifications sent while a
listener was cut off are lost, so after every reconnect the watchers are told to catch up.

The listener's connection is never a pooled one (returning a connection to an asyncpg pool runs
``UNLISTEN *``), and it runs ``SELECT 1`` every few seconds: asyncpg notices a dead server only
when a query fails or TCP times out."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import secrets
from collections.abc import Iterator
from typing import Any

import asyncpg

from console.store.errors import StoreError
from console.store.postgres.connect import CONNECTION_ERRORS, connect, describe
from console.store.results import IngestResult
from console.store.watching import Watchers, catch_up

#: The channel every store of a database notifies and listens on.
CHANNEL = "audit_console"
#: Kinds a payload may name (anything else in a payload is ignored: anyone who may connect may
#: send on the channel, so what arrives is checked, never trusted).
KINDS = frozenset({"entries", "records", "names", "alerts", "state"})
#: Record kinds a payload's changed-in-place list may name (the timeline's).
RECORD_KINDS = frozenset({"audit", "decision", "role_change", "gap"})
#: At most this many guild ids and changed records in one payload (then they are left out:
#: "every guild" / "re-read what you show"), which keeps a payload under ~2,500 bytes.
MAX_GUILDS = 16
MAX_CHANGED = 64
#: Seconds the listener waits idle before checking that its server still answers, and how long
#: that check may take before the connection counts as lost.
HEARTBEAT_S = 5.0
ANSWER_S = 5.0
#: Seconds between attempts to get the listener back (the last one repeats).
BACKOFF_S = (0.25, 0.5, 1.0, 2.0, 5.0)


class Batch:
    """What one write transaction told its store (its ``_notify`` calls and noted kinds): sent as
    one notification before COMMIT, handed to the store's listeners after it."""

    __slots__ = ("owner", "results", "kinds")

    def __init__(self, owner: object) -> None:
        self.owner = owner
        self.results: list[IngestResult] = []
        self.kinds: set[str] = set()


#: The batch of the transaction open in this task (a context variable: another task's writes
#: waiting for the write lock must not land in it).
current: contextvars.ContextVar[Batch | None] = contextvars.ContextVar("pg_batch", default=None)


@contextlib.contextmanager
def telling(owner: object) -> Iterator[Batch]:
    """The batch of a transaction of ``owner``'s, current in this task while it runs."""
    batch = Batch(owner)
    token = current.set(batch)
    try:
        yield batch
    finally:
        current.reset(token)


def new_token() -> str:
    """Marks one store object's notifications, so its own listener skips them (its watchers were
    told of them directly)."""
    return secrets.token_hex(6)


def kinds_of(result: IngestResult) -> set[str]:
    kinds = set()
    if result.inserted or result.updated:
        kinds.add("entries")
    if result.changed or not (result.inserted or result.updated):
        kinds.add("records")  # a decision, a gap, a role change moving on, a prune
    return kinds


def payload(token: str, batch: Batch) -> str:
    """The notification's text. Without ``k`` (a transaction that told nothing: names, alerts,
    settings written by a part that says nothing) watchers catch up on everything."""
    doc: dict[str, Any] = {"s": token}
    kinds = set(batch.kinds)
    guilds: set[int] = set()
    inserted: list[int] = []
    changed: list[tuple[str, int]] = []
    for result in batch.results:
        kinds |= kinds_of(result)
        guilds |= result.guild_ids
        inserted += result.inserted
        changed += result.changed
        changed += [("audit", i) for i in result.updated]
    if not kinds:
        return json.dumps(doc, separators=(",", ":"))
    doc["k"] = sorted(kinds)
    if guilds and len(guilds) <= MAX_GUILDS:
        doc["g"] = sorted(guilds)
    if inserted:
        doc["lo"], doc["hi"] = min(inserted), max(inserted)
    if len(changed) > MAX_CHANGED:
        doc["x"] = 1  # more changed in place than a payload holds
    elif changed:
        doc["c"] = [list(c) for c in dict.fromkeys(changed)]
    return json.dumps(doc, separators=(",", ":"))


def _ints(value: Any, limit: int) -> list[int]:
    if not isinstance(value, list):
        return []
    return [v for v in value[:limit] if type(v) is int]


def heard(text: str, own_token: str) -> IngestResult | None:
    """The result a payload describes; None for this store's own (told directly). A payload that
    is not ours to read means "something changed": catch up."""
    try:
        doc = json.loads(text)
    except ValueError:
        return catch_up()
    if not isinstance(doc, dict):
        return catch_up()
    if doc.get("s") == own_token:
        return None
    kinds = doc.get("k")
    if not isinstance(kinds, list) or doc.get("x"):
        return catch_up()
    result = catch_up(frozenset(k for k in kinds if k in KINDS))
    result.guild_ids = set(_ints(doc.get("g"), MAX_GUILDS))
    result.inserted = sorted(set(_ints([doc.get("lo"), doc.get("hi")], 2)))
    changed = doc.get("c")
    if isinstance(changed, list):
        result.changed = [
            (c[0], c[1])
            for c in changed[:MAX_CHANGED]
            if isinstance(c, list) and len(c) == 2 and c[0] in RECORD_KINDS and type(c[1]) is int
        ]
    return result


async def send(conn: asyncpg.Connection, token: str, batch: Batch) -> None:
    """The transaction's one notification, inside it, if it wrote anything at all (a transaction
    that only read, or whose upsert matched nothing, was given no transaction id)."""
    await conn.execute(
        "SELECT pg_notify($1, $2) WHERE pg_current_xact_id_if_assigned() IS NOT NULL",
        CHANNEL,
        payload(token, batch),
    )


class Follower:
    """The listening connection of one store: delivers other writers' notifications to its
    watchers, notices a lost server (termination, or a heartbeat that gets no answer), says so,
    reconnects with backoff and then has the watchers catch up."""

    def __init__(self, dsn: str, where: str, options: dict[str, Any], token: str, watchers: Watchers) -> None:
        self._dsn = dsn
        self._where = where
        self._options = options
        self._token = token
        self._watchers = watchers
        self._conn: asyncpg.Connection | None = None
        self._dropped = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        #: Notifications of other writers delivered, and times the listener came back (tests and
        #: the benchmark read them).
        self.received = 0
        self.reconnects = 0

    async def start(self) -> None:
        """Listening before it returns (or, when the server cannot be reached now, the watchers
        told so, and retrying in the background)."""
        lost = await self._listen()
        if lost is not None:
            self._watchers.link(lost)
        self._task = asyncio.get_running_loop().create_task(self._run(), name="store-listener")

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 2)
            if not conn.is_closed():
                conn.terminate()

    async def _listen(self) -> str | None:
        """Connect and LISTEN; the reason when that failed."""
        options = dict(self._options)
        options["server_settings"] = {
            **options.get("server_settings", {}),
            "application_name": "audit-console listener",
        }
        try:
            conn = await connect(self._dsn, self._where, **options)
        except StoreError as e:
            return str(e)
        try:
            await conn.add_listener(CHANNEL, self._heard)
        except (asyncpg.PostgresError, *CONNECTION_ERRORS) as e:
            conn.terminate()
            return describe(e, self._where)
        self._dropped.clear()
        conn.add_termination_listener(self._terminated)
        self._conn = conn
        return None

    def _heard(self, conn: Any, pid: int, channel: str, text: str) -> None:
        result = heard(text, self._token)
        if result is not None and not self._stopping:
            self.received += 1
            self._watchers.tell(result)

    def _terminated(self, conn: Any) -> None:
        if conn is self._conn:
            self._dropped.set()

    async def _run(self) -> None:
        attempt = 0
        while not self._stopping:
            if self._conn is None:
                await asyncio.sleep(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)])
                attempt += 1
                lost = await self._listen()
                if lost is None:
                    attempt = 0
                    self.reconnects += 1
                    self._watchers.link(None)  # back: every watcher catches up from its cursor
                else:
                    self._watchers.link(lost)
                continue
            lost = await self._check(self._conn)
            if lost is not None:
                conn, self._conn = self._conn, None
                if conn is not None and not conn.is_closed():
                    conn.terminate()
                self._watchers.link(lost)

    async def _check(self, conn: asyncpg.Connection) -> str | None:
        """Waits a heartbeat (or until the connection closes); the reason when it is lost."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._dropped.wait(), HEARTBEAT_S)
        if not self._dropped.is_set():
            try:
                await asyncio.wait_for(conn.fetchval("SELECT 1"), ANSWER_S)
                return None
            except TimeoutError:
                return f"PostgreSQL at {self._where} stopped answering"
            except (asyncpg.PostgresError, *CONNECTION_ERRORS) as e:
                return describe(e, self._where)
        return f"lost the connection to PostgreSQL at {self._where}"
