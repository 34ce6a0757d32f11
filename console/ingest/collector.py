"""The collector: gateway dispatches and backfill into the store, with the connection state the
header shows. Used alike by the TUI (``run``/``demo``) and headless (``collect``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from console.ingest.backfill import Backfiller, BackfillResult
from console.ingest.guild_state import STATE_EVENTS, GuildStates
from console.ingest.names import names_from_dispatch, names_from_guild
from console.ingest.pace import PAGES_PER_S, Pace
from console.ingest.source import AuditLogSource, SourceError
from console.ingest.state import CollectorState
from console.ingest.writer import BatchWriter
from console.model.records import Gap
from console.model.shards import ShardGroup, shard_of
from console.model.snowflake import parse as parse_id
from console.store import AuditStore, IngestResult
from console.store.errors import StoreError

log = logging.getLogger("console.ingest")

NAME_EVENTS = frozenset(
    {
        "GUILD_MEMBER_ADD",
        "GUILD_MEMBER_UPDATE",
        "GUILD_ROLE_CREATE",
        "GUILD_ROLE_UPDATE",
        "CHANNEL_CREATE",
        "CHANNEL_UPDATE",
        "THREAD_CREATE",
        "THREAD_UPDATE",
        "GUILD_UPDATE",
    }
)


#: Dispatches after which a guild that refused the audit log may allow it: a role's permissions
#: changed, or the bot's own member (its roles) did. Discord sends both without privileged intents.
PERMISSION_EVENTS = frozenset({"GUILD_ROLE_UPDATE", "GUILD_ROLE_CREATE", "GUILD_MEMBER_UPDATE", "GUILD_UPDATE"})


class Gateway(Protocol):
    """The Discord side (hikari in production); it calls the collector's ``on_*`` methods."""

    source: AuditLogSource

    async def start(self) -> None: ...

    async def close(self) -> None: ...


@dataclass(slots=True)
class _Rate:
    window_s: float = 10.0
    samples: deque[tuple[float, int]] = field(default_factory=deque)

    def add(self, n: int, now: float) -> None:
        self.samples.append((now, n))
        self.trim(now)

    def trim(self, now: float) -> None:
        while self.samples and self.samples[0][0] < now - self.window_s:
            self.samples.popleft()

    def per_s(self, now: float) -> float:
        self.trim(now)
        return sum(n for _, n in self.samples) / self.window_s


