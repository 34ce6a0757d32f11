"""``audit-console role grant|revoke``: as the configured operator, checked by the policy, and
confirmed by observing the member."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from console.commands.collect import say
from console.config import Settings
from console.errors import ConfigError
from console.model.records import RoleChange
from console.secret import REDACTOR, Secret
from console.store import AuditStore, open_store
from console.store.team_access import NO_COLLECTOR, collector_running, store_identity


def check_request(reason: str, wait_s: float) -> str:
    """The reason as sent (whitespace collapsed); ConfigError for a reason Discord would refuse
    or a wait out of range."""
    from console.roles.reconciler import REASON_MAX

    reason = " ".join(reason.split())
    if not reason:
        raise ConfigError("--reason: say why (it goes to Discord's audit log)")
    if len(reason) > REASON_MAX:
        raise ConfigError(f"--reason is {len(reason)} characters; Discord takes at most {REASON_MAX}")
    if not 0 <= wait_s <= 86_400:
        raise ConfigError("--wait must be 0 to 86400 seconds")
    return reason


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
    """If a collector runs on the store, the request is handed to it (written beside it) and this
    command watches the store; otherwise this command connects (REST only) and carries the change
    out itself. Exit 0 when confirmed (or handed in with ``--no-wait``), 1 when denied or not
    confirmed."""
    from console.model.snowflake import SnowflakeFactory
    from console.policy.gatekeeper import GateError
    from console.services import Services
    from console.store.errors import CollectorRunningError

    operator, team = await acting_operator(settings)
    # On a team store every change is a request its collector carries out (a moderator's login
    # may not collect); elsewhere this command carries it out itself unless a collector runs.
    handoff = team
    if not team:
        try:
            store = await open_store(settings.db, password_file=settings.password_file)
        except CollectorRunningError:
            handoff = True
    if handoff:
        store = await open_store(settings.db, collector_lock=False, password_file=settings.password_file)
        # Apart from the collector's ids, and (mostly) from the ids of consoles and other `role` runs.
        store.ids = SnowflakeFactory(worker=30, first=secrets.randbelow(4096))
    session = None
    states = None
    try:
        if handoff and token is not None:
            # The stored state holds the members the collector needed, not a big guild's every
            # member: one it lacks (the operator, the member) is asked of Discord, as the
            # collector would, and someone Discord does not know is denied with MEMBER_UNKNOWN.
            from console.commands.members import members_on_demand

            session, states = await members_on_demand(settings, token, store, guild_id)
        services = Services(store, settings, live_guild=None if states is None else states.snapshot)
    except BaseException:
        if session is not None:
            await session.__aexit__(None, None, None)
        await store.close()
        raise
    if states is not None:
        services.gatekeeper.members = states
    try:
        if handoff:  # checked here, carried out by the collector
            roles = services.hand_off()
            where = "handed to the running collector"
        else:
            if token is None:
                raise ConfigError(
                    f"no collector runs on this store, so this command connects itself: "
                    f"{token_problem or 'it needs the bot token (--token-file or $DISCORD_TOKEN)'}"
                )
            session = await _connect_rest(settings, token, services, guild_id, [operator, member_id])
            assert services.roles is not None
            roles, where = services.roles, "carrying it out"
        try:
            done = await roles.request(guild_id, operator, member_id, role_id, op, reason=reason, source="CLI")
        except GateError as e:
            raise ConfigError(str(e)) from None
        verdict, change = done.checked.verdict, done.change
        if change is None:
            say(f"denied: {verdict.denial()}")
            return 1
        say(f"allowed ({verdict.reason_code}); request {change.id} pending, {where}")
        if handoff and not await collector_running(settings.db, guild_id, password_file=settings.password_file):
            say(waiting_line(change))
        if wait_s <= 0:
            return 0
        return await _watch_change(store, change.id, wait_s)
    finally:
        await services.close()
        if session is not None:
            await session.__aexit__(None, None, None)
        await store.close()


async def acting_operator(settings: Settings) -> tuple[int, bool]:
    """Who this command acts as, and whether the store is a team store: there, the Discord user
    its PostgreSQL login is mapped to (``team add-moderator``), never the config's ``operator_id``;
    an unmapped login is refused in one line. Elsewhere the config's ``operator_id``."""
    identity = await store_identity(settings.db, password_file=settings.password_file)
    if identity is not None:
        why = identity.browse_only()
        if why is not None or identity.discord_id is None:
            raise ConfigError(f"cannot act: {why}")
        return identity.discord_id, True
    if settings.operator_id is None:
        raise ConfigError("set operator_id in the config: the console acts as that Discord user")
    return settings.operator_id, False


def waiting_line(change: RoleChange) -> str:
    """What a pending request says while no collector holds its store."""
    from console.model.times import iso_utc

    expires = "" if change.deadline_at is None else f"; it waits and expires at {iso_utc(change.deadline_at)}"
    return f"{NO_COLLECTOR}{expires}"


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


async def _watch_change(store: AuditStore, change_id: int, wait_s: float) -> int:
    """Print each attempt as it is recorded; the final state decides the exit code."""
    loop = asyncio.get_running_loop()
    deadline, shown = loop.time() + wait_s, 0
    while loop.time() < deadline:
        attempts = await store.attempts(change_id)
        for a in attempts[shown:]:
            status = f"HTTP {a.http_status}" if a.http_status else "event"
            say(f"  {status}: {a.observed}" + (f" ({a.error})" if a.error else ""))
        shown = len(attempts)
        change = await store.role_change(change_id)
        if change is not None and change.final:
            from console.model.times import iso_utc

            if change.state == "confirmed":
                say(f"confirmed: seen applied at {iso_utc(change.observed_at or 0)} after {change.attempts} attempt(s)")
                return 0
            say(f"{change.state}: {change.error or ''}".rstrip(": "))
            return 1
        await asyncio.sleep(0.2)
    say(f"still pending after {wait_s:.0f} s; the collector keeps trying (request {change_id})")
    return 1
