"""A request on a PostgreSQL store waits visibly while no collector holds the store: the pending
pane says "no collector is running for this guild" beside the count, and stops saying it once a
collector has taken the store; the header says which collector runs (host, pid, since), or none."""

from __future__ import annotations

import os
import socket
import time

from console.roles.reconciler import new_change
from console.store.postgres.store import PgStore
from console.store.team_access import NO_COLLECTOR
from console.ui.app import ConsoleApp
from console.ui.widgets.pending import PendingPane
from console.ui.widgets.status import StatusBar

from .seed import FROZEN_MS, frozen_clock
from .test_live_pg import until

GUILD = 1_000_000_000_000_001


async def request(store: PgStore, member: int) -> None:
    change = new_change(
        store, GUILD, member, 7, "grant", reason="r", requested_by=5, source="TUI", decision_id=None, deadline_s=600
    )
    await store.record_role_change(change)


async def test_pending_pane_says_no_collector_is_running(pg_url: str) -> None:
    console = await PgStore.open(pg_url, collector_lock=False, clock=frozen_clock)  # a console beside none
    collector = None
    await request(console, 100)
    app = ConsoleApp(
        open_store=lambda: PgStore.open(pg_url, readonly=True, clock=frozen_clock),
        label="browse",
        clock=frozen_clock,
        remember=False,
    )
    try:
        async with app.run_test(size=(170, 40)) as pilot:
            pane = app.query_one(PendingPane)
            await until(pilot, lambda: pane.border_subtitle == f"1 pending · {NO_COLLECTOR}")
            collector = await PgStore.open(pg_url, clock=frozen_clock)  # takes the collector lock
            await request(console, 101)  # the next change on the store redraws the pane
            await until(pilot, lambda: pane.border_subtitle == "2 pending")
    finally:
        await console.close()
        if collector is not None:
            await collector.close()


async def test_the_header_says_who_collects(pg_url: str) -> None:
    """A console that does not collect says in its header which collector does (host, pid,
    since), or that none runs, and follows it as collectors come and go."""
    await (await PgStore.open(pg_url, collector_lock=False, clock=frozen_clock)).close()  # the store, made
    app = ConsoleApp(
        open_store=lambda: PgStore.open(pg_url, readonly=True, clock=frozen_clock),
        label="browse",
        clock=frozen_clock,
        remember=False,
    )
    collector = None
    try:
        async with app.run_test(size=(200, 40)) as pilot:
            header = app.query_one(StatusBar)
            await until(pilot, lambda: "· no collector running" in header.render().plain)
            collector = await PgStore.open(pg_url, clock=frozen_clock)
            since = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(FROZEN_MS / 1000))
            line = f"· collector {socket.gethostname()} pid {os.getpid()} since {since}"
            await until(pilot, lambda: line in header.render().plain)
            await collector.close()
            collector = None
            await until(pilot, lambda: "· no collector running" in header.render().plain)
    finally:
        if collector is not None:
            await collector.close()
