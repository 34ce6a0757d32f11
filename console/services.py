"""What acts for people, wired together once per process: the policy in force, the gatekeeper
(every decision recorded), and — when connected to Discord — the reconciler, the audit-message
poster, role requests and the slash-command handler. Used alike by the TUI and ``collect``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

from console.config import Settings
from console.policy.gatekeeper import Gatekeeper
from console.policy.guild import GuildSnapshot
from console.policy.policy_file import PolicyFile, Reload
from console.roles.api import RoleApi
from console.roles.messages import MessagePoster
from console.roles.reconciler import Reconciler, Schedule
from console.roles.requests import Handoff, RoleRequests
from console.slash import SlashHandler
from console.store import AuditStore

log = logging.getLogger("console.services")


class Services:
    def __init__(
        self,
        store: AuditStore,
        settings: Settings,
        *,
        live_guild: Callable[[int], GuildSnapshot | None] | None = None,
        schedule: Schedule | None = None,
    ) -> None:
        """Raises PolicyError when the policy file is missing or invalid (at start: one line)."""
        self.store = store
        self.settings = settings
        self.policy = PolicyFile(settings.policy_path())
        self.gatekeeper = Gatekeeper(store, self.policy, live_guild)
        self.schedule = schedule or Schedule()
        self.reconciler: Reconciler | None = None
        self.poster: MessagePoster | None = None
        self.roles: RoleRequests | None = None
        self.slash = SlashHandler(self.gatekeeper, None)
        self.on_policy: Callable[[Reload], None] | None = None
        self._watch: asyncio.Task[Any] | None = None
        self.on_role_change: list[Callable[[Any], None]] = []

    def start_policy_watch(self, interval_s: float = 2.0) -> None:
        async def watch() -> None:
            while True:
                await asyncio.sleep(interval_s)
                found = self.policy.check()
                if found is not None:
                    if found.error:
                        log.warning("policy not reloaded: %s", found.error)
                    else:
                        log.info("policy %s in force", found.version)
                    if self.on_policy is not None:
                        self.on_policy(found)

        self._watch = asyncio.get_running_loop().create_task(watch(), name="policy-watch")

    async def connect(
        self, api: RoleApi, *, bot_id: int | None, caught_up: Callable[[int], tuple[bool, str | None]] | None = None
    ) -> int:
        """Start acting on Discord; resumes pending role changes (how many). ``caught_up``: the
        collector's word on each guild's start backfill (the reconciler's ``caught_up``)."""
        self.poster = MessagePoster(self.store, api)
        shards = self.settings.shards
        self.reconciler = Reconciler(
            self.store,
            api,
            bot_id=bot_id,
            schedule=self.schedule,
            on_final=self._final,
            holds=shards.owns if shards is not None else None,
            caught_up=caught_up,
        )
        self.roles = RoleRequests(self.gatekeeper, self.reconciler)
        self.slash.roles = self.roles
        self.poster.start()
        return await self.reconciler.start()

    def hand_off(self) -> RoleRequests:
        """Act by request only: an allowed change is committed pending, and the collector that
        holds the store carries it out (``role`` beside a running collector, a moderator's
        console on a team store). These services then make role requests and nothing else."""
        self.roles = RoleRequests(self.gatekeeper, Handoff(self.store, deadline_s=self.schedule.deadline_s))
        return self.roles

    def _final(self, change: Any) -> None:
        if self.poster is not None:
            self.poster.poke(change)
        for listener in self.on_role_change:
            listener(change)

    def on_dispatch(self, name: str, payload: Mapping[str, Any]) -> None:
        if self.reconciler is not None:
            self.reconciler.on_dispatch(name, payload)

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(BaseException):
                await self._watch
        if self.reconciler is not None:
            await self.reconciler.stop()
        if self.poster is not None:
            await self.poster.stop()


def check_policy(settings: Settings) -> None:
    """A bad policy file is one line and exit 2 before anything starts (ConfigError)."""
    from console.config import ConfigError
    from console.policy.document import PolicyError

    try:
        PolicyFile(settings.policy_path())
    except PolicyError as e:
        raise ConfigError(str(e)) from None
