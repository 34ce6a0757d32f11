"""The commands without a screen: collect, backfill, export, sim."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from pathlib import Path
from typing import Any

from console import gc_policy
from console.config import Settings
from console.ingest.collector import Collector
from console.ingest.state import CollectorState
from console.model.filters import Filter
from console.secret import REDACTOR, Secret
from console.store import Store


def _err(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


async def collect(settings: Settings, token: Secret, *, stop: asyncio.Event | None = None) -> int:
    """Collect until SIGTERM/SIGINT, then flush and exit 0. Progress goes to stderr."""
    from console.discord.bot import HikariGateway

    REDACTOR.add(token)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    store = await Store.open(settings.db)
    last: dict[str, Any] = {"started": False}

    def report(state: CollectorState) -> None:
        if not last["started"]:
            return  # until connected, a failure is reported once, as the command's one line
        key = (state.gateway, state.backfilling, state.degraded)
        if last.get("key") != key:
            last["key"] = key
            parts = [f"gateway {state.gateway}"]
            if state.backfilling:
                parts.append("backfilling " + ", ".join(map(str, sorted(state.backfilling))))
            if state.degraded:
                parts.append(f"DEGRADED: {state.degraded}")
            _err("audit-console: " + "; ".join(parts))

    collector = Collector(
        store, guild_ids=settings.guild_ids, recheck_interval_s=settings.recheck_interval_s, on_state=report
    )
    gateway = HikariGateway(token, rest_url=settings.rest_url, events=collector)
    services = responder = alerts = reports = None
    retention = start_retention(store, settings, _err)
    try:
        alerts = await start_alerts(store, settings)  # before the start's backfill commits
        await collector.start(gateway)
        last["started"] = True
        services, responder = await _act(store, settings, collector, gateway)
        gc_policy.settle()  # connected, services loaded: startup is over
        if services.poster is not None:
            alerts.connect(services.poster.api)
        from console.reports.schedule import start_reports

        reports = start_reports(
            store, settings, services, lambda done: _err("audit-console: report: " + "; ".join(done))
        )
        _err(f"audit-console: collecting into {settings.db} (SIGTERM or Ctrl-C to stop)")
        while not stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), 10.0)
            s = collector.state
            _err(f"audit-console: {s.stored} entries stored this run, {s.entries_per_s:.1f}/s, gateway {s.gateway}")
        _err("audit-console: stopping: flushing what is queued…")
    finally:
        last["started"] = False
        await retention.stop()
        if reports is not None:
            await reports.stop()
        if alerts is not None:
            await alerts.stop()
        if responder is not None:
            await responder.close()
        if services is not None:
            await services.close()
        await collector.stop()
        await store.close()
    _err(f"audit-console: stopped cleanly; {collector.state.stored} entries stored this run")
    return 0


async def _act(store: Store, settings: Settings, collector: Collector, gateway: Any) -> tuple[Any, Any]:
    """Role changes, audit messages and /audit for the collecting process (it runs 24/7)."""
    from console.discord.bot import attach_services
    from console.services import Services

    services = Services(store, settings, live_guild=collector.guilds.snapshot)
    responder = await attach_services(gateway, collector, services)

    def policy_changed(found: Any) -> None:
        _err(f"audit-console: {found.error}" if found.error else f"audit-console: policy {found.version} in force")

    services.on_policy = policy_changed
    services.start_policy_watch()
    if services.reconciler is not None:
        services.reconciler.on_pause = lambda why: _err(
            f"audit-console: role changes paused: the store cannot be written ({why})"
            if why
            else "audit-console: role changes resumed: the store can be written again"
        )
    return services, responder


def start_retention(store: Store, settings: Settings, say: Any = None) -> Any:
    """Retention in a collecting process: prune soon after start, then hourly (nothing when every
    guild keeps its records forever)."""
    from console.store.retention import RetentionTask

    def pruned(results: list[Any]) -> None:
        if say is not None:
            for r in results:
                if r.total:
                    say(f"audit-console: retention: {r.describe()}")

    return RetentionTask(store, settings.retention, on_pruned=pruned).start()


async def start_alerts(store: Store, settings: Settings) -> Any:
    """The alert rules over what this process stores (console/alerts); ``connect(api)`` once
    connected posts them to the alerts channel too."""
    from console.alerts.runner import AlertRunner

    runner = AlertRunner(store, settings.alerts)
    await runner.start()
    return runner


async def backfill(settings: Settings, token: Secret) -> int:
    from console.discord.rest import RestSession
    from console.ingest.backfill import Backfiller

    REDACTOR.add(token)
    store = await Store.open(settings.db)
    failed: list[str] = []
    try:
        async with RestSession(token.reveal(), settings.rest_url) as source:
            backfiller = Backfiller(store, source)
            for gid in settings.guild_ids:
                result = await backfiller.run(gid, "manual", live_until=await store.live_until(gid))
                if result.gap.status == "failed":
                    failed.append(f"guild {gid}: backfill failed: {result.gap.error}")
                else:
                    print(f"guild {gid}: {result.gap.describe()} ({result.pages} pages)")
    finally:
        await store.close()
    if failed:
        from console.cli import Failure

        raise Failure("; ".join(failed))
    return 0


def export(
    settings: Settings, flt: Filter, fmt: str, out: str, *, query: str | None = None, now_ms: int | None = None
) -> int:
    from console.store.connection import check_file
    from console.store.export import export as run_export
    from console.store.export import export_to_file

    check_file(settings.db, must_exist=True)
    asyncio.run(_check_readable(settings.db))
    if query:
        flt = _query_filter(settings.db, query, flt, now_ms)
    if out == "-":
        result = run_export(settings.db, flt, fmt, sys.stdout.buffer)
        sys.stdout.flush()
    else:
        path = Path(out).expanduser()
        try:
            # Through <name>.part, renamed when complete; removed on any failure or Ctrl+C.
            result = export_to_file(settings.db, flt, fmt, path)
        except OSError as e:
            from console.config import ConfigError

            raise ConfigError(f"cannot write {path}: {e.strerror or e}") from None
        _err(f"audit-console: exported {result.rows} records to {path}")
    return 0


def _query_filter(db: Path, query: str, flt: Filter, now_ms: int | None) -> Filter:
    """``--query`` parsed like the search bar and ANDed with the flags; a bad query is one line
    pointing at its column (exit 2)."""
    from console.config import ConfigError
    from console.model.query import QueryError
    from console.store.export import open_readonly
    from console.store.export_query import query_filter

    reader = open_readonly(db)
    try:
        return query_filter(reader, query, now_ms=now_ms if now_ms is not None else int(time.time() * 1000), base=flt)
    except QueryError as e:
        raise ConfigError(f"--query: {e} (at column {e.column + 1}: {query[e.column :][:20]!r})") from None
    finally:
        reader.close()


async def _check_readable(db: Path) -> None:
    """Open read-only once so a bad database fails with one line before any output."""
    store = await Store.open(db, readonly=True)
    await store.close()


def explain(
    settings: Settings,
    guild_id: int,
    member_id: int,
    *,
    capability: str | None,
    permission: str | None,
    channel_id: int | None,
    state: Path | None,
) -> Any:
    """The answer to ``audit-console explain`` (an ``Explanation``). Never records a decision: a
    question is not an action. Bad input raises ConfigError (exit 2)."""
    from console.config import ConfigError
    from console.policy import explain as ex
    from console.policy.document import PolicyError
    from console.policy.gatekeeper import GateError
    from console.policy.policy_file import PolicyFile

    try:
        policy = PolicyFile(settings.policy_path()) if capability else None
        if state is not None:
            guild = ex.load_state(state)
            if guild.id != guild_id:
                raise ConfigError(f"--state holds guild {guild.id}, not --guild {guild_id}")
        else:
            guild = asyncio.run(_stored_guild(settings, guild_id))
        now = now_ms()
        if capability:
            assert policy is not None
            return ex.explain_capability(policy.policy, guild, member_id, capability, channel_id=channel_id, now_ms=now)
        assert permission is not None
        return ex.explain_permission(guild, member_id, permission, channel_id=channel_id, now_ms=now)
    except (ex.ExplainError, PolicyError, GateError) as e:
        raise ConfigError(str(e)) from None


async def _stored_guild(settings: Settings, guild_id: int) -> Any:
    from console.policy.gatekeeper import Gatekeeper
    from console.policy.policy_file import PolicyFile
    from console.store.connection import check_file

    check_file(settings.db, must_exist=True)
    store = await Store.open(settings.db, readonly=True)
    try:
        return await Gatekeeper(store, PolicyFile(None)).guild(guild_id)
    finally:
        await store.close()


async def role_change(
    settings: Settings,
    token: Secret | None,
    *,
    op: str,
    guild_id: int,
    member_id: int,
    role_id: int,
    reason: str,
    wait_s: float,
    token_problem: str | None = None,
) -> int:
    """``audit-console role grant|revoke``: as the configured operator, checked by the policy.

    If a collector runs on the store, the request is handed to it (written beside it) and this
    command watches the store; otherwise this command connects (REST only) and carries the change
    out itself, confirming by fetching the member. Exit 0 when confirmed (or handed in with
    ``--no-wait``), 1 when denied or not confirmed.
    """
    from console.config import ConfigError
    from console.model.snowflake import SnowflakeFactory
    from console.policy.gatekeeper import GateError
    from console.roles.requests import CAPABILITY
    from console.services import Services
    from console.store.errors import StoreError

    if settings.operator_id is None:
        raise ConfigError("set operator_id in the config: the console acts as that Discord user")
    try:
        store = await Store.open(settings.db)
        handoff = False
    except StoreError as e:
        if "in use by another Audit Console" not in str(e):
            raise
        store = await Store.open(settings.db, collector_lock=False)
        store.ids = SnowflakeFactory(worker=30)  # apart from the collector's ids
        handoff = True
    services = Services(store, settings)
    session = None
    try:
        if not handoff:
            if token is None:
                raise ConfigError(
                    f"no collector runs on this store, so this command connects itself: "
                    f"{token_problem or 'it needs the bot token (--token-file or $DISCORD_TOKEN)'}"
                )
            session = await _connect_rest(settings, token, services, guild_id, [settings.operator_id, member_id])
        from console.policy.engine import Request
        from console.roles.reconciler import new_change

        try:
            if handoff:  # check here, then leave the work to the collector
                request = Request(settings.operator_id, CAPABILITY[op], "role", role_id, None, role_id)
                checked = await services.gatekeeper.check(guild_id, request, "CLI")
                change = None
                if checked.allowed:
                    change = new_change(
                        store,
                        guild_id,
                        member_id,
                        role_id,
                        op,
                        reason=reason,
                        requested_by=settings.operator_id,
                        source="CLI",
                        decision_id=checked.decision.id,
                        deadline_s=services.schedule.deadline_s,
                    )
                    await store.record_role_change(change)
                where = "handed to the running collector"
            else:
                assert services.roles is not None
                done = await services.roles.request(
                    guild_id, settings.operator_id, member_id, role_id, op, reason=reason, source="CLI"
                )
                checked, change, where = done.checked, done.change, "carrying it out"
        except GateError as e:
            raise ConfigError(str(e)) from None
        verdict = checked.verdict
        if change is None:
            _err(f"audit-console: denied: {verdict.denial()}")
            return 1
        _err(f"audit-console: allowed ({verdict.reason_code}); request {change.id} pending, {where}")
        if wait_s <= 0:
            return 0
        return await _watch_change(store, change.id, wait_s)
    finally:
        await services.close()
        if session is not None:
            await session.__aexit__(None, None, None)
        await store.close()


async def _connect_rest(settings: Settings, token: Secret, services: Any, guild_id: int, member_ids: list[int]) -> Any:
    from console.discord.rest import RestSession, fetch_guild_state
    from console.discord.role_api import HikariRoleApi

    REDACTOR.add(token)
    session = RestSession(token.reveal(), settings.rest_url)
    await session.__aenter__()
    try:
        state = await fetch_guild_state(session.rest, guild_id, member_ids, rest_url=settings.rest_url)
        await services.store.save_guild_state(guild_id, state)
        me = await session.rest.fetch_my_user()
        await services.connect(HikariRoleApi(session.rest), bot_id=int(me.id))
    except BaseException:
        await session.__aexit__(None, None, None)
        raise
    return session


async def _watch_change(store: Store, change_id: int, wait_s: float) -> int:
    """Print each attempt as it is recorded; the final state decides the exit code."""
    loop = asyncio.get_running_loop()
    deadline, shown = loop.time() + wait_s, 0
    while loop.time() < deadline:
        attempts = await store.attempts(change_id)
        for a in attempts[shown:]:
            status = f"HTTP {a.http_status}" if a.http_status else "event"
            _err(f"audit-console:   {status}: {a.observed}" + (f" ({a.error})" if a.error else ""))
        shown = len(attempts)
        change = await store.role_change(change_id)
        if change is not None and change.final:
            from console.model.snowflake import iso_utc

            if change.state == "confirmed":
                _err(
                    f"audit-console: confirmed: seen applied at {iso_utc(change.observed_at or 0)} "
                    f"after {change.attempts} attempt(s)"
                )
                return 0
            _err(f"audit-console: {change.state}: {change.error or ''}".rstrip(": "))
            return 1
        await asyncio.sleep(0.2)
    _err(f"audit-console: still pending after {wait_s:.0f} s; the collector keeps trying (request {change_id})")
    return 1


def run_sim(*, port: int, seed: int, rate: float) -> int:
    from console.sim import SimConfig
    from console.sim.server import run_standalone

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_standalone(SimConfig(seed=seed, port=port), rate=rate))
    return 0


def now_ms() -> int:
    return int(time.time() * 1000)
