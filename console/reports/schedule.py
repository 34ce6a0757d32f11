"""Scheduled reports wherever a collector runs (``collect``, ``run``): each complete week (Monday
00:00 UTC) or calendar month is reported once — written to a folder (Markdown and JSON,
atomically) and/or summarised in a channel (no pings). What was done is kept in the store's
``meta`` so a restart neither skips nor repeats a period; a post that fails is retried on the
next tick and logged, never silent.

Config (``[reports]`` in config.toml, read by console.config)::

    every = "weekly"            # or "monthly"
    folder = "~/audit/reports"  # optional
    channel = "123456789012345678"  # optional; at least one of folder / channel
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from console.model.sanitize import discord_line
from console.model.times import iso_utc
from console.reports.compute import Report, compute
from console.reports.render import summary_line, to_json, to_markdown

log = logging.getLogger("console.reports")

EVERY = ("weekly", "monthly")
#: How often a collecting process looks whether a period has ended (a report is due at most this late).
TICK_S = 300.0

Post = Callable[[int, str], Awaitable[tuple[Any, str | None]]]


@dataclass(frozen=True, slots=True)
class ReportSchedule:
    every: str
    folder: Path | None = None
    channel: int | None = None


def last_period(every: str, now_ms: int) -> tuple[int, int, str]:
    """The newest complete period before ``now_ms``: (start ms, end ms, label)."""
    now = dt.datetime.fromtimestamp(now_ms / 1000, tz=dt.UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if every == "weekly":
        end = midnight - dt.timedelta(days=midnight.weekday())
        start = end - dt.timedelta(days=7)
        year, week, _ = start.isocalendar()
        label = f"{year}-W{week:02d}"
    else:
        end = midnight.replace(day=1)
        start = (end - dt.timedelta(days=1)).replace(day=1)
        label = f"{start.year}-{start.month:02d}"
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000), label


def channel_summary(report: Report, label: str, file_name: str | None) -> str:
    """The short channel message: counts and the busiest moderators' names (never mentions)."""
    top = [p for p in report.by_moderator if p.id is not None][:3]
    names = ", ".join(f"{_clean(p.name or str(p.id))} ({p.count})" for p in top)
    lines = [
        f"📊 Audit report {label} ({iso_utc(report.since_ms)[:10]} → {iso_utc(report.until_ms)[:10]} UTC)",
        summary_line(report) + ".",
    ]
    if names:
        lines.append(f"Most active: {names}")
    if file_name:
        lines.append(f"Full report: {file_name}")
    return "\n".join(lines)


def _clean(text: str, limit: int = 40) -> str:
    return discord_line(text.replace("<", "‹"), limit)  # "<" too: no <@id> either


class ReportScheduler:
    def __init__(
        self,
        store: Any,
        schedule: ReportSchedule,
        *,
        guild_ids: Sequence[int] = (),
        post: Post | None = None,
        clock: Callable[[], int] | None = None,
        tick_s: float = TICK_S,
    ) -> None:
        self.store = store
        self.schedule = schedule
        self.guild_ids = tuple(guild_ids)
        self.post = post
        self.clock = clock or store.now_ms
        self.tick_s = tick_s
        self._task: asyncio.Task[Any] | None = None

    def _key(self, what: str) -> str:
        return f"report.{self.schedule.every}.{what}_until"

    async def _done_until(self, what: str) -> int:
        value = await self.store.setting(self._key(what))
        return int(value) if value and value.isdigit() else 0

    async def tick(self) -> list[str]:
        """Do what is due now; returns what was done (``wrote PATH``, ``posted``, ``post failed: …``)."""
        start, end, label = last_period(self.schedule.every, self.clock())
        done: list[str] = []
        report: Report | None = None
        name = f"audit-report-{label}"
        if self.schedule.folder is not None and await self._done_until("written") < end:
            report = await self._compute(start, end)
            folder = self.schedule.folder
            folder.mkdir(parents=True, exist_ok=True)
            for suffix, data in ((".md", to_markdown(report).encode()), (".json", to_json(report))):
                path = folder / (name + suffix)
                tmp = path.with_name(path.name + ".part")
                tmp.write_bytes(data)
                tmp.replace(path)  # a reader never sees half a report
            await self.store.set_setting(self._key("written"), str(end))
            done.append(f"wrote {folder / name}.md")
        if self.schedule.channel is not None and self.post is not None and await self._done_until("posted") < end:
            report = report or await self._compute(start, end)
            text = channel_summary(report, label, name + ".md" if self.schedule.folder else None)
            result, _message_id = await self.post(self.schedule.channel, text)
            if result.ok:
                await self.store.set_setting(self._key("posted"), str(end))
                done.append("posted")
            else:
                log.warning(
                    "report %s not posted to channel %s: %s (retrying)",
                    label,
                    self.schedule.channel,
                    result.error or result.status,
                )
                done.append(f"post failed: {result.error or result.status}")
        return done

    async def _compute(self, start: int, end: int) -> Report:
        return await compute(
            self.store,
            since_ms=start,
            until_ms=end,
            name_of=self.store.name_of,
            guild_ids=self.guild_ids,
            now_ms=self.clock(),
        )

    def start(self, on_done: Callable[[list[str]], None] | None = None) -> None:
        async def run() -> None:
            while True:
                try:
                    done = await self.tick()
                    if done and on_done is not None:
                        on_done(done)
                except OSError as e:
                    log.error("scheduled report not written: %s", e)
                    if on_done is not None:
                        on_done([f"report not written: {e.strerror or e}"])
                except Exception:
                    log.exception("scheduled report failed")
                await asyncio.sleep(self.tick_s)

        self._task = asyncio.get_running_loop().create_task(run(), name="reports")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
            self._task = None


def start_reports(store: Any, settings: Any, services: Any, on_done: Callable[[list[str]], None]) -> Any:
    """The scheduler for a collecting process (None when no ``[reports]`` is configured)."""
    schedule: ReportSchedule | None = getattr(settings, "reports", None)
    if schedule is None:
        return None
    poster = getattr(services, "poster", None)
    post = poster.api.post_message if poster is not None else None
    scheduler = ReportScheduler(store, schedule, guild_ids=settings.guild_ids, post=post)
    scheduler.start(on_done)
    return scheduler
