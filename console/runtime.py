"""One collecting process, as ``collect``, ``run`` and ``demo`` all run it: the collector and its
writer, the services that act for people (policy and its watch, role changes, audit messages,
/audit), the alert rules, retention and the scheduled reports, started and closed in one order.

Who shows what happens is a :class:`Listener`: the console app (``run``, ``demo``) or the
headless command's progress lines on stderr (``collect``). The runtime tells it the collector's
state, hands it the services once they act (it sets their callbacks there, in both faces), and
tells it, in words, anything an operator should hear: a policy that no longer loads, a report
written or not.

Imports here stay light: hikari, the collector and the services are loaded in :meth:`connect`,
after the console's first frame.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from console.config import Settings
from console.ingest.state import CollectorState
from console.secret import REDACTOR, Secret

if TYPE_CHECKING:
    from console.alerts.runner import AlertRunner
    from console.ingest.collector import Collector
    from console.reports.schedule import ReportScheduler
    from console.services import Services
    from console.store import AuditStore
    from console.store.retention import PruneResult, RetentionTask


class Listener(Protocol):
    """Whoever shows the runtime's work (the console app is one as it is)."""

    def collector_state(self, state: CollectorState) -> None:
        """Every change of the collector's state (often: at each committed batch)."""

    def notice(self, message: str, *, severity: str = "information") -> None:
        """Something an operator should hear about, in one line."""

    def attach_services(self, services: Any) -> None:
        """The services act now: set their callbacks (``on_policy``, the reconciler's
        ``on_pause``) to show policy reloads and paused role changes."""


class Runtime:
    """Collects into an open store (the caller opened it, and closes it after :meth:`close`)."""

    def __init__(
        self,
        store: AuditStore,
        settings: Settings,
        token: Secret,
        *,
        on_pruned: Callable[[list[PruneResult]], None] | None = None,
    ) -> None:
        """``on_pruned``: what retention removed (``collect`` prints it; the console shows the
        cut-off in its subtitle instead, so it passes nothing)."""
        self.store = store
        self.settings = settings
        self.token = token
        self.on_pruned = on_pruned
        self.collector: Collector | None = None
        self.services: Services | None = None
        self.alerts: AlertRunner | None = None
        self.retention: RetentionTask | None = None
        self.reports: ReportScheduler | None = None
        self._responder: Any = None  # console.discord.interactions.SlashResponder once acting
        self._shown: CollectorState | None = None
        self._started = False  # until then a failure is raised to the caller, who says it

    async def connect(self, listener: Listener) -> None:
        """Collect and act; returns once connected. Raises SourceError (one line) when Discord
        cannot be reached: ``collect`` exits with it, the console shows it and stays to browse."""
        from console.alerts.runner import AlertRunner
        from console.discord.bot import HikariGateway  # hikari: only now, after the first frame
        from console.ingest.collector import Collector
        from console.store.retention import RetentionTask

        REDACTOR.add(self.token)
        settings = self.settings
        self.collector = Collector(
            self.store,
            guild_ids=settings.guild_ids,
            shards=settings.shards,
            recheck_interval_s=settings.recheck_interval_s,
            on_state=lambda state: self._state(listener, state),
        )
        gateway = HikariGateway(
            self.token,
            rest_url=settings.rest_url,
            events=self.collector,
            shards=settings.shards,
            # A PostgreSQL store may be shared by collectors of other shards: their starts take
            # turns there (console/store/postgres/startup.py); a SQLite file has one collector.
            startup_window=getattr(self.store, "startup_window", None) if settings.shards else None,
        )
        self.retention = RetentionTask(self.store, settings.retention, on_pruned=self.on_pruned).start()
        self.alerts = AlertRunner(self.store, settings.alerts)
        await self.alerts.start()  # before the start's backfill commits: its entries are watched too
        await self.collector.start(gateway)
        self._started = True
        await self._act(listener, gateway)
        self._start_reports(listener)

    def _state(self, listener: Listener, state: CollectorState) -> None:
        """The listener sees every state; what went wrong (or right again) is also said once."""
        from console.ingest.problems import changes

        before, self._shown = self._shown or CollectorState(), state
        if not self._started:  # connect() raises it: said once, by whoever called
            before = before._replace(gateway_closed=state.gateway_closed)
        listener.collector_state(state)
        for line, severity in changes(before, state, lambda gid: self.store.name_of("guild", gid)):
            listener.notice(line, severity=severity)

    async def _act(self, listener: Listener, gateway: Any) -> None:
        """Role changes, audit messages, /audit and the policy watch."""
        from console.discord.bot import attach_services
        from console.policy.document import PolicyError
        from console.services import Services

        assert self.collector is not None
        assert self.alerts is not None
        try:
            services = Services(self.store, self.settings, live_guild=self.collector.guilds.snapshot)
        except PolicyError as e:
            # Checked before starting, broken since: collecting goes on (the record must not
            # stop), acting does not; said once, where the operator looks.
            listener.notice(f"policy not loaded, nothing will be done for anyone: {e}", severity="error")
            return
        self.services = services
        self._responder = await attach_services(
            gateway, self.collector, services, on_refused=lambda line: listener.notice(line, severity="warning")
        )
        listener.attach_services(services)
        services.start_policy_watch()
        if services.poster is not None:
            self.alerts.connect(services.poster.api)

    def _start_reports(self, listener: Listener) -> None:
        from console.reports.schedule import start_reports

        def done(what: list[str]) -> None:
            failed = any(w.startswith(("post failed", "report not written")) for w in what)
            listener.notice("report: " + "; ".join(what), severity="warning" if failed else "information")

        self.reports = start_reports(self.store, self.settings, self.services, done)

    async def close(self) -> None:
        """Stop everything, in order; what was queued is committed. Safe at any point of
        :meth:`connect` (or before it)."""
        if self.collector is not None:
            self.collector.detach()  # the listener is going: nobody to show state changes to
        if self.reports is not None:
            await self.reports.stop()
        if self.alerts is not None:
            await self.alerts.stop()
        if self.retention is not None:
            await self.retention.stop()
        if self._responder is not None:
            await self._responder.close()
        if self.services is not None:
            await self.services.close()
        if self.collector is not None:
            await self.collector.stop()