class Collector:
    def __init__(
        self,
        store: AuditStore,
        *,
        guild_ids: Iterable[int] = (),
        shards: ShardGroup | None = None,
        recheck_interval_s: float = 300.0,
        live_mark_interval_s: float = 30.0,
        on_state: Callable[[CollectorState], None] | None = None,
    ) -> None:
        self.store = store
        #: The shards this collector runs (None: all of the bot's): only their guilds are its.
        self.shards = shards
        given = frozenset(guild_ids)
        self._filtered = bool(given)
        self.guild_filter = frozenset(g for g in given if shards is None or shards.owns(g))
        # Each shard's READY lists that shard's guilds only: the collector's are their union.
        self._shard_guilds: dict[int, frozenset[int]] = {}
        self._shard_count = 1  # the bot's, as READY says (with ``shards`` None, hikari's choice)
        # Each guild's audit log from the time no collector ran: being read (a backfill is due or
        # under way since READY), or read, with why not if that backfill failed (see caught_up).
        self._reading: set[int] = set()
        self._read: dict[int, str | None] = {}
        self.writer = BatchWriter(store, on_degraded=self._degraded, on_overflow=self._overflowed)
        self._gateway: Gateway | None = None
        self._backfiller: Backfiller | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._recheck_interval = recheck_interval_s
        self._live_mark_interval = live_mark_interval_s
        self._on_state = on_state
        self._rate = _Rate()
        self._overflowed_guilds: set[int] = set()
        self.state = CollectorState(guild_ids=self.guild_filter)
        self.backfills: list[BackfillResult] = []
        self._unsubscribe = store.add_listener(self._committed)
        # Any failed write (a backfill page, a role change), not only the writer's, degrades.
        self._unsubscribe_writes = store.add_write_listener(self._degraded)
        self._probing = False
        self._background: list[asyncio.Task[Any]] = []
        self._retrying: set[int] = set()  # guilds with a backfill retry waiting
        self._backfill_failures: dict[int, int] = {}  # failed backfills in a row, per guild
        #: Seconds before the first retry of a failed backfill (doubling, up to 5 min).
        self.retry_first_s = 5.0
        #: Roles, channels and members as last seen: the policy's Discord gate reads these.
        self.guilds = GuildStates()
        self._saving = False
        #: Seconds between the retries of a guild that refused the audit log (403), besides the
        #: retry when Discord announces a role or the bot's member changed there: a safety net,
        #: slow because each refusal counts towards Discord's invalid-request limit.
        self.blocked_retry_s = 900.0
        #: Seconds to wait after such an announcement (a burst of role edits → one retry).
        self.unblock_delay_s = 1.0
        self._bot_id: int | None = None
        #: Why Discord closed the gateway for good, if it did.
        self.closed_error: SourceError | None = None
        # Gaps recorded and not yet recovered (an outage's, a refused backfill's), per guild: the
        # next backfill recovers that one instead of recording another.
        self._gaps: dict[int, Gap] = {}
        # Gaps a process before this one left open (it stopped during an outage or a backfill),
        # per guild, read at start: the guild's first backfill here recovers them too.
        self._stale_gaps: dict[int, list[Gap]] = {}
        #: Guilds backfilled at once; the others wait their turn, first asked first served, so
        #: the header's count of guilds done moves steadily. Their page requests share one pace
        #: (console.ingest.pace: the global limit is on their sum); each guild's route bucket
        #: is hikari's to keep.
        self.backfill_concurrency = 4
        #: Backfill page requests per second across guilds (see console.ingest.pace).
        self.backfill_pages_per_s = PAGES_PER_S
        self._backfill_slots: asyncio.Semaphore | None = None
        self._backfill_runs: Counter[int] = Counter()
        self._unblocking: set[int] = set()
        #: Called with every raw dispatch after the collector's own handling (the reconciler
        #: watches GUILD_MEMBER_UPDATE, the bot INTERACTION_CREATE).
        self.dispatch_listeners: list[Callable[[str, Mapping[str, Any]], None]] = []

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self, gateway: Gateway) -> None:
        """Start writing and connect. Raises SourceError (one line) if Discord can't be reached."""
        self._gateway = gateway
        self._backfiller = Backfiller(
            self.store, gateway.source, on_progress=self._backfilled_page, pace=Pace(self.backfill_pages_per_s)
        )
        self._backfill_slots = asyncio.Semaphore(self.backfill_concurrency)
        with contextlib.suppress(StoreError):  # unreadable now: those gaps stay as they are
            for gap in await self.store.gaps():
                if gap.status == "open":
                    self._stale_gaps.setdefault(gap.guild_id, []).append(gap)
        self.writer.start()
        self._set(gateway="connecting")
        try:
            await gateway.start()
        except SourceError as e:
            closed = getattr(e, "short", None)  # GatewayClosed: the header says what to do
            self.closed_error = e if closed else None
            self._set(gateway="closed" if closed else "offline", gateway_closed=closed, last_error=str(e))
            await self.writer.stop()
            raise
        loop = asyncio.get_running_loop()
        self._background += [
            loop.create_task(self._every(self._recheck_interval, self._recheck), name="recheck"),
            loop.create_task(self._every(self._live_mark_interval, self._tick_live), name="live-mark"),
            loop.create_task(self._every(self.blocked_retry_s, self._retry_blocked), name="blocked-retry"),
        ]

    async def stop(self) -> None:
        """Close the gateway, commit what is queued, remember how far we were live."""
        for task in self._background:
            task.cancel()
        if self._gateway is not None:
            with contextlib.suppress(Exception):
                await self._gateway.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks) + self._background:
            with contextlib.suppress(BaseException):
                await task
        await self.writer.stop()
        with contextlib.suppress(StoreError):
            await self._save_guild_states(delay=0)
        if self.state.gateway == "connected":
            await self._mark_live()
        self._set(gateway="closed")
        self._unsubscribe()
        self._unsubscribe_writes()

    # -- called by the gateway ------------------------------------------------------------------

    def on_dispatch(self, name: str, payload: Mapping[str, Any]) -> None:
        """Every raw dispatch (from hikari's ShardPayloadEvent, before hikari's own parsing)."""
        if name == "GUILD_AUDIT_LOG_ENTRY_CREATE":
            gid = parse_id(payload.get("guild_id"))
            if self._wanted(gid) or gid is None:
                # No usable guild id: the store keeps it as a parse failure, never dropped unseen.
                self.writer.submit(gid, payload, "gateway")
        elif name == "READY":
            given = payload.get("guilds")
            guilds = given if isinstance(given, list) else []
            ids = [parse_id(g.get("id")) for g in guilds if isinstance(g, Mapping)]
            user = payload.get("user")
            self._bot_id = parse_id(user.get("id")) if isinstance(user, Mapping) else None
            shard = payload.get("shard")
            shard_id, count = (
                (int(shard[0]), int(shard[1]))
                if isinstance(shard, list) and len(shard) == 2 and all(isinstance(x, int) for x in shard)
                else (0, 1)
            )
            self._session_started([g for g in ids if g is not None and self._wanted(g)], shard_id, max(1, count))
        elif name == "RESUMED":
            self._set(gateway="connected")
        elif name == "GUILD_CREATE":
            gid = parse_id(payload.get("id"))
            if gid is not None and self._wanted(gid):
                self.guilds.guild_created(gid, payload)
                self._spawn(self._guild_created(gid, payload), "guild-create")
                self._guild_back(gid)
        elif name == "GUILD_DELETE":
            gid = parse_id(payload.get("id"))
            if gid is not None and self._wanted(gid):
                self._guild_gone(gid, outage=payload.get("unavailable") is True)
        if name in PERMISSION_EVENTS and self.state.blocked:
            self._maybe_unblocked(name, payload)
        if name in NAME_EVENTS:
            gid = parse_id(payload.get("guild_id"))
            if self._wanted(gid):
                found = names_from_dispatch(name, payload)
                if found:
                    self._spawn(self._save_names(gid, found), "names")
        if name in STATE_EVENTS and self.guilds.apply(name, payload) is not None and not self._saving:
            # Coalesce: a burst of member updates becomes one write a second later.
            self._saving = True
            self._spawn(self._save_guild_states(), "guild-state")
        for listener in self.dispatch_listeners:
            try:
                listener(name, payload)
            except Exception:  # one listener's bug must not stop ingestion
                log.exception("dispatch listener failed on %s", name)

    def on_unreadable(self, raw: bytes, error: str) -> None:
        """A gateway frame that could not be read at all: keep its bytes as a parse failure."""
        log.warning("%s (%d bytes kept as a parse failure)", error, len(raw))
        self._spawn(self.store.add_parse_failure(None, "gateway", error, raw), "parse-failure")

    def on_closed(self, error: SourceError) -> None:
        """Discord closed the gateway for good (4004, 4010–4014): nothing more will arrive, and
        reconnecting is refused until the operator fixes what the error says."""
        closed = getattr(error, "short", None) or str(error)
        self.closed_error = error
        self._set(gateway="closed", gateway_closed=closed, last_error=str(error))
        self._spawn(self._mark_live(), "live-mark")

    def on_connection(self, connected: bool) -> None:
        if connected:
            # hikari reports the connection once READY or RESUMED has arrived.
            self._set(gateway="connected")
        else:
            self._set(gateway="disconnected")
            self._spawn(self._mark_live(), "live-mark")

    # -- internals ------------------------------------------------------------------------------

    def _wanted(self, gid: int | None) -> bool:
        return (
            gid is not None
            and (self.shards is None or self.shards.owns(gid))
            and (not self._filtered or gid in self.guild_filter)
        )

    def _session_started(self, guild_ids: list[int], shard_id: int = 0, shard_count: int = 1) -> None:
        reason = "reconnect" if shard_id in self._shard_guilds else "start"
        self._shard_guilds[shard_id] = frozenset(guild_ids)
        self._shard_count = shard_count
        every = frozenset().union(*self._shard_guilds.values())
        self._set(gateway="connected", sessions=self.state.sessions + 1, guild_ids=every | self.guild_filter)
        # A new session lists every guild of its shard: an outage there that ended meanwhile is
        # over; a guild the bot was removed from is not backfilled unless it is listed again.
        listed = set(guild_ids)
        outages = frozenset(g for g in self.state.outages if shard_of(g, shard_count) != shard_id)
        self._set(outages=outages, removed=self.state.removed - listed)
        mine = {g for g in self.guild_filter if shard_of(g, shard_count) == shard_id}
        for gid in (listed | mine) - self.state.removed:
            self._reading.add(gid)  # now, not when the task starts: caught_up() may be asked before
            self._spawn(self.backfill(gid, reason), f"backfill-{gid}")

    def _collecting(self) -> set[int]:
        """The guilds whose entries arrive live now (not removed, out, or refusing the log)."""
        blocked = {gid for gid, _ in self.state.blocked}
        return set(self.state.guild_ids) - self.state.removed - self.state.outages - blocked

    def _guild_gone(self, gid: int, *, outage: bool) -> None:
        """GUILD_DELETE. ``outage``: Discord lost the guild for a while: a gap is open until it
        comes back (GUILD_CREATE), then backfilled. Otherwise the bot was removed: collecting
        there stops; what is stored stays."""
        if outage:
            self._set(outages=self.state.outages | {gid})
            self._spawn(self._open_outage_gap(gid), f"outage-{gid}")
        else:
            self._set(removed=self.state.removed | {gid}, outages=self.state.outages - {gid})
            self._spawn(self._mark_guilds_live([gid]), "live-mark")

    async def _open_outage_gap(self, gid: int) -> None:
        assert self._backfiller is not None
        now = self.store.now_ms()
        with contextlib.suppress(StoreError):
            await self.store.set_live_until([gid], now)
        if gid not in self._gaps:
            self._gaps[gid] = await self._backfiller.open(gid, "guild-outage", live_until=now)

    def _guild_back(self, gid: int) -> None:
        """GUILD_CREATE after an outage, or after the bot was invited back: backfill the gap."""
        if gid in self.state.outages or gid in self.state.removed:
            reason = "guild-outage" if gid in self.state.outages else "re-added"
            self._set(outages=self.state.outages - {gid}, removed=self.state.removed - {gid})
            self._spawn(self.backfill(gid, reason), f"backfill-{gid}")

    def _maybe_unblocked(self, name: str, payload: Mapping[str, Any]) -> None:
        gid = parse_id(payload.get("guild_id") if name != "GUILD_UPDATE" else payload.get("id"))
        if gid is None or gid not in dict(self.state.blocked) or gid in self._unblocking:
            return
        if name == "GUILD_MEMBER_UPDATE":
            user = payload.get("user")
            if not isinstance(user, Mapping) or parse_id(user.get("id")) != self._bot_id:
                return  # someone else's roles: the bot's permissions did not change
        self._unblocking.add(gid)

        async def retry() -> None:
            try:
                await asyncio.sleep(self.unblock_delay_s)
            finally:
                self._unblocking.discard(gid)
            await self.backfill(gid, "permission-changed")

        self._spawn(retry(), f"unblock-{gid}")

    async def _retry_blocked(self) -> None:
        for gid, _ in self.state.blocked:
            if self.state.gateway == "connected":
                await self.backfill(gid, "permission-changed")

    async def backfill(self, guild_id: int, reason: str) -> BackfillResult | None:
        assert self._backfiller is not None
        assert self._backfill_slots is not None
        self._begin_backfill(guild_id)
        result: BackfillResult | None = None
        try:
            async with self._backfill_slots:
                result = await self._backfill(guild_id, reason)
                return result
        finally:
            self._end_backfill(guild_id)
            self._backfill_ended(guild_id, result)

    def caught_up(self, guild_id: int) -> tuple[bool, str | None]:
        """Whether the guild's audit log from the time no collector ran is stored: its first
        backfill here has ended, with why not if it failed. The role reconciler waits for it before
        acting on a change it inherited: an undo made meanwhile is only there. A guild that is not
        collected here has none to wait for, once every shard's READY has listed the bot's guilds."""
        if guild_id in self._read:
            return True, self._read[guild_id]
        if guild_id in self._reading or (self._wanted(guild_id) and self._sessions_pending()):
            return False, None
        return True, None

    def _sessions_pending(self) -> bool:
        """Whether a shard of this collector has yet to send READY (which lists its guilds)."""
        expected = self.shards.ids if self.shards is not None else range(self._shard_count)
        return any(shard not in self._shard_guilds for shard in expected)

    def _backfill_ended(self, guild_id: int, result: BackfillResult | None) -> None:
        """A backfill of the guild ended: every one reads from the high-water mark, so one that
        recovered its gap has read what was missed while no collector ran."""
        self._reading.discard(guild_id)
        if result is not None and result.gap.status != "failed":
            self._read[guild_id] = None
        else:
            why = result.gap.error if result is not None else self.state.last_error
            self._read.setdefault(guild_id, why or "the backfill did not finish")

    def _begin_backfill(self, guild_id: int) -> None:
        """Counted in the round of backfills under way, or the first of a new round."""
        self._backfill_runs[guild_id] += 1
        running = frozenset(self._backfill_runs)
        if self.state.backfilling:
            self._set(backfilling=running, backfill_total=self.state.backfill_total + 1)
        else:
            self._set(backfilling=running, backfill_done=0, backfill_total=1, backfill_entries=0)

    def _end_backfill(self, guild_id: int) -> None:
        self._backfill_runs[guild_id] -= 1
        self._backfill_runs += Counter()  # drops the guilds at zero
        self._set(backfilling=frozenset(self._backfill_runs), backfill_done=self.state.backfill_done + 1)

    def _backfilled_page(self, guild_id: int, inserted: int) -> None:
        if inserted:
            self._set(backfill_entries=self.state.backfill_entries + inserted)

    async def _backfill(self, guild_id: int, reason: str) -> BackfillResult | None:
        assert self._backfiller is not None
        stale = self._stale_gaps.pop(guild_id, [])
        try:
            live_until = await self.store.live_until(guild_id)
            gap = self._gaps.pop(guild_id, None)
            if gap is None and stale:
                # The oldest gap left open says since when entries may be missing; it stays in
                # ``stale`` until the run has closed it.
                gap = stale[0]
            result = await self._backfiller.run(guild_id, reason, live_until=live_until, gap=gap)
            if stale and stale[0] is gap:
                stale.pop(0)
            self.backfills.append(result)
            if result.gap.status != "failed":
                for old in stale:  # every backfill reads from the hwm: what these lacked, it recovered
                    await self.store.close_gap(old, status=result.gap.status, recovered=0)
                stale = []
            blocked = tuple((g, why) for g, why in self.state.blocked if g != guild_id)
            if result.blocked:
                # Refused for want of a permission: one gap stays failed until it is recovered.
                self._gaps[guild_id] = result.gap
                self._set(blocked=(*blocked, (guild_id, result.gap.error or "refused")))
            elif result.gap.status == "failed":
                self._set(last_error=result.gap.error, blocked=blocked)
                self._retry_backfill(guild_id)
            else:
                self._backfill_failures.pop(guild_id, None)
                self._set(blocked=blocked)
            return result
        except StoreError as e:
            self._set(last_error=str(e))
            self._retry_backfill(guild_id)
            return None
        finally:
            if stale:  # not recovered this time: the next backfill tries again
                self._stale_gaps.setdefault(guild_id, [])[:0] = stale

    def _retry_backfill(self, guild_id: int) -> None:
        """A backfill that failed (Discord unreachable, the store locked) is tried again 5 s, 10 s,
        … up to 5 min later: what it was to recover would otherwise stay missing until the next
        new session. (A store that cannot be written is the degraded state's: it backfills when
        space returns.)"""
        if guild_id in self._retrying or self.store.closed or self.store.write_failure is not None:
            return
        n = self._backfill_failures[guild_id] = self._backfill_failures.get(guild_id, 0) + 1
        delay = min(300.0, self.retry_first_s * 2 ** (n - 1))
        self._retrying.add(guild_id)

        async def later() -> None:
            try:
                await asyncio.sleep(delay)
            finally:
                self._retrying.discard(guild_id)
            if self.state.gateway != "closed":
                await self.backfill(guild_id, "retry after a failed backfill")

        # With the periodic jobs: cancelled by stop(), not waited for by wait_idle().
        self._background = [t for t in self._background if not t.done()]
        self._background.append(asyncio.get_running_loop().create_task(later(), name=f"backfill-retry-{guild_id}"))

    async def _guild_created(self, gid: int, payload: Mapping[str, Any]) -> None:
        await self._save_names(gid, names_from_guild(payload))
        await self._save_guild_states(delay=0)

    async def _save_guild_states(self, delay: float = 1.0) -> None:
        try:
            await asyncio.sleep(delay)
        finally:
            self._saving = False
        for gid in list(self.guilds.dirty):
            self.guilds.dirty.discard(gid)
            rest = self.guilds.rest(gid)
            if rest is not None:
                await self.store.save_guild_state(gid, rest)

    async def _save_names(self, gid: int | None, found: Mapping[str, list[tuple[int, str]]]) -> None:
        for kind, items in found.items():
            if items:
                await self.store.upsert_names(gid, kind, items)

    async def _recheck(self) -> None:
        if self._backfiller is None or self.state.gateway != "connected":
            return
        for gid in self._collecting():
            try:
                await self._backfiller.recheck(gid)
            except SourceError as e:
                log.warning("recheck of guild %s failed: %s", gid, e)

    async def _tick_live(self) -> None:
        """The periodic mark. Not during an outage: "live until now" would move the next gap's
        start past entries that never arrived (the drop itself was marked when it happened)."""
        await self._mark_live(live=self.state.gateway == "connected")

    async def _mark_live(self, *, live: bool = True) -> None:
        if live:
            await self._mark_guilds_live(self._collecting())
        # A bounded buffer overflowed while the disk was full: backfill recovers what we dropped.
        if self._overflowed_guilds and self.writer.degraded is None:
            for gid in list(self._overflowed_guilds):
                self._overflowed_guilds.discard(gid)
                self._spawn(self.backfill(gid, "buffer-overflow"), f"backfill-{gid}")

    async def _mark_guilds_live(self, guild_ids: Iterable[int]) -> None:
        ids = list(guild_ids)
        if ids and not self.store.closed:
            with contextlib.suppress(StoreError):
                await self.store.set_live_until(ids, self.store.now_ms())

    async def _every(self, interval: float, job: Callable[[], Any]) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await job()
            except Exception:  # a periodic job must never take the collector down
                log.exception("periodic %s failed", getattr(job, "__name__", job))

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            log.error("%s failed: %s", task.get_name(), exc, exc_info=exc)
            self._set(last_error=f"{task.get_name()}: {exc}")

    def _committed(self, result: IngestResult) -> None:
        now = time.monotonic()
        if result.inserted and result.source == "gateway":  # live entries/s, not backfill pages
            self._rate.add(len(result.inserted), now)
        self._set(stored=self.state.stored + len(result.inserted), entries_per_s=self._rate.per_s(now))

    def _degraded(self, reason: str | None) -> None:
        was = self.state.degraded
        if reason == was:
            return
        self._set(degraded=reason)
        if reason is not None and not self._probing:
            self._probing = True
            self._spawn(self._probe_writable(), "store-probe")
        elif reason is None and was is not None:
            # Space is back: what could not be stored meanwhile (a backfill that failed, a
            # session that began while degraded, a buffer that overflowed) comes back by backfill.
            self._overflowed_guilds.clear()
            for gid in self.state.guild_ids:
                self._spawn(self.backfill(gid, "store-recovered"), f"backfill-{gid}")

    async def _probe_writable(self) -> None:
        """While degraded, try a commit every second: with nothing else to write (a quiet guild)
        nobody would notice the space coming back."""
        try:
            while self.state.degraded is not None and not self.store.closed:
                await asyncio.sleep(1.0)
                with contextlib.suppress(StoreError):
                    await self.store.probe_write()
        finally:
            self._probing = False

    def _overflowed(self, gid: int) -> None:
        self._overflowed_guilds.add(gid)

    def detach(self) -> None:
        """Stop reporting state changes (the screen that showed them has closed)."""
        self._on_state = None

    def _set(self, **changes: Any) -> None:
        self.state = self.state._replace(**changes)
        if self._on_state:
            self._on_state(self.state)

    async def wait_idle(self, timeout: float = 30.0) -> None:
        """For tests and ``backfill``: wait until no backfill runs and the writer is drained."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self.state.backfilling or self._tasks or self.writer.pending:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("collector did not become idle")
            await asyncio.sleep(0.02)
        await self.writer.flush(timeout)
