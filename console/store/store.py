"""The Store: one aiosqlite connection that writes (batched, ``BEGIN IMMEDIATE``) and one that
reads (WAL lets the UI read while a batch commits). Nothing is acknowledged before COMMIT."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import aiosqlite
import orjson

from console.model import entry as entries
from console.model.actions import target_name_kinds
from console.model.filters import Filter
from console.model.records import Attempt, Decision, Gap, RoleChange
from console.model.snowflake import RETENTION_MS, SnowflakeFactory, from_ms
from console.model.snowflake import parse as parse_id
from console.model.stored import StoredEntry
from console.store import queries  # integrity (the hash chain): imported where used, browsing needs none
from console.store.connection import check_file, connect, describe, one, prepare, rows
from console.store.errors import StoreError, StoreFullError

Listener = Callable[["IngestResult"], None]

_ENTRY_COLUMNS = (
    "id, guild_id, action_type, actor_id, target_id, reason, created_at, received_at, source, raw, revision"
)


def _now_ms() -> int:
    return int(time.time() * 1000)


class IngestResult:
    """What one committed batch did. ``inserted``/``updated`` hold entry ids.

    A plain class: a dataclass costs ~0.6 ms to define at import, on every start of the console
    (console.model explains why that matters)."""

    __slots__ = ("inserted", "updated", "duplicates", "failures", "guild_ids", "source", "changed")

    def __init__(
        self, *, source: str = "", guild_ids: set[int] | None = None, changed: list[tuple[str, int]] | None = None
    ) -> None:
        self.inserted: list[int] = []
        self.updated: list[int] = []
        self.duplicates = 0
        self.failures = 0
        self.guild_ids: set[int] = set() if guild_ids is None else guild_ids
        #: "gateway" (live) or "backfill"; empty for commits that are not entries.
        self.source = source
        #: Records of other kinds changed in place, as (kind, id): a role change moving on, a gap
        #: closing. (Entries changed in place are in ``updated``.)
        self.changed: list[tuple[str, int]] = [] if changed is None else changed

    def __repr__(self) -> str:
        return "IngestResult(" + ", ".join(f"{k}={getattr(self, k)!r}" for k in self.__slots__) + ")"


#: What quick_check runs (tests swap in a slow statement to prove it can be stopped).
QUICK_CHECK_SQL = "PRAGMA quick_check"


class _Lock:
    """An advisory lock beside the database: one collecting console per file."""

    def __init__(self, path: Path) -> None:
        self.path = path.with_name(path.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as e:
            raise StoreError(f"cannot create lock file {self.path}: {e.strerror or e}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise StoreError(
                f"{self.path.with_suffix('')} is in use by another Audit Console (pid {holder}); "
                "browse it read-only with `audit-console open`"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
                os.close(self._fd)
            self._fd = None


class Store:
    """Audit entries, gaps, names and sync state (decisions and role changes come later)."""

    def __init__(
        self,
        path: Path,
        writer: aiosqlite.Connection | None,
        reader: aiosqlite.Connection,
        lock: _Lock | None,
        clock: Callable[[], int],
    ) -> None:
        self.path = path
        self._w = writer
        self._r = reader
        self._lock = lock
        self._clock = clock
        self._write_lock = asyncio.Lock()
        self._listeners: list[Listener] = []
        #: kind ("user", "role", "channel", "guild") → id → name.
        self._names: dict[str, dict[int, str]] = {}
        self._names_complete = False  # every stored name is in the cache (not only some)
        self.ids = SnowflakeFactory()
        self.closed = False
        #: Why the last write failed (a full disk, an I/O error) until a write commits again: the
        #: console is degraded meanwhile, and the reconciler calls nothing on Discord.
        self.write_failure: str | None = None
        self._write_listeners: list[Callable[[str | None], None]] = []
        self._scan: aiosqlite.Connection | None = None  # see scanner()
        self._scan_opening = asyncio.Lock()

    # -- lifecycle ------------------------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        path: str | Path,
        *,
        readonly: bool = False,
        quick_check: bool = True,
        clock: Callable[[], int] = _now_ms,
        busy_timeout: float = 5.0,
        collector_lock: bool = True,
        names: bool = True,
    ) -> Store:
        """Open (creating and migrating unless ``readonly``). Raises StoreError with one line.

        ``busy_timeout`` (seconds) is how long a statement waits for another program's lock
        before failing with "locked". ``collector_lock`` False writes beside a running
        collector (``role grant`` hands it a request); SQLite serialises the writes.

        ``names`` False: the names cache starts empty, for :meth:`load_names_for` and then
        :meth:`reload_names` (the console's start: a big guild's members take a while to read).
        """
        p = Path(path).expanduser()  # noqa: ASYNC240 - once per open, before any connection exists
        check_file(p, must_exist=readonly, write=not readonly)
        lock = None
        if not readonly and collector_lock:
            # The real file's name: a second console reaching it through a symlink meets the same lock.
            lock = _Lock(p.resolve())
            lock.acquire()
        writer = reader = None
        try:
            busy = f"PRAGMA busy_timeout = {max(0, int(busy_timeout * 1000))}"
            if not readonly:
                writer = await connect(p, readonly=False)
                await writer.execute(busy)
                await prepare(writer, p, readonly=False, quick_check=quick_check)
                await writer.execute(busy)  # prepare() sets its own default
                from console.store import integrity

                try:
                    await integrity.adopt(writer, clock())  # links records older than the chain, once
                except sqlite3.Error as e:
                    raise StoreError(describe(e, p)) from None
            reader = await connect(p, readonly=True)
            await reader.execute(busy)
            await prepare(reader, p, readonly=True, quick_check=quick_check and readonly)
            store = cls(p, writer, reader, lock, clock)
            if names:
                await store._load_names()
            return store
        except StoreError as e:
            await _close_all(writer, reader, lock)
            # One line, always: quick_check can report "*** in database main ***\nPage 3: …".
            raise type(e)(" ".join(str(e).split())) from None
        except BaseException:
            await _close_all(writer, reader, lock)
            raise

    async def close(self) -> None:
        """Close both connections (aiosqlite's thread keeps the process alive otherwise)."""
        if self.closed:
            return
        self.closed = True
        for db in (self._scan, self._r):
            if db is not None:
                # A read still running (an exact count or the sparse index over a million
                # entries: ~1 s) has nobody left to answer, and the close would queue behind it.
                # Writes are never interrupted.
                with contextlib.suppress(Exception):
                    await db.interrupt()
        # Readers first: the writer, closing last, checkpoints and removes the WAL, so a cleanly
        # closed store is one self-contained file (a read-only connection cannot do that).
        for db in (self._scan, self._r, self._w):
            if db is not None:
                with contextlib.suppress(Exception):
                    await db.close()
        if self._lock:
            self._lock.release()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def scanner(self) -> aiosqlite.Connection:
        """A read connection of its own for scans of a whole filter — exact counts, the sparse
        index, the sparkline. At a million entries they read for up to a second, and the page
        fetches and lookups on ``reader`` must not queue behind them (keys waited a second after
        opening a big store). Opened on first use."""
        async with self._scan_opening:
            if self.closed:
                raise ValueError("the store is closed")
            if self._scan is None:
                db = await connect(self.path, readonly=True)
                try:
                    await prepare(db, self.path, readonly=True, quick_check=False)
                except BaseException:
                    await db.close()
                    raise
                self._scan = db
            return self._scan

    @property
    def reader(self) -> aiosqlite.Connection:
        """The read connection (WAL: it reads while the writer commits)."""
        return self._r

    @property
    def readonly(self) -> bool:
        return self._w is None

    def now_ms(self) -> int:
        return self._clock()

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` after every committed batch; returns a function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _notify(self, result: IngestResult) -> None:
        for listener in list(self._listeners):
            listener(result)

    # -- writing --------------------------------------------------------------------------------

    def _writer(self) -> aiosqlite.Connection:
        if self._w is None:
            raise StoreError(f"{self.path} is open read-only")
        return self._w

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` on the writer, rolled back on any error or cancel."""
        db = self._writer()
        async with self._write_lock:
            begin = asyncio.ensure_future(db.execute("BEGIN IMMEDIATE"))
            try:
                await asyncio.shield(begin)
            except asyncio.CancelledError:
                # The BEGIN goes on in aiosqlite's thread: undo it once done, then stay cancelled
                # (otherwise the next writer meets "cannot start a transaction within a transaction").
                with contextlib.suppress(Exception):
                    await begin
                    await db.execute("ROLLBACK")
                raise
            except sqlite3.Error as e:
                raise self._write_error(e) from None
            try:
                yield db
            except BaseException as e:
                with contextlib.suppress(Exception):
                    # Shielded: a cancelled task must never leave the transaction open.
                    await asyncio.shield(db.execute("ROLLBACK"))
                # A big transaction spills pages before COMMIT, so a full disk can fail any
                # statement: it must reach callers as the StoreFullError they handle.
                if isinstance(e, sqlite3.Error) and isinstance(failed := self._write_error(e), StoreFullError):
                    raise failed from None
                raise
            try:
                await asyncio.shield(db.execute("COMMIT"))
            except sqlite3.Error as e:
                with contextlib.suppress(Exception):
                    await db.execute("ROLLBACK")
                raise self._write_error(e) from None
            self._write_state(None)

    def _write_error(self, e: sqlite3.Error) -> StoreError:
        low = str(e).lower()
        if "full" in low or "i/o" in low or "disk" in low:
            failed = StoreFullError(describe(e, self.path))
            self._write_state(str(failed))
            return failed
        return StoreError(describe(e, self.path))

    def add_write_listener(self, listener: Callable[[str | None], None]) -> Callable[[], None]:
        """Told the reason when writes start failing (full disk, I/O error), None when one commits
        again. Returns the unsubscribe function."""
        self._write_listeners.append(listener)
        return lambda: self._write_listeners.remove(listener) if listener in self._write_listeners else None

    def _write_state(self, failure: str | None) -> None:
        if failure != self.write_failure:
            self.write_failure = failure
            for listener in list(self._write_listeners):
                listener(failure)

    async def add_entries(
        self,
        raws: Iterable[Mapping[str, Any]],
        *,
        source: str,
        guild_id: int | None = None,
        received_at: int | None = None,
    ) -> IngestResult:
        """Insert raw entries in one transaction; idempotent on the entry id.

        An entry already stored with other content (Discord updates counts in place) is updated
        and its previous content kept in ``audit_revisions``. Payloads that cannot be keyed go to
        ``parse_failures``. Listeners are told only after COMMIT.
        """
        from console.store import integrity

        now = received_at if received_at is not None else self._clock()
        result = IngestResult(source=source)
        prepared: dict[int, tuple[Any, ...]] = {}
        fts: dict[int, tuple[Any, ...]] = {}
        hashes: dict[int, bytes] = {}
        linked: dict[int, bytes] = {}  # the integrity chain's content hash of each new row
        failures: list[tuple[Any, ...]] = []
        later: list[Mapping[str, Any]] = []  # second copies of an id in this batch
        for n, raw in enumerate(raws):
            if n and n % 50 == 0:
                # Parsing costs ~20 µs a row: give the loop a turn so a 1000-row batch never
                # blocks it for more than a few ms (performance.md I3: p99 lag <= 10 ms).
                await asyncio.sleep(0)
            if isinstance(raw, Mapping) and not isinstance(raw, dict):
                raw = dict(raw)
            try:
                e = entries.parse_entry(raw, guild_id)
                if e.guild_id is None:
                    raise entries.MalformedEntry(f"entry {e.id} has no guild_id")
                raw_json = orjson.dumps(raw, option=orjson.OPT_NON_STR_KEYS).decode()
            except (entries.MalformedEntry, TypeError, orjson.JSONEncodeError) as exc:
                failures.append((guild_id, now, source, str(exc)[:500], _dump_any(raw)))
                continue
            h = entries.content_hash(raw)
            if e.id in hashes:
                # The same entry twice in one batch (a count bumped between gateway and REST):
                # identical, it is a duplicate; changed, it is applied after this batch as an
                # update, so the earlier content is kept as a revision instead of vanishing.
                if hashes[e.id] == h:
                    result.duplicates += 1
                else:
                    later.append(raw)
                continue
            hashes[e.id] = h
            target = parse_id(e.target_id)
            prepared[e.id] = row = (
                e.id,
                e.guild_id,
                e.action_type,
                e.actor_id,
                target,
                e.reason,
                e.created_ms,
                now,
                source,
                raw_json,
                h,
            )
            linked[e.id] = integrity.entry_hash(row[:9], raw_json)
            fts[e.id] = (e.id, e.reason or "", self._fts_names(e), entries.changes_text(e))
            result.guild_ids.add(e.guild_id)
        async with self.transaction() as db:
            existing: dict[int, tuple[bytes, int, str]] = {}
            stored_heads: dict[int, tuple[Any, ...]] = {}  # what an in-place update keeps
            ids = list(prepared)
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                marks = ",".join("?" * len(chunk))
                found = await rows(
                    db,
                    f"SELECT id, content_hash, revision, raw, {integrity.ENTRY_HEAD} FROM audit_entries"
                    f" WHERE id IN ({marks})",
                    chunk,
                )
                for rid, h, rev, old_raw, *head in found:
                    existing[rid] = (h, rev, old_raw)
                    stored_heads[rid] = tuple(head)
            new_rows = [r for i, r in prepared.items() if i not in existing]
            changed = [i for i in existing if existing[i][0] != hashes[i]]
            result.duplicates += len(existing) - len(changed)
            if new_rows:
                await db.executemany(
                    "INSERT INTO audit_entries (id, guild_id, action_type, actor_id, target_id, reason,"
                    " created_at, received_at, source, raw, content_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    new_rows,
                )
                await db.executemany(
                    "INSERT INTO audit_fts (rowid, reason, names, changes) VALUES (?,?,?,?)",
                    [fts[r[0]] for r in new_rows],
                )
                result.inserted = [r[0] for r in new_rows]
            if changed:
                await db.executemany(
                    "INSERT OR IGNORE INTO audit_revisions (entry_id, revision, raw, content_hash, replaced_at)"
                    " VALUES (?,?,?,?,?)",
                    [(i, existing[i][1], existing[i][2], existing[i][0], now) for i in changed],
                )
                await db.executemany(
                    "UPDATE audit_entries SET raw = ?, content_hash = ?, reason = ?, revision = revision + 1"
                    " WHERE id = ?",
                    [(prepared[i][9], hashes[i], prepared[i][5], i) for i in changed],
                )
                await db.executemany("DELETE FROM audit_fts WHERE rowid = ?", [(i,) for i in changed])
                await db.executemany(
                    "INSERT INTO audit_fts (rowid, reason, names, changes) VALUES (?,?,?,?)",
                    [fts[i] for i in changed],
                )
                result.updated = changed
            links: dict[int, list[integrity.Item]] = {}
            for r in new_rows:
                links.setdefault(r[1], []).append((integrity.ENTRY, r[0], 0, linked[r[0]], None))
            for i in changed:
                # Discord changed it in place: the new content is the entry's next link.
                head = list(stored_heads[i])
                head[5] = prepared[i][5]
                links.setdefault(head[1], []).append(
                    (integrity.ENTRY, i, existing[i][1] + 1, integrity.entry_hash(head, prepared[i][9]), None)
                )
            await integrity.append(db, links, now)
            if failures:
                await db.executemany(
                    "INSERT INTO parse_failures (guild_id, received_at, source, error, raw) VALUES (?,?,?,?,?)",
                    failures,
                )
                result.failures = len(failures)
        if result.inserted or result.updated or result.failures:
            self._notify(result)
        if later:
            more = await self.add_entries(later, source=source, guild_id=guild_id, received_at=received_at)
            result.updated = [*result.updated, *more.updated]
            result.inserted = [*result.inserted, *more.inserted]
            result.duplicates += more.duplicates
            result.failures += more.failures
        return result

    def _fts_names(self, e: entries.AuditEntry) -> str:
        found = []
        if e.actor_id is not None:
            found.append(self.name_of("user", e.actor_id) or "")
        target = parse_id(e.target_id)
        if target is not None:
            for kind in target_name_kinds(e.action_type):
                name = self.name_of(kind, target)
                if name:
                    found.append(name)
                    break
        return " ".join(n for n in found if n)

    # -- sync state and gaps --------------------------------------------------------------------

    async def hwm(self, guild_id: int) -> int | None:
        row = await one(self._r, "SELECT hwm FROM sync_state WHERE guild_id = ?", (guild_id,))
        return None if row is None or row[0] is None else int(row[0])

    async def set_hwm(self, guild_id: int, hwm: int) -> None:
        """Move the high-water mark; called only after the entries below it were committed."""
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO sync_state (guild_id, hwm, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (guild_id) DO UPDATE SET hwm = max(coalesce(hwm, 0), excluded.hwm),"
                " updated_at = excluded.updated_at",
                (guild_id, hwm, self._clock()),
            )

    async def live_until(self, guild_id: int) -> int | None:
        row = await one(self._r, "SELECT live_until FROM sync_state WHERE guild_id = ?", (guild_id,))
        return None if row is None or row[0] is None else int(row[0])

    async def set_live_until(self, guild_ids: Iterable[int], ms: int) -> None:
        """Remember that the gateway was delivering up to ``ms`` (where the next gap starts)."""
        async with self.transaction() as db:
            await db.executemany(
                "INSERT INTO sync_state (guild_id, live_until, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (guild_id) DO UPDATE SET live_until = max(coalesce(live_until, 0), excluded.live_until),"
                " updated_at = excluded.updated_at",
                [(g, ms, ms) for g in guild_ids],
            )

    async def max_entry_id(self, guild_id: int) -> int | None:
        row = await one(self._r, "SELECT max(id) FROM audit_entries WHERE guild_id = ?", (guild_id,))
        return None if row is None or row[0] is None else int(row[0])

    async def open_gap(self, guild_id: int, reason: str, *, from_id: int | None, started_at: int | None) -> Gap:
        now = self._clock()
        gap = Gap(
            id=self.ids.make(now),
            guild_id=guild_id,
            reason=reason,
            from_id=from_id,
            started_at=started_at,
            detected_at=now,
            status="open",
        )
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO gaps (id, guild_id, reason, from_id, started_at, detected_at, status)"
                " VALUES (?,?,?,?,?,?,?)",
                (gap.id, guild_id, reason, from_id, started_at, now, "open"),
            )
        self._notify(IngestResult(guild_ids={guild_id}))
        return gap

    async def close_gap(
        self,
        gap: Gap,
        *,
        status: str,
        recovered: int,
        refreshed: int = 0,
        beyond_retention_ms: int = 0,
        error: str | None = None,
    ) -> Gap:
        now = self._clock()
        async with self.transaction() as db:
            await db.execute(
                "UPDATE gaps SET status = ?, recovered = ?, refreshed = ?, beyond_retention_ms = ?,"
                " error = ?, ended_at = ? WHERE id = ?",
                (status, recovered, refreshed, beyond_retention_ms, error, now, gap.id),
            )
        self._notify(IngestResult(guild_ids={gap.guild_id}, changed=[("gap", gap.id)]))
        return gap.with_(
            status=status,
            recovered=recovered,
            refreshed=refreshed,
            beyond_retention_ms=beyond_retention_ms,
            error=error,
            ended_at=now,
        )

    async def gaps(self, guild_id: int | None = None) -> list[Gap]:
        sql = "SELECT " + Gap.COLUMNS + " FROM gaps"
        args: tuple[Any, ...] = ()
        if guild_id is not None:
            sql += " WHERE guild_id = ?"
            args = (guild_id,)
        found = await rows(self._r, sql + " ORDER BY id", args)
        return [Gap.from_row(r) for r in found]

    # -- names and guild state ------------------------------------------------------------------

    async def _load_names(self) -> None:
        found = await rows(self._r, "SELECT kind, id, name FROM names")
        names: dict[str, dict[int, str]] = {}
        for k, i, n in found:
            names.setdefault(k, {})[i] = n
        self._names = names
        self._names_complete = True

    async def load_names_for(self, wanted: Iterable[tuple[str, int | None]]) -> None:
        """Add these names (kind, id) to the cache, and every guild's: what a first screen shows,
        read by key instead of the whole table."""
        if self._names_complete:
            return
        missing = [(k, i) for k, i in wanted if i is not None and i not in self._names.get(k, {})]
        found: list[Any] = []
        for sql, args in queries.names_by_key(missing):
            found += await rows(self._r, sql, args)
        for k, i, n in found:
            self._names.setdefault(k, {})[i] = n

    @property
    def names_complete(self) -> bool:
        """Every stored name is cached (not only those :meth:`load_names_for` read)."""
        return self._names_complete

    async def reload_names(self) -> None:
        """Re-read the names cache (another process may have learnt new names)."""
        await self._load_names()

    def name_of(self, kind: str, ident: int | None) -> str | None:
        """Cached display name (raw, unsanitised)."""
        return None if ident is None else self._names.get(kind, {}).get(ident)

    def names(self, kind: str) -> Mapping[int, str]:
        """Every cached name of one kind, read-only and without a copy (it is read per keystroke
        and per header repaint; a copy of a large guild's members would cost each time)."""
        return MappingProxyType(self._names.get(kind, {}))

    async def upsert_names(self, guild_id: int | None, kind: str, items: Iterable[tuple[int, str]]) -> int:
        """Remember names; returns how many changed. Writes only what changed."""
        if not self._names_complete:  # "unchanged" needs every stored name at hand
            await self._load_names()
        known = self._names.setdefault(kind, {})
        changed = [(i, n) for i, n in items if isinstance(n, str) and known.get(i) != n]
        if not changed:
            return 0
        now = self._clock()
        async with self.transaction() as db:
            await db.executemany(
                "INSERT INTO names (kind, id, guild_id, name, updated_at) VALUES (?,?,?,?,?)"
                " ON CONFLICT (kind, id) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at",
                [(kind, i, guild_id, n, now) for i, n in changed],
            )
        for i, n in changed:
            known[i] = n
        return len(changed)

    async def save_guild_state(self, guild_id: int, snapshot: Mapping[str, Any]) -> None:
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO guild_state (guild_id, snapshot, updated_at) VALUES (?,?,?)"
                " ON CONFLICT (guild_id) DO UPDATE SET snapshot = excluded.snapshot, updated_at = excluded.updated_at",
                (guild_id, orjson.dumps(snapshot, option=orjson.OPT_NON_STR_KEYS).decode(), self._clock()),
            )

    async def guild_ids_with_state(self) -> list[int]:
        """The guilds whose state (roles, members, channels) the store holds."""
        return [int(r[0]) for r in await rows(self._r, "SELECT guild_id FROM guild_state ORDER BY guild_id")]

    async def guild_state(self, guild_id: int) -> dict[str, Any] | None:
        row = await one(self._r, "SELECT snapshot FROM guild_state WHERE guild_id = ?", (guild_id,))
        return None if row is None else orjson.loads(row[0])

    # -- reading --------------------------------------------------------------------------------

    async def page(
        self, flt: Filter = Filter(), *, before: int | None = None, after: int | None = None, limit: int = 100
    ) -> list[StoredEntry]:
        """One keyset page of audit entries in the filter's order (newest first by default)."""
        sql, args = queries.entry_page(flt, before=before, after=after, limit=limit, columns=_ENTRY_COLUMNS)
        found = await rows(self._r, sql, args)
        return [StoredEntry.from_row(r) for r in found]

    async def count(self, flt: Filter = Filter()) -> int:
        sql, args = queries.entry_count(flt)
        row = await one(self._r, sql, args)
        return int(row[0]) if row else 0

    async def get_entry(self, entry_id: int) -> StoredEntry | None:
        row = await one(self._r, f"SELECT {_ENTRY_COLUMNS} FROM audit_entries WHERE id = ?", (entry_id,))
        return None if row is None else StoredEntry.from_row(row)

    async def iter_entries(self, flt: Filter = Filter(), *, batch: int = 1000) -> AsyncIterator[list[StoredEntry]]:
        """Every entry matching ``flt`` in pages (keyset, so memory stays flat)."""
        before = after = None
        while True:
            page = await self.page(flt, before=before, after=after, limit=batch)
            if not page:
                return
            yield page
            if len(page) < batch:
                return
            if flt.newest_first:
                before = page[-1].id
            else:
                after = page[-1].id

    # -- decisions and role changes (their producers: the policy engine and the reconciler) ----

    async def record_decision(self, d: Decision) -> None:
        from console.store import integrity

        async with self.transaction() as db:
            await db.execute(
                f"INSERT INTO decisions ({Decision.COLUMNS}) VALUES ({','.join('?' * 16)})",
                (
                    d.id,
                    d.guild_id,
                    d.created_at,
                    d.actor_id,
                    d.actor_name,
                    orjson.dumps(d.actor_roles).decode(),
                    int(d.actor_admin),
                    int(d.actor_owner),
                    d.capability,
                    d.resource_type,
                    d.resource_id,
                    d.source,
                    d.result,
                    d.reason_code,
                    orjson.dumps(d.path).decode(),
                    d.policy_version,
                ),
            )
            await integrity.link_decision(db, d.id, self._clock())
        self._notify(IngestResult(guild_ids={d.guild_id}))

    async def start_break_glass(
        self, guild_id: int, user_id: int, *, session_id: int, started_ms: int, expires_ms: int, decision_id: int | None
    ) -> None:
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO break_glass (id, guild_id, user_id, started_at, expires_at, decision_id)"
                " VALUES (?,?,?,?,?,?)",
                (session_id, guild_id, user_id, started_ms, expires_ms, decision_id),
            )

    async def end_break_glass(self, guild_id: int, user_id: int, *, ended_ms: int, ended_by: int) -> int:
        """End every session of ``user_id`` still running at ``ended_ms``; how many there were."""
        async with self.transaction() as db:
            cur = await db.execute(
                "UPDATE break_glass SET ended_at = ?, ended_by = ?"
                " WHERE guild_id = ? AND user_id = ? AND ended_at IS NULL AND expires_at > ?",
                (ended_ms, ended_by, guild_id, user_id, ended_ms),
            )
            return cur.rowcount

    async def break_glass_session(self, guild_id: int, user_id: int) -> tuple[int, int, int | None] | None:
        """The newest session of ``user_id``: (started, expires, ended) in ms, or None."""
        row = await one(
            self._r,
            "SELECT started_at, expires_at, ended_at FROM break_glass WHERE guild_id = ? AND user_id = ?"
            " ORDER BY id DESC LIMIT 1",
            (guild_id, user_id),
        )
        return None if row is None else (int(row[0]), int(row[1]), None if row[2] is None else int(row[2]))

    async def get_decision(self, decision_id: int) -> Decision | None:
        row = await one(self._r, f"SELECT {Decision.COLUMNS} FROM decisions WHERE id = ?", (decision_id,))
        return None if row is None else Decision.from_row(row)

    async def record_role_change(self, c: RoleChange) -> None:
        """Insert or replace a role change (its state moves as the reconciler works)."""
        from console.store import integrity

        async with self.transaction() as db:
            await db.execute(
                f"INSERT OR REPLACE INTO role_changes ({RoleChange.COLUMNS}) "
                f"VALUES ({','.join('?' * len(_RC_FIELDS))})",
                tuple(getattr(c, name) for name in _RC_FIELDS),
            )
            if c.final:
                await integrity.link_role_change(db, c.id, self._clock())
        self._notify(IngestResult(guild_ids={c.guild_id}, changed=[("role_change", c.id)]))

    async def record_attempt(self, a: Attempt) -> None:
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO role_change_attempts (change_id, at, http_status, latency_ms, observed, error)"
                " VALUES (?,?,?,?,?,?)",
                (a.change_id, a.at, a.http_status, a.latency_ms, a.observed, a.error),
            )

    async def role_change(self, change_id: int) -> RoleChange | None:
        row = await one(self._r, f"SELECT {RoleChange.COLUMNS} FROM role_changes WHERE id = ?", (change_id,))
        return None if row is None else RoleChange.from_row(row)

    async def unposted_role_changes(self, limit: int = 100) -> list[RoleChange]:
        """Final changes whose audit message is still to be posted (or failed and is retried)."""
        found = await rows(
            self._r,
            f"SELECT {RoleChange.COLUMNS} FROM role_changes WHERE message_state IN ('pending', 'failed')"
            " ORDER BY id LIMIT ?",
            (limit,),
        )
        return [RoleChange.from_row(r) for r in found]

    async def role_entries(self, guild_id: int, member_id: int, after_id: int) -> list[StoredEntry]:
        """MEMBER_ROLE_UPDATE entries about ``member_id`` newer than ``after_id`` (oldest first):
        where the reconciler finds who undid a change."""
        found = await rows(
            self._r,
            f"SELECT {_ENTRY_COLUMNS} FROM audit_entries WHERE guild_id = ? AND target_id = ?"
            " AND action_type = 25 AND id > ? ORDER BY id LIMIT 50",
            (guild_id, member_id, after_id),
        )
        return [StoredEntry.from_row(r) for r in found]

    async def setting(self, key: str) -> str | None:
        row = await one(self._r, "SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else str(row[0])

    async def set_setting(self, key: str, value: str | None) -> None:
        async with self.transaction() as db:
            if value is None:
                await db.execute("DELETE FROM meta WHERE key = ?", (key,))
            else:
                await db.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?)"
                    " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (key, value),
                )

    async def probe_write(self) -> None:
        """A write that leaves nothing behind: whether a commit goes through now (StoreFullError
        if not). Used while degraded, when nothing else may be writing."""
        async with self.transaction() as db:
            await db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('write_probe', '1')")
            await db.execute("DELETE FROM meta WHERE key = 'write_probe'")

    async def pending_role_changes(self, limit: int = 200) -> list[RoleChange]:
        found = await rows(
            self._r,
            f"SELECT {RoleChange.COLUMNS} FROM role_changes WHERE state = 'pending' ORDER BY id LIMIT ?",
            (limit,),
        )
        return [RoleChange.from_row(r) for r in found]

    async def attempts(self, change_id: int) -> list[Attempt]:
        found = await rows(
            self._r,
            f"SELECT {Attempt.COLUMNS} FROM role_change_attempts WHERE change_id = ? ORDER BY id",
            (change_id,),
        )
        return [Attempt.from_row(r) for r in found]

    async def revisions(self, entry_id: int) -> list[tuple[int, str, int]]:
        found = await rows(
            self._r,
            "SELECT revision, raw, replaced_at FROM audit_revisions WHERE entry_id = ? ORDER BY revision",
            (entry_id,),
        )
        return [tuple(r) for r in found]  # type: ignore[misc]

    async def add_parse_failure(self, guild_id: int | None, source: str, error: str, raw: bytes) -> None:
        """Keep something Discord sent that is not even JSON (a gateway frame, a REST page).

        ``raw`` is stored as UTF-8 text with undecodable bytes as ``\\xNN`` escapes."""
        text = raw.decode("utf-8", "backslashreplace")
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO parse_failures (guild_id, received_at, source, error, raw) VALUES (?,?,?,?,?)",
                (guild_id, self._clock(), source, error[:500], text),
            )

    async def parse_failures(self) -> list[tuple[int, str, str]]:
        found = await rows(self._r, "SELECT id, error, raw FROM parse_failures ORDER BY id")
        return [tuple(r) for r in found]  # type: ignore[misc]

    async def quick_check(self) -> str | None:
        """SQLite's own ``quick_check``: None when healthy, else the first problem (one line).

        It reads the whole file (seconds at a million entries), so it gets a connection of its
        own: the feed's queries must not queue behind it.
        """
        db = await connect(self.path, readonly=True)
        try:
            found = await rows(db, QUICK_CHECK_SQL)
        except sqlite3.DatabaseError as e:
            return str(e)
        except asyncio.CancelledError:
            # The check runs on in aiosqlite's thread, and closing queues behind it: quitting the
            # console a moment after opening a big store waited seconds for it. Stop it now.
            await db.interrupt()
            raise
        finally:
            await db.close()
        problems = [" ".join(str(r[0]).split()) for r in found if r[0] != "ok"]
        return problems[0] if problems else None

    async def data_version(self) -> int:
        """Changes whenever another connection (another process's collector) commits."""
        row = await one(self._r, "PRAGMA data_version")
        return int(row[0]) if row else 0

    async def open_gap_count(self) -> int:
        row = await one(self._r, "SELECT count(*) FROM gaps WHERE status IN ('open', 'failed')")
        return int(row[0]) if row else 0

    async def stats(self) -> dict[str, Any]:
        total, oldest, newest = await one(self._r, "SELECT count(*), min(id), max(id) FROM audit_entries")  # type: ignore[misc]
        (open_gaps,) = await one(self._r, "SELECT count(*) FROM gaps WHERE status IN ('open', 'failed')")  # type: ignore[misc]
        return {"entries": total, "oldest_id": oldest, "newest_id": newest, "open_gaps": open_gaps}

    async def kept_since(self) -> int | None:
        """Retention's newest cut-off (ms): everything after it is kept (None: nothing pruned)."""
        from console.store import integrity

        return await integrity.reach(self._r)

    def retention_floor_id(self, now_ms: int | None = None) -> int:
        """The oldest entry id Discord still serves (45 days)."""
        return from_ms((now_ms if now_ms is not None else self._clock()) - RETENTION_MS)


_RC_FIELDS = tuple(name.strip() for name in RoleChange.COLUMNS.split(","))


async def _close_all(
    writer: aiosqlite.Connection | None, reader: aiosqlite.Connection | None, lock: _Lock | None
) -> None:
    for db in (reader, writer):
        if db is not None:
            with contextlib.suppress(Exception):
                await db.close()
    if lock:
        lock.release()


def _dump_any(raw: Any) -> str:
    try:
        return orjson.dumps(raw, option=orjson.OPT_NON_STR_KEYS).decode()
    except (TypeError, orjson.JSONEncodeError):
        return repr(raw)
