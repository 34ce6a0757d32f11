"""The audit message a final role change posts to the guild's audit channel, and the poster that
retries it until it is posted (a failure stays visible on the change, never silent)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from console.model.records import RoleChange
from console.model.sanitize import discord_line
from console.roles.api import RoleApi
from console.roles.reconciler import audit_channel_key, describe_error
from console.store import AuditStore
from console.store.errors import StoreError

log = logging.getLogger("console.roles")

HEADLINE = {
    "confirmed": "✅ {action} — confirmed",
    "reverted": "↩️ {action} — reverted by someone else",
    "failed": "❌ {action} — failed",
    "expired": "⌛ {action} — not applied before the deadline",
    "cancelled": "🚫 {action} — cancelled",
}


def audit_message(change: RoleChange) -> str:
    """``<@member> (id) · Grant <@&role>`` with the *observed* time as a Discord timestamp."""
    action = f"{'Grant' if change.op == 'grant' else 'Revoke'} <@&{change.role_id}>"
    lines = [
        HEADLINE.get(change.state, "{action}").format(action=action),
        f"Member: <@{change.member_id}> ({change.member_id})",
    ]
    if change.observed_at is not None:
        lines.append(f"Observed: <t:{change.observed_at // 1000}:F>")
    lines.append(f"Reason: {discord_line(change.reason, 900) if change.reason else 'none given'}")
    if change.state in ("failed", "expired", "reverted") and change.error:
        lines.append(f"Cause: {discord_line(change.error, 300)}")
    if change.state == "reverted" and change.linked_entry_id:
        lines.append(f"Undone by audit entry {change.linked_entry_id}")
    if change.state == "cancelled" and change.cancelled_by:
        lines.append(f"Cancelled by <@{change.cancelled_by}>")
    requester = f" by <@{change.requested_by}>" if change.requested_by else ""
    lines.append(f"Request {change.id}{requester} via {change.source}, {change.attempts} attempt(s)")
    return "\n".join(lines)


class MessagePoster:
    """Posts audit messages for final changes; retries failures with backoff until posted."""

    def __init__(self, store: AuditStore, api: RoleApi, *, retry_s: float = 5.0, cap_s: float = 300.0) -> None:
        self.store = store
        self.api = api
        self.retry_s = retry_s
        self.cap_s = cap_s
        self._wake = asyncio.Event()
        self._task: asyncio.Task[Any] | None = None
        self._backoff: dict[int, float] = {}  # change id -> loop time of the next try
        self._tries: dict[int, int] = {}

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="audit-messages")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task

    def poke(self, _change: RoleChange | None = None) -> None:
        self._wake.set()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()
            try:
                waiting = await self.store.unposted_role_changes()
            except StoreError as e:
                log.error("audit messages: cannot read the store: %s", e)
                waiting = []
            now = loop.time()
            for change in waiting:
                if self._backoff.get(change.id, 0) <= now:
                    await self._post(change, now)
            later = [t - now for t in self._backoff.values() if t > now]
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), min([*later, self.cap_s]))

    async def _post(self, change: RoleChange, now: float) -> None:
        channel = await self.store.setting(audit_channel_key(change.guild_id))
        if channel is None:
            await self.store.record_role_change(
                change.with_(message_state="failed", message_error="no audit channel is set")
            )
            self._backoff[change.id] = now + self.cap_s
            return
        result, message_id = await self.api.post_message(int(channel), audit_message(change))
        latest = await self.store.role_change(change.id) or change
        if result.ok:
            self._backoff.pop(change.id, None)
            self._tries.pop(change.id, None)
            await self.store.record_role_change(
                latest.with_(message_state="posted", message_id=message_id, message_error=None)
            )
            return
        tries = self._tries[change.id] = self._tries.get(change.id, 0) + 1
        self._backoff[change.id] = now + min(self.cap_s, self.retry_s * 2 ** (tries - 1))
        log.warning("audit message for role change %s not posted: %s", change.id, describe_error(result))
        await self.store.record_role_change(latest.with_(message_state="failed", message_error=describe_error(result)))
