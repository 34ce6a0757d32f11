"""The store's interface: everything the rest of the console may ask of a store, and what it may
count on. The SQLite store (``console/store/sqlite``) implements it; a second backend implements
the same, and the store tests are written against it.

What holds for every method unless its docstring says otherwise:

- **Errors.** A store that cannot be read or written raises :class:`StoreError` with one line fit
  to show a person. A write that failed for lack of space or an I/O error raises
  :class:`StoreFullError`; nothing of that write was committed, the store reports the reason in
  :attr:`AuditStore.write_failure` and tells its write listeners, until a write commits again.
  Writing to a store opened read-only raises :class:`StoreError`.
- **Durability.** A write method returns once its transaction has committed: what it wrote is
  durable then (and not before). One call is one transaction: it all commits or none of it does.
- **Listeners.** Listeners (:meth:`AuditStore.add_listener`) are told after the commit, never
  before; a write that changed nothing tells nobody.
- **Ids** are Discord snowflakes (time ordered); the store's own records get theirs from
  :attr:`AuditStore.ids`. Times are Unix milliseconds (UTC).
- **Names** are as Discord sent them: raw, unsanitised.
- **Chain.** Entries, decisions, final role changes and notes are linked into the guild's integrity
  chain (``chain.py``) in the same transaction that stores them.

What is not here yet: the export and ``verify`` read a SQLite store's file directly
(``export.py``, ``verify.py``, with their own connections and worker processes); a second backend
brings its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, Self

from console.model.filters import Filter
from console.store.errors import StoreError, StoreFullError
from console.store.results import IngestResult, Ref

if TYPE_CHECKING:
    from console.model.alert import Alert
    from console.model.member import MemberCounts
    from console.model.notes import Note
    from console.model.records import Attempt, Decision, Gap, RoleChange
    from console.model.retention import Retention
    from console.model.snowflake import SnowflakeFactory
    from console.model.stored import StoredEntry
    from console.store.period import PeriodCounts
    from console.store.retention import PruneResult

__all__ = ["AuditStore", "IngestResult", "Ref", "StoreError", "StoreFullError"]

Listener = Callable[[IngestResult], None]


class AuditStore(Protocol):
    """An open store of one console's records (see the module's docstring for what every method
    promises). Opening is the backend's (``Store.open`` for SQLite): it creates and migrates the
    store unless read-only, and raises StoreError when it cannot."""

    #: Makes the ids of the store's own records (gaps, alerts, decisions, role changes).
    ids: SnowflakeFactory

    # -- lifecycle and state ----------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True once :meth:`close` began; reads after it raise ValueError or StoreError."""
        ...

    @property
    def readonly(self) -> bool:
        """Opened for reading only: every write raises StoreError."""
        ...

    @property
    def write_failure(self) -> str | None:
        """Why the last write failed (a full disk, an I/O error) until a write commits again: the
        console is degraded meanwhile. None when writes go through."""
        ...

    async def close(self) -> None:
        """Release the store; idempotent. Reads still running are stopped, writes are not."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, *exc: object) -> None:
        """:meth:`close`."""
        ...

    def now_ms(self) -> int:
        """The store's clock (tests fix it): the time it stamps on what it writes."""
        ...

    async def check_leading(self) -> None:
        """Before a side effect outside the store (a Discord role call): DeposedError when another
        collector took over this collecting store, read from the store now, not remembered
        (PostgreSQL's leadership epoch). Stores without leadership (SQLite, read-only): nothing."""
        ...

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` after every committed batch that changed something, in the writing
        task, with what changed. Returns a function that unsubscribes (idempotent)."""
        ...

    async def watch(
        self, callback: Listener, on_link: Callable[[str | None], None] | None = None
    ) -> Callable[[], None]:
        """Follow every commit to the store, wherever it was made; returns once following (a
        commit after that is never missed) with a function that unsubscribes (idempotent).

        - This store object's own batches reach ``callback`` as they reach :meth:`add_listener`'s
          listeners, once each (never again as another writer's).
        - Commits by anyone else — another store object, process or machine — reach it as an
          :class:`IngestResult` with ``elsewhere`` set and ``kinds`` saying what changed (empty:
          not known): at most the batch's lowest and newest entry ids in ``inserted``, the
          records changed in place in ``changed`` (when few). Several commits may come as one.
          Whoever is told re-reads from its own cursor (a keyset read of what is newer): the
          notification says *that* something changed, the read says *what*.
        - ``on_link`` is told a reason when the store can no longer follow other writers (its
          server lost), and None once it follows again; ``callback`` is then told to catch up
          (``elsewhere``, no ``kinds``), because what was committed meanwhile was told to nobody.

        How others' commits are learnt is the backend's: SQLite polls its ``data_version`` (a
        read-only store only: a writing one holds the collector's lock), PostgreSQL listens for
        the one notification each writing transaction sends (``docs/postgresql.md``)."""
        ...

    def add_write_listener(self, listener: Callable[[str | None], None]) -> Callable[[], None]:
        """Told the reason when writes start failing, None when one commits again (only on a
        change). Returns the unsubscribe function."""
        ...

    # -- audit entries ------------------------------------------------------------------------------

    async def add_entries(
        self,
        raws: Iterable[Mapping[str, Any]],
        *,
        source: str,
        guild_id: int | None = None,
        received_at: int | None = None,
    ) -> IngestResult:
        """Store raw audit entries as Discord sent them, in one transaction; idempotent on the
        entry id. ``source`` is "gateway" or "backfill"; ``guild_id`` is for REST pages, whose
        entries do not name their guild.

        An entry stored before with other content (Discord updates some in place) is updated and
        its previous content kept as a revision (:meth:`revisions`); the same content again is a
        duplicate. A payload that cannot be read as an entry is kept as a parse failure. Returns
        the ids inserted and updated, the duplicates and failures counted. StoreFullError: none
        of the batch was stored."""
        ...

    async def page(
        self, flt: Filter = Filter(), *, before: int | None = None, after: int | None = None, limit: int = 100
    ) -> list[StoredEntry]:
        """One keyset page of audit entries in the filter's order (newest first by default),
        strictly below ``before`` or above ``after``."""
        ...

    async def count(self, flt: Filter = Filter()) -> int:
        """How many audit entries match ``flt``."""
        ...

    async def get_entry(self, entry_id: int) -> StoredEntry | None:
        """The entry, or None when it is not stored."""
        ...

    def iter_entries(self, flt: Filter = Filter(), *, batch: int = 1000) -> AsyncIterator[list[StoredEntry]]:
        """Every entry matching ``flt`` in pages of ``batch``, in the filter's order (memory
        stays flat whatever the count)."""
        ...

    async def role_entries(self, guild_id: int, member_id: int, after_id: int) -> list[StoredEntry]:
        """MEMBER_ROLE_UPDATE entries about ``member_id`` newer than ``after_id``, oldest first
        (at most 50): where the reconciler finds who undid a change."""
        ...

    async def raw_entries(self, ids: Iterable[int], action_types: Iterable[int]) -> list[tuple[str, int]]:
        """(raw JSON, guild id) of the stored entries among ``ids`` whose action type is one of
        ``action_types``, in id order: what the alert rules read of new entries."""
        ...

    async def max_entry_id(self, guild_id: int) -> int | None:
        """The newest stored entry's id in the guild, None when it has none."""
        ...

    async def revisions(self, entry_id: int) -> list[tuple[int, str, int]]:
        """An entry's earlier contents: (revision, raw JSON, replaced at), oldest first."""
        ...

    async def add_parse_failure(self, guild_id: int | None, source: str, error: str, raw: bytes) -> None:
        """Keep something Discord sent that is not even JSON (stored as UTF-8 text with
        undecodable bytes escaped; the error cut to 500 characters)."""
        ...

    async def parse_failures(self) -> list[tuple[int, str, str]]:
        """Every kept parse failure: (id, error, raw), oldest first."""
        ...

    # -- the timeline of every kind of record (what the feed browses) -----------------------------

    async def timeline_page(
        self, flt: Filter, *, anchor: int | None = None, offset: int = 0, limit: int = 100
    ) -> list[Ref]:
        """``limit`` records starting ``offset`` records past ``anchor`` (inclusive) in the
        filter's order, across entries, decisions, role changes and gaps (ids interleave)."""
        ...

    async def timeline_records(self, refs: Sequence[Ref]) -> list[Any]:
        """The records (StoredEntry, Decision, RoleChange, Gap) for ``refs``, in their order;
        those no longer stored are left out."""
        ...

    async def timeline_count(
        self, flt: Filter, *, newer_than: int | None = None, up_to: int | None = None, cap: int | None = None
    ) -> int:
        """How many records match (``newer_than``: only those before that id in the filter's
        order; ``up_to``: only that id and those after it); with ``cap`` counting stops there,
        cheap at any store size."""
        ...

    async def timeline_total(self, flt: Filter) -> int:
        """The exact count of a whole filter: may read for a while on a big store, and never
        holds up the page reads above."""
        ...

    async def timeline_index(self, flt: Filter, every: int = 1000) -> tuple[int, list[int]]:
        """(total, the id of every ``every``-th record from the start), for jumps. Like
        :meth:`timeline_total`, it never holds up the page reads."""
        ...

    async def activity(self, flt: Filter, *, start_ms: int, end_ms: int, buckets: int) -> list[int]:
        """Records matching ``flt`` per time bucket in [start_ms, end_ms): ``buckets`` counts."""
        ...

    async def member_counts(self, guild_id: int, member_id: int, *, cap: int | None = None) -> MemberCounts:
        """What the member view counts about one person in one guild (the timeline itself is
        :meth:`timeline_page` with ``Filter.member_ids``): per group of actions the entries they
        did and those others did to them; the timeout changes among them (newest first); the
        policy's decisions on their requests by result; the console's role changes they asked
        for and those aimed at them. With ``cap`` each count stops there (cheap at any size)."""
        ...

    # -- sync state and gaps ------------------------------------------------------------------------

    async def hwm(self, guild_id: int) -> int | None:
        """The guild's high-water mark: every entry up to it was collected (None: none yet)."""
        ...

    async def set_hwm(self, guild_id: int, hwm: int) -> None:
        """Move the high-water mark forward (never back); call only after the entries below it
        were committed."""
        ...

    async def live_until(self, guild_id: int) -> int | None:
        """Until when (ms) the gateway was delivering the guild's entries; None if never."""
        ...

    async def set_live_until(self, guild_ids: Iterable[int], ms: int) -> None:
        """Remember that the gateway was delivering up to ``ms`` (never moves back)."""
        ...

    async def open_gap(self, guild_id: int, reason: str, *, from_id: int | None, started_at: int | None) -> Gap:
        """Record a new open gap (where entries may be missing) and return it; listeners told."""
        ...

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
        """Record how a gap's recovery ended; returns the gap as stored. Listeners told."""
        ...

    async def gaps(self, guild_id: int | None = None) -> list[Gap]:
        """Every gap (of one guild, or all), oldest first."""
        ...

    async def open_gap_count(self) -> int:
        """Gaps still open or whose recovery failed."""
        ...

    # -- names and guild state ----------------------------------------------------------------------

    @property
    def names_complete(self) -> bool:
        """Every stored name is cached (not only those :meth:`load_names_for` read)."""
        ...

    def name_of(self, kind: str, ident: int | None) -> str | None:
        """The cached name of a "user", "role", "channel" or "guild"; None if unknown. No I/O."""
        ...

    def names(self, kind: str) -> Mapping[int, str]:
        """Every cached name of one kind: a read-only live view, not a copy. No I/O."""
        ...

    async def load_names_for(self, wanted: Iterable[tuple[str, int | None]]) -> None:
        """Add these names (kind, id), and every guild's, to the cache: what a first screen shows,
        without reading every name. Does nothing once the cache is complete."""
        ...

    async def reload_names(self) -> None:
        """Re-read every name (another process may have learnt new ones); completes the cache."""
        ...

    async def upsert_names(self, guild_id: int | None, kind: str, items: Iterable[tuple[int, str]]) -> int:
        """Remember names; writes only those that changed and returns how many did."""
        ...

    async def name_history(self, user_id: int) -> list[tuple[str, str, int, int]]:
        """Every username (kind "user") and display name (kind "member") the person went by:
        (kind, name, first seen, last seen) in ms, oldest first. A name is first seen when the
        store first wrote it and last seen when it was replaced (or last written, while it is
        still the name); raw, unsanitised."""
        ...

    async def save_guild_state(self, guild_id: int, snapshot: Mapping[str, Any]) -> None:
        """Replace the guild's state snapshot (roles, members, channels as JSON-able data)."""
        ...

    async def guild_state(self, guild_id: int) -> dict[str, Any] | None:
        """The guild's last saved snapshot, or None."""
        ...

    async def guild_ids_with_state(self) -> list[int]:
        """The guilds with a saved snapshot, in id order."""
        ...

    # -- decisions, break-glass and role changes --------------------------------------------------

    async def record_decision(self, d: Decision) -> None:
        """Store a policy decision (its id is new); listeners told."""
        ...

    async def get_decision(self, decision_id: int) -> Decision | None: ...

    async def last_decision_id(self) -> int:
        """The newest decision's id, 0 when there is none."""
        ...

    async def decisions_after(self, after_id: int, limit: int = 1000) -> list[Decision]:
        """Decisions with an id above ``after_id``, oldest first, at most ``limit``."""
        ...

    async def allowed_before(self, d: Decision) -> bool:
        """Whether the same person was allowed the same capability in the guild before ``d``."""
        ...

    async def first_decision_ms(self, guild_id: int) -> int | None:
        """When the guild's stored decisions begin; None when it has none."""
        ...

    async def start_break_glass(
        self, guild_id: int, user_id: int, *, session_id: int, started_ms: int, expires_ms: int, decision_id: int | None
    ) -> None:
        """Record a break-glass session."""
        ...

    async def end_break_glass(self, guild_id: int, user_id: int, *, ended_ms: int, ended_by: int) -> int:
        """End every session of ``user_id`` still running at ``ended_ms``; how many there were."""
        ...

    async def break_glass_session(self, guild_id: int, user_id: int) -> tuple[int, int, int | None] | None:
        """The newest session of ``user_id``: (started, expires, ended or None), or None."""
        ...

    async def last_break_glass_id(self) -> int:
        """The newest break-glass session's id, 0 when there is none."""
        ...

    async def break_glass_after(self, after_id: int) -> list[tuple[int, int, int, int, int | None]]:
        """Sessions with an id above ``after_id``, oldest first: (id, guild, user, expires,
        decision id or None)."""
        ...

    async def record_role_change(self, c: RoleChange) -> None:
        """Insert or replace a role change (its state moves as the reconciler works); a final
        state is linked into the chain once per distinct content. Listeners told."""
        ...

    async def role_change(self, change_id: int) -> RoleChange | None: ...

    async def cancel_request(self, change_id: int, by: int | None, at_ms: int, *, announce: bool) -> bool:
        """Cancel a pending change from outside the process carrying it out (a moderator's console
        on a team store): the row moves to cancelled, linked into the chain, only while it is still
        pending; whether it did. The collector's reconciler drops it when it next reads the store.
        ``announce``: its audit message is to be posted (the guild has an audit channel)."""
        ...

    async def pending_role_changes(self, limit: int = 200) -> list[RoleChange]:
        """Role changes still to carry out, oldest first."""
        ...

    async def collector_active(self, guild_id: int | None = None) -> bool:
        """Whether a collector holds this store now, to carry out the pending requests of
        ``guild_id`` (None: of any guild). PostgreSQL: this store leads, or another process holds
        the collector lock: the unsharded one, or that of the shard group holding the guild.
        SQLite: always True (a file's requests are written only by or beside its running
        collector)."""
        ...

    async def collectors_note(self) -> str | None:
        """Who collects into this store, for the header of a console that does not collect:
        PostgreSQL, ``collector HOST pid N since …`` or ``no collector running``; None on SQLite
        (one collector per file) and on the collecting store itself."""
        ...

    async def unposted_role_changes(self, limit: int = 100) -> list[RoleChange]:
        """Final changes whose audit message is still to be posted (or failed), oldest first."""
        ...

    async def record_attempt(self, a: Attempt) -> None:
        """Record one try at carrying out a role change."""
        ...

    async def attempts(self, change_id: int) -> list[Attempt]:
        """A role change's attempts, oldest first."""
        ...

    # -- notes --------------------------------------------------------------------------------------

    async def add_note(self, note: Note) -> None:
        """Append a note action (an add, an edit that supersedes, a removal that keeps the text;
        ``console/model/notes.py``) and link it into the chain; never changes a stored note.
        NoteError (a ValueError) for one the store may not keep. Listeners are told the record
        it is on as changed in place."""
        ...

    async def notes(self, record_ids: Iterable[int]) -> dict[int, list[Note]]:
        """Every stored note action on these records, by record id, oldest first (edits and
        removals included: :func:`console.model.notes.current` says what shows)."""
        ...

    async def member_notes(self, guild_id: int, member_id: int) -> list[Note]:
        """The current notes about a member, oldest first: on the records involving them (the
        member view's timeline) or written from their view."""
        ...

    # -- alerts -------------------------------------------------------------------------------------

    async def save_alert(self, alert: Alert) -> Alert:
        """Store an alert; returns it with its id (a snowflake of when it was raised)."""
        ...

    async def set_alert_posted(self, alert_id: int, posted: str) -> None:
        """Record how the alert's channel post went ("posted" or the last error)."""
        ...

    async def alerts(self, *, limit: int = 500, after_id: int | None = None) -> list[Alert]:
        """Newest first, at most ``limit``; with ``after_id`` only those raised after it. A
        store from before alerts existed has none (an empty list, not an error); StoreError when
        the store cannot be read."""
        ...

    # -- reports ------------------------------------------------------------------------------------

    async def period_counts(self, since_ms: int, until_ms: int, guild_ids: Iterable[int] = ()) -> PeriodCounts:
        """The grouped counts of ``since_ms <= time < until_ms`` over ``guild_ids`` (every guild
        when empty), as :class:`console.store.period.PeriodCounts` describes them."""
        ...

    # -- retention ----------------------------------------------------------------------------------

    async def prune(
        self,
        retention: Retention,
        *,
        dry_run: bool = False,
        chunk: int = 2000,
        guild_ids: Iterable[int] | None = None,
    ) -> list[PruneResult]:
        """Remove every record outside its guild's retention window, never one inside it, and
        say so in the chain. Per guild, in several transactions of at most ``chunk`` rows (a
        collector's writes interleave): an interruption anywhere leaves a store that verifies,
        and the next run finishes the job. Listeners are told per guild pruned. Returns what was
        (or, with ``dry_run``, would be; nothing is written then) removed per guild."""
        ...

    async def kept_since(self) -> int | None:
        """Retention's newest cut-off (ms): everything after it is kept (None: nothing pruned)."""
        ...

    async def reach(self) -> tuple[int | None, dict[int, int]]:
        """(the oldest record's time or None, guild → its newest retention cut-off), in ms."""
        ...

    # -- settings and health ------------------------------------------------------------------------

    async def setting(self, key: str) -> str | None:
        """A value the console keeps in the store (None: unset)."""
        ...

    async def set_setting(self, key: str, value: str | None) -> None:
        """Set a kept value; None removes it."""
        ...

    async def probe_write(self) -> None:
        """A write that leaves nothing behind: returns when a commit goes through now, raises
        StoreFullError if not (and, once one goes through, the store is no longer degraded)."""
        ...

    async def quick_check(self) -> str | None:
        """The backend's own consistency check: None when healthy, else the first problem (one
        line). Reads the whole store, without holding up other reads."""
        ...

    async def data_version(self) -> int:
        """A number that changes whenever another process commits to the store."""
        ...

    async def stats(self) -> dict[str, Any]:
        """{"entries", "oldest_id", "newest_id", "open_gaps"}: counts for a status line."""
        ...
