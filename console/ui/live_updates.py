"""What keeps the main screen current: the store's commits coalesced into feed refreshes, the
header (the collector's state, at most four times a second), the side panes (gap count,
retention's cut-off, the sparkline, pending role changes). Commits come from the store's watch:
this process's batches and those of any other collector or console on the same store, however
the backend learns of them; each is a cue to read on from the feed's cursor."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from textual.css.query import NoMatches

from console.model.filters import Filter
from console.model.naming import person
from console.model.times import zone_label
from console.store import IngestResult, StoreError
from console.store.team_access import NO_COLLECTOR
from console.ui.rows import record_key
from console.ui.widgets.activity import ActivityBar
from console.ui.widgets.feed import FeedView
from console.ui.widgets.pending import PendingPane
from console.ui.widgets.status import StatusBar

if TYPE_CHECKING:
    from console.ui.screens.main import MainScreen


@contextlib.contextmanager
def closing_quietly() -> Iterator[None]:
    """Timers may fire while the app shuts down: a missing widget or a closed store then means
    "nothing to update", not a crash. Nor is a read that failed because the store's server went
    away: the next tick or commit reads again, the watch's catch-up once it is back, and the
    header says meanwhile that the store is lost."""
    try:
        yield
    except (NoMatches, StoreError):
        pass
    except ValueError as e:
        if "closed" not in str(e).lower():
            raise


#: What another writer's commit may change and still leave the side panes as they are.
ENTRIES_ONLY = frozenset({"entries", "names"})


class LiveUpdates:
    def __init__(self, screen: MainScreen) -> None:
        self.screen = screen
        self._dirty = False
        self._inserted: list[int] = []
        self._own = 0  # records of this process's own batches since the last refresh
        self._changed: set[tuple[str, int]] = set()  # records changed in place since the last refresh
        self._busy = False
        self._activity_at = 0.0
        self._activity_total = 0
        self._status_pending = False
        self.open_gaps = 0
        #: Why the store cannot follow other writers now (the header says so); None while it does.
        self.store_lost: str | None = None
        self._started = False
        self._names_stale = False  # another writer may have learnt names
        self._alerts_stale = False  # another writer may have raised alerts
        #: Who collects into the store, when this console does not (the header says it).
        self.collectors = ""
        self._notes_stale = False  # another writer may have written a note on a row on screen
        #: A commit may have changed what the side panes show (gaps, retention, pending changes).
        self._side_stale = False

    def start(self) -> None:
        """The screen is mounted: commits told before (while the first page was read) refresh now."""
        self._started = True
        if self._dirty:
            self.screen.set_timer(0.1, self.flush)

    def link_changed(self, lost: str | None) -> None:
        """The store lost its link to other writers (a reason) or has it back (None: the watch
        then tells it to catch up)."""
        self.store_lost = lost
        if self._started:
            with contextlib.suppress(NoMatches):
                self.render_status()

    def committed(self, result: IngestResult) -> None:
        # Coalesce: a burst of commits becomes one feed refresh per interval: 10 a second when
        # it is quiet, 2 a second under a flood of this process's own batches (> 25 records per
        # refresh). Each repaint of a moving feed costs a frame of loop time, and a loop that also
        # ingests leaves more of it to keys with fewer repaints (docs/performance.md, U4). A
        # console following another collector's commits keeps 10 a second: its loop does
        # nothing else, and a row must be drawn within 250 ms of its commit (I4, the team store).
        self._inserted += result.inserted
        if not result.elsewhere:
            self._own += len(result.inserted)
        self._changed.update(result.changed)
        self._changed.update(("audit", i) for i in result.updated)
        # Another writer's entries alone change no side pane: under a flood of them, reading
        # gaps, retention and pending changes at every refresh was most of what 20 consoles asked
        # of the server (the pending pane's ages move on with the tick anyway).
        self._side_stale |= not (result.elsewhere and result.kinds and result.kinds <= ENTRIES_ONLY)
        if result.elsewhere:
            self._names_stale |= not result.kinds or "names" in result.kinds
            self._alerts_stale |= not result.kinds or "alerts" in result.kinds
            # A note changes its record in place; a commit that does not say which (SQLite's
            # polling, a PostgreSQL payload with too many) may have written one.
            self._notes_stale |= not result.kinds
        if not self._dirty:
            self._dirty = True
            if self._started:
                self.screen.set_timer(0.5 if self._busy else 0.1, self.flush)

    async def flush(self) -> None:
        self._dirty = False
        inserted, self._inserted = self._inserted, []
        changed, self._changed = self._changed, set()
        side, self._side_stale = self._side_stale, False
        self._busy, self._own = self._own > 25, 0
        screen = self.screen
        with closing_quietly():
            if self._names_stale:
                await screen.store.reload_names()
                self._names_stale = False
            if self._alerts_stale and screen.alert_watch is not None:
                await screen.alert_watch.check()
                self._alerts_stale = False
            feed = screen.query_one(FeedView)
            if self._notes_stale:
                self._notes_stale = False
                changed |= await feed.notes_on_screen()
            await feed.refresh_data(inserted, changed)
            # Screens over this one that list records (the member view) follow the same commits.
            for other in screen.app.screen_stack:
                follow = getattr(other, "follow_commits", None)
                if follow is not None:
                    await follow(inserted, changed)
            current = feed.current
            if current is not None and record_key(current) in changed and screen.open_drawer() is not None:
                await screen.show_details(current)  # the record in the drawer moved on
            if side:
                await self.refresh_side()
            elif self._activity_due():
                self.refresh_activity()

    async def refresh_side(self) -> None:
        screen, store = self.screen, self.screen.store
        if self._activity_due():
            self.refresh_activity()
        self.open_gaps = await store.open_gap_count()
        kept = await store.kept_since()
        if kept != screen.kept_since:
            screen.kept_since = kept
            screen.post_message(FeedView.Changed(screen.query_one(FeedView)))
        self.render_status()
        await self.refresh_pending()

    def _activity_due(self) -> bool:
        """The sparkline needs no more than one update in 5 s — unless it still shows nothing."""
        return time.monotonic() - self._activity_at >= 5.0 or not self._activity_total

    def refresh_activity(self) -> None:
        """The sparkline: the filter's date range, or the last 24 hours, in 60 buckets. In a
        worker: over a big store the query reads for up to a second, and neither keys, nor a
        newer filter (it replaces this one), nor quitting should wait for it."""
        self._activity_at = time.monotonic()
        self.screen.run_worker(
            self._activity(self.screen.filter), group="activity", exclusive=True, exit_on_error=False
        )

    async def _activity(self, flt: Filter) -> None:
        screen = self.screen
        now = screen.clock()
        start = flt.since_ms if flt.since_ms is not None else now - 86_400_000
        end = flt.until_ms if flt.until_ms is not None else now + 1
        with closing_quietly():
            counts = await screen.store.activity(flt, start_ms=start, end_ms=end, buckets=60)
            self._activity_total = sum(counts)
            hours = max(1, round((end - start) / 3_600_000))
            label = f"last {hours}h" if flt.since_ms is None else f"{hours}h range"
            screen.query_one(ActivityBar).show(counts, label)

    async def tick(self) -> None:
        with closing_quietly():
            await self.refresh_pending()
            # Who collects (PostgreSQL, a console that does not): one small read a second.
            note = await self.screen.store.collectors_note() or ""
            if note != self.collectors:
                self.collectors = note
                self.render_status()

    async def refresh_pending(self) -> None:
        screen, store = self.screen, self.screen.store
        pane = screen.query_one(PendingPane)
        changes = await store.pending_role_changes()
        # Requests wait while no collector holds the store (a team store's consoles), or the
        # shard group holding their guild: said so.
        waiting = None
        for guild_id in sorted({c.guild_id for c in changes}):
            if not await store.collector_active(guild_id):
                waiting = NO_COLLECTOR
                break
        pane.show(changes, now_ms=screen.clock(), name_of=store.name_of, styles=screen.console.row_styles, note=waiting)
        screen.auto_pending()

    # -- the header -------------------------------------------------------------------------------

    def state_changed(self) -> None:
        """The collector's state changed (at every committed batch while ingesting): the header
        is redrawn at most four times a second."""
        if self._status_pending:
            return
        self._status_pending = True
        self.screen.set_timer(0.25, self._render_status_later)

    def _render_status_later(self) -> None:
        self._status_pending = False
        with contextlib.suppress(NoMatches):
            self.render_status()

    def render_status(self) -> None:
        screen = self.screen
        app = screen.console
        operator = None
        if app.operator_id is not None:
            name = person(screen.store.name_of, app.operator_id)
            operator = f"{name} ({app.operator_id})" if name else str(app.operator_id)
        elif app.browse_only is not None:
            operator = "none (browse only)"  # why: said on an act attempt (acting.py)
        screen.query_one(StatusBar).show(
            label=self._guild_label(),
            state=app.state,
            open_gaps=self.open_gaps,
            operator=operator,
            styles=app.row_styles,
            store_note=self.collectors,
            roles_paused=app.roles_paused,
            problems=self._problems(),
            zone=self._zone(),
        )

    def _zone(self) -> str:
        """The zone times are shown in, for the header; nothing when the console's zone is UTC
        (servers, the tests): there is nothing to tell apart then."""
        app = self.screen.console
        configured = zone_label(app.zone, app.clock())
        if configured == "UTC":
            return ""
        return f"times UTC (z: {configured})" if app.show_utc else f"times {configured}"

    def _problems(self) -> str:
        """Guilds not collected now, and why, by name once known."""
        state, store = self.screen.console.state, self.screen.store

        def named(gids: Iterable[int]) -> str:
            return ", ".join(store.name_of("guild", g) or str(g) for g in sorted(gids))

        parts = []
        if self.store_lost is not None:
            parts.append("store lost · reconnecting")
        if state.blocked:
            parts.append("audit log refused in " + named(g for g, _ in state.blocked) + ": give View Audit Log")
        if state.removed:
            parts.append("bot removed from " + named(state.removed))
        if state.outages:
            parts.append(named(state.outages) + " unavailable (outage)")
        return " · ".join(parts)

    def _guild_label(self) -> str:
        """The guild(s) by name once known (GUILD_CREATE stores them), else the session's label."""
        store, app = self.screen.store, self.screen.console
        ids = sorted(app.state.guild_ids) or sorted(store.names("guild"))
        named = [store.name_of("guild", g) for g in ids[:3]]
        if not ids or not any(named):
            return app.label
        shown = ", ".join(n or str(g) for n, g in zip(named, ids, strict=False))
        if len(ids) > 3:
            shown += f" +{len(ids) - 3}"
        return shown + (" (offline)" if store.readonly else "")
