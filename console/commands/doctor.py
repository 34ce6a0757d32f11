"""``audit-console doctor``: is the bot set up right? One line per check, ✓ or ✗ with the fix
(the checks: console.setup.checks). ``run`` and ``collect`` run the same checks at start,
compactly (:func:`start_check`): a line when all pass, the ✗ lines otherwise, and go on."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from console.config import Settings
from console.errors import EXIT_FAILED, EXIT_OK
from console.runtime import Listener, Runtime
from console.secret import REDACTOR, Secret
from console.setup.checks import TOKEN_REJECTED, Check, Facts, run_checks

if TYPE_CHECKING:
    from console.store.api import AuditStore

log = logging.getLogger("console.doctor")

#: How long ``run`` and ``collect`` give the setup check before connecting without it.
START_CHECK_S = 10.0


def doctor(settings: Settings, token: Secret, out: TextIO = sys.stdout) -> int:
    """Exit 0 when every check passes, 1 otherwise."""
    REDACTOR.add(token)
    checks = asyncio.run(_checks(settings, token, None))
    for c in checks:
        out.write(c.line() + "\n")
    failed = sum(not c.ok for c in checks)
    if failed:
        out.write(f"{failed} of {len(checks)} checks failed\n")
        return EXIT_FAILED
    out.write(f"all {len(checks)} checks passed\n")
    return EXIT_OK


async def _checks(settings: Settings, token: Secret, store: AuditStore | None) -> list[Check]:
    from console.discord.probe import gather  # hikari: only once a check runs

    facts = await gather(token, settings.rest_url, settings.guild_ids)
    if facts.token_ok:
        facts = await _with_postings(facts, settings, store)
    return run_checks(facts, now_ms=int(time.time() * 1000))


async def _with_postings(facts: Facts, settings: Settings, store: AuditStore | None) -> Facts:
    """The channels the console posts to: each guild's audit channel (kept in the store, set with
    ``/audit audit-set``) and the config's alerts and reports channels."""
    audit = await _audit_channels(settings, store, [g.guild_id for g in facts.guilds])
    alerts = settings.alerts
    guilds = []
    for g in facts.guilds:
        postings: list[tuple[str, int]] = []
        if g.guild_id in audit:
            postings.append(("the audit channel", audit[g.guild_id]))
        if g.guild_id in alerts.channels:
            postings.append(("the alerts channel", alerts.channels[g.guild_id]))
        guilds.append(dataclasses.replace(g, postings=tuple(postings)))
    shared: list[tuple[str, int]] = []
    if alerts.channel is not None:
        shared.append(("the alerts channel", alerts.channel))
    if settings.reports is not None and settings.reports.channel is not None:
        shared.append(("the reports channel", settings.reports.channel))
    return dataclasses.replace(facts, guilds=guilds, shared_postings=tuple(shared))


async def _audit_channels(settings: Settings, store: AuditStore | None, guild_ids: list[int]) -> dict[int, int]:
    from console.model.location import PgLocation
    from console.roles.reconciler import audit_channel_key
    from console.store import open_store
    from console.store.errors import StoreError

    opened = None
    try:
        if store is None:
            if not isinstance(settings.db, PgLocation) and not settings.db.exists():
                return {}  # no store yet: no audit channel has been set
            store = opened = await open_store(
                settings.db, readonly=True, quick_check=False, names=False, password_file=settings.password_file
            )
        found: dict[int, int] = {}
        for gid in guild_ids:
            value = await store.setting(audit_channel_key(gid))
            if value is not None and value.isdigit():
                found[gid] = int(value)
        return found
    except StoreError as e:
        log.warning("audit channels not checked: %s", e)
        return {}
    finally:
        if opened is not None:
            await opened.close()


async def start_check(
    settings: Settings, token: Secret, store: AuditStore, say: Callable[[str], None], *, tui: bool = False
) -> str | None:
    """The checks, compactly, before connecting. What failed is said now, the ✗ lines (one line
    with the first in the console): they explain a connect that fails next. When all passed, the
    line saying so is returned, to be said once connected (a refused connect stays one line).
    Never stops the start: a rejected token or an unreachable Discord is left to the connect,
    which already says it."""
    try:
        # Bounded: in an outage hikari retries each call with backoff, and the start must not
        # wait for that twice (the connect meets it too, and says it).
        checks = await asyncio.wait_for(_checks(settings, token, store), START_CHECK_S)
    except Exception as e:  # a check must never keep the console from collecting
        log.info("setup check skipped: %s", REDACTOR.redact(str(e) or e.__class__.__name__))
        return None
    failed = [c for c in checks if not c.ok]
    if not failed:
        return f"setup checked: all {len(checks)} checks passed"
    if any(c.text == TOKEN_REJECTED for c in failed):
        return None
    n = len(failed)
    if tui:
        # A notice holds about 300 characters: how many, where to see them all, then the first.
        say(f"setup: {n} check{'' if n == 1 else 's'} failed (audit-console doctor lists them): {failed[0].line()}")
    else:
        for c in failed:
            say(c.line())
        say(f"{n} setup check{'' if n == 1 else 's'} failed (details: audit-console doctor); collecting anyway")
    return None


class CheckedRuntime(Runtime):
    """``run``'s runtime: the setup checks first (after the console's first frame, as every
    Discord call), told to the console as one notice."""

    async def connect(self, listener: Listener) -> None:
        passed = await start_check(
            self.settings, self.token, self.store, lambda line: listener.notice(line, severity="warning"), tui=True
        )
        await super().connect(listener)
        if passed:
            listener.notice(passed)
