"""Runs the alert rules in the collecting process (``collect``, the TUI's live session): it
listens to the store's commits, reads what is new (entries by id, decisions and break-glass
sessions by a cursor, so decisions another process wrote beside us count too), feeds the engine,
stores each alert and posts it to the alerts channel when one is set."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import orjson

from console.alerts import records
from console.alerts.engine import ENTRY_TYPES, AlertEngine
from console.alerts.settings import AlertSettings
from console.model import entry as entries
from console.model.alert import Alert
from console.model.records import Decision
from console.model.sanitize import discord_line
from console.roles.api import RoleApi
from console.store import AuditStore, IngestResult, StoreError

log = logging.getLogger("console.alerts")

#: Channel posts: tries and the first pause (doubling); after that the failure stays on the alert.
POST_TRIES = 4
POST_RETRY_S = 2.0


def channel_text(alert: Alert) -> str:
    """The channel message: one line, no mention can ping (mentions are also disabled on post)."""
    icon = "🚨" if alert.severity == "error" else "⚠️"
    flat = discord_line(alert.summary)
    ids = ", ".join(map(str, alert.record_ids[:10])) + (" …" if len(alert.record_ids) > 10 else "")
    return f"{icon} Audit Console alert ({alert.rule}): {flat[:1500]}" + (f"\nRecords: {ids}" if ids else "")


class AlertRunner:
    def __init__(self, store: AuditStore, settings: AlertSettings, *, poll_s: float = 2.0) -> None:
        self.store = store
        self.settings = settings
        self.engine = AlertEngine(settings, name_of=store.name_of)
        self.api: RoleApi | None = None  # set once connected: alerts go to the channel too
        self.on_alert: list[Callable[[Alert], None]] = []
        self.poll_s = poll_s
        self.retry_s = POST_RETRY_S
        self._entry_ids: list[int] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[Any] | None = None
        self._posts: set[asyncio.Task[Any]] = set()
        self._unsubscribe: Callable[[], Any] | None = None
        self._decision_cursor = 0
        self._session_cursor = 0
        self._stopping = False
        self._unposted: list[Alert] = []  # raised before the connection: posted once it is up

    async def start(self) -> None:
        """From now on: what was stored before raises nothing (it is not happening now)."""
        self._decision_cursor = await self.store.last_decision_id()
        self._session_cursor = await self.store.last_break_glass_id()
        self._unsubscribe = self.store.add_listener(self._committed)
        self._task = asyncio.get_running_loop().create_task(self._run(), name="alerts")

    async def stop(self) -> None:
        # The check loop is let finish, never cancelled: a cancel landing on a store write's
        # BEGIN would leave the writer's transaction open for everyone else. Posts are cancelled
        # only while they wait (their writes are shielded).
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._stopping = True
        self._wake.set()
        for task in [self._task, *self._posts]:
            if task is None:
                continue
            if task is not self._task:
                task.cancel()
            with contextlib.suppress(BaseException):
                await task

    def connect(self, api: RoleApi) -> None:
        self.api = api
        waiting, self._unposted = self._unposted, []
        for alert in waiting:
            self._post(alert)

    def _committed(self, result: IngestResult) -> None:
        self._entry_ids += result.inserted
        self._wake.set()

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_s)
            self._wake.clear()
            if self._stopping:
                return
            try:
                await self.check()
            except StoreError as e:
                log.error("alerts: cannot read or write the store: %s", e)

    async def check(self) -> list[Alert]:
        """Evaluate everything new since the last check; the alerts raised (stored)."""
        now = self.store.now_ms()
        raised: list[Alert] = []
        ids, self._entry_ids = self._entry_ids, []
        for raw, guild in await self.store.raw_entries(ids, ENTRY_TYPES) if ids else ():
            try:
                e = entries.parse_entry(orjson.loads(raw), guild)
            except (entries.MalformedEntry, orjson.JSONDecodeError):
                continue
            raised += self.engine.entry(e, now_ms=now)
        for d in await self.store.decisions_after(self._decision_cursor, 1000):
            self._decision_cursor = max(self._decision_cursor, d.id)
            used_before, since = True, None
            if d.result == "ALLOW" and self.settings.rule("first_use").enabled:
                used_before, since = await self._history(d)
            raised += self.engine.decision(d, now_ms=now, used_before=used_before, history_since_ms=since)
        for sid, guild, user, expires, decision_id in await self.store.break_glass_after(self._session_cursor):
            self._session_cursor = max(self._session_cursor, sid)
            raised += self.engine.break_glass_started(
                guild, user, session_id=sid, decision_id=decision_id, expires_ms=expires, now_ms=now
            )
        stored = []
        for alert in raised:
            saved = await records.save(self.store, alert)
            stored.append(saved)
            log.warning("alert %s (guild %s): %s", saved.rule, saved.guild_id, saved.summary)
            for listener in list(self.on_alert):
                listener(saved)
            self._post(saved)
        return stored

    async def _history(self, d: Decision) -> tuple[bool, int | None]:
        """(an earlier ALLOW of this capability for this person, when the guild's decisions begin)."""
        return await self.store.allowed_before(d), await self.store.first_decision_ms(d.guild_id)

    # -- the channel ------------------------------------------------------------------------------

    def _post(self, alert: Alert) -> None:
        channel = self.settings.channel_for(alert.guild_id)
        if channel is None:
            return
        if self.api is None:
            self._unposted = [*self._unposted[-99:], alert]
            return
        task = asyncio.get_running_loop().create_task(self._post_with_retries(alert, channel))
        self._posts.add(task)
        task.add_done_callback(self._posts.discard)

    async def _post_with_retries(self, alert: Alert, channel: int) -> None:
        assert self.api is not None
        assert alert.id is not None
        error = "not tried"
        for attempt in range(POST_TRIES):
            if attempt:
                await asyncio.sleep(self.retry_s * 2 ** (attempt - 1))
            result, _message = await self.api.post_message(channel, channel_text(alert))
            if result.ok:
                await asyncio.shield(records.set_posted(self.store, alert.id, "posted"))
                return
            error = result.error or f"HTTP {result.status}"
            log.warning(
                "alert %s not posted to channel %s (try %d of %d): %s",
                alert.id,
                channel,
                attempt + 1,
                POST_TRIES,
                error,
            )
        await asyncio.shield(records.set_posted(self.store, alert.id, f"failed: {error}"[:300]))
