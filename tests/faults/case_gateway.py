"""Gateway faults: the real collector + real hikari against the simulator, through a soak of
TCP resets, RECONNECT, INVALID_SESSION (resumable and not), zombie connections and 429 storms,
while the simulator's driver creates audit entries all along.

Ground truth is the simulator's audit log. The console gets no help: no backfill is called
from here — whatever it recovers, it recovers on its own (a new session backfills).

An *outage* is a stretch during which the collector's gateway state was not "connected" (from
its ``on_state`` reports). It is accounted for when it ended in a RESUMED (Discord's replay is
the recovery) or in a new session (READY) whose gap was recorded by the console — reason
"reconnect", detected during the outage, closed as "recovered", and starting no later than the
outage did (one second allowed for the console to notice the drop).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faultkit import Figure, zero

from console.discord.bot import HikariGateway
from console.ingest.collector import Collector
from console.ingest.state import CollectorState
from console.secret import Secret
from console.sim import SimConfig, SimServer
from console.sim.testing import eventually
from console.store import Store

NAME = "gateway"
TITLE = "Gateway faults (soak)"

KINDS = ("reset", "reconnect", "invalid-resumable", "invalid-new", "zombie", "429-storm")
#: The console may notice a drop this much after it happened (a reset is seen at once; an
#: INVALID_SESSION after the op arrives); a gap starting later than that hides missed time.
NOTICE_SLACK_MS = 1000
SEED = 7007


@dataclass
class Watch:
    """Timestamps (store clock, ms) of what the collector reported."""

    store: Store
    events: list[tuple[int, str]] = field(default_factory=list)
    _last: str = "connecting"

    def on_state(self, state: CollectorState) -> None:
        if state.gateway != self._last:
            if state.gateway == "disconnected" and self._last == "connected":
                self.events.append((self.store.now_ms(), "down"))
            elif state.gateway == "connected":
                self.events.append((self.store.now_ms(), "up"))
            self._last = state.gateway

    def on_dispatch(self, name: str, _payload: Mapping[str, Any]) -> None:
        if name in ("READY", "RESUMED"):
            self.events.append((self.store.now_ms(), name))

    @property
    def drops(self) -> int:
        return sum(1 for _, kind in self.events if kind == "down")

    @property
    def connected(self) -> bool:
        return self._last == "connected"

    def outages(self) -> list[tuple[int, int | None, set[str]]]:
        """(start, end or None, {READY/RESUMED seen between this drop and the next})."""
        found: list[tuple[int, int | None, set[str]]] = []
        for i, (t, kind) in enumerate(self.events):
            if kind != "down":
                continue
            end: int | None = None
            how: set[str] = set()
            for t2, k2 in self.events[i + 1 :]:
                if k2 == "down":
                    break
                if k2 == "up" and end is None:
                    end = t2
                if k2 in ("READY", "RESUMED"):
                    how.add(k2)
            found.append((t, end, how))
        return found


async def _storm(sim: SimServer, seconds: float) -> None:
    """429s on REST: every 2nd request refused (scope shared) and a bucket of 3 per second
    (genuine per-route 429s); a new session meanwhile makes the console backfill through it."""
    knobs = sim.knobs
    saved = (knobs.rate_limit_every, knobs.bucket_limit)
    knobs.rate_limit_every, knobs.bucket_limit = 2, 3
    try:
        await asyncio.sleep(0.2)
        await sim.gateway.send_invalid_session(resumable=False)
        await asyncio.sleep(seconds)
    finally:
        knobs.rate_limit_every, knobs.bucket_limit = saved


async def _inject(sim: SimServer, kind: str, short: bool) -> bool:
    """Inject one fault; False when it hit no live connection (it landed inside an outage)."""
    gw = sim.gateway
    live = gw.connected
    if kind == "reset":
        gw.reset_all()
    elif kind == "reconnect":
        await gw.send_reconnect()
    elif kind == "invalid-resumable":
        await gw.send_invalid_session(resumable=True)
    elif kind == "invalid-new":
        await gw.send_invalid_session(resumable=False)
    elif kind == "zombie":
        gw.zombie = True
        try:  # hikari misses an ACK, calls the connection a zombie and reconnects
            await gw.wait_for(lambda: not gw.connected, timeout=10)
        finally:
            gw.zombie = False
    elif kind == "429-storm":
        await _storm(sim, 3.0 if short else 8.0)
    return live


def _schedule(rng: random.Random, short: bool, duration: float) -> list[tuple[float, str]]:
    """(seconds from start, kind). Full: a reset every 20–60 s and, interleaved, the other
    kinds in shuffled rounds every 20–60 s. Short: every kind once (a reset twice), shuffled."""
    if short:
        kinds = ["reset", *rng.sample(KINDS, len(KINDS))]
        return [(0.0, k) for k in kinds]  # paced by recovery, see _soak
    plan: list[tuple[float, str]] = []
    t = rng.uniform(20, 60)
    while t < duration - 20:
        plan.append((t, "reset"))
        t += rng.uniform(20, 60)
    others = [k for k in KINDS if k != "reset"]
    t, bag = rng.uniform(10, 40), []
    while t < duration - 20:
        if not bag:
            bag = rng.sample(others, len(others))
        plan.append((t, bag.pop()))
        t += rng.uniform(20, 60)
    return sorted(plan)


async def _soak(sim: SimServer, watch: Watch, short: bool, duration: float) -> Counter[str]:
    rng = random.Random(SEED)
    injected: Counter[str] = Counter()
    started = time.monotonic()
    for at, kind in _schedule(rng, short, duration):
        if short:
            # Each fault on a settled connection, so every kind is seen on its own.
            await eventually(
                lambda: watch.connected and sim.gateway.connected, timeout=30, what="the console reconnected"
            )
            await asyncio.sleep(rng.uniform(0.8, 1.6))
        else:
            await asyncio.sleep(max(0.0, started + at - time.monotonic()))
        drops = watch.drops
        if await _inject(sim, kind, short):
            injected[kind] += 1
        if short:  # the next fault only once this one has taken the connection down
            with contextlib.suppress(AssertionError):
                await eventually(lambda d=drops: watch.drops > d, timeout=15, what="the drop")
    if not short:
        await asyncio.sleep(max(0.0, started + duration - time.monotonic()))
    return injected


async def _duplicates(store: Store, sim: SimServer) -> int:
    """Rows for one entry more than once, chain links for the same revision more than once, and
    revisions Discord never made (a replay or a backfill overlap counted as a change)."""
    db = store.reader
    (dup_rows,) = await (
        await db.execute("SELECT count(*) FROM (SELECT id FROM audit_entries GROUP BY id HAVING count(*) > 1)")
    ).fetchone()
    (dup_links,) = await (
        await db.execute(
            "SELECT count(*) FROM (SELECT record_id, revision FROM chain WHERE kind = 0"
            " GROUP BY guild_id, record_id, revision HAVING count(*) > 1)"
        )
    ).fetchone()
    spurious = 0
    truth = sim.guild.entries_by_id
    async with db.execute("SELECT id, revision FROM audit_entries WHERE revision > 0") as cur:
        async for entry_id, revision in cur:
            made = int((truth.get(entry_id, {}).get("options") or {}).get("count", "1")) - 1
            spurious += max(0, revision - made)
    return int(dup_rows) + int(dup_links) + spurious


async def _unaccounted(store: Store, watch: Watch, guild_id: int) -> tuple[int, int, int]:
    """(outages not accounted for, outages, of which new sessions)."""
    gaps = [g for g in await store.gaps(guild_id) if g.reason == "reconnect"]
    outages = watch.outages()
    bad = new_sessions = 0
    for i, (start, end, how) in enumerate(outages):
        if end is None:
            bad += 1  # never came back
            continue
        if "READY" not in how:
            bad += "RESUMED" not in how
            continue
        new_sessions += 1
        limit = outages[i + 1][0] if i + 1 < len(outages) else None
        if not any(
            g.detected_at >= start
            and (limit is None or g.detected_at <= limit)
            and g.status == "recovered"
            and g.ended_at is not None
            and g.started_at is not None
            and g.started_at <= start + NOTICE_SLACK_MS
            for g in gaps
        ):
            bad += 1
    return bad, len(outages), new_sessions


async def run(short: bool, workdir: Path) -> list[Figure]:
    duration = 25.0 if short else 600.0
    rate = 20.0
    sim = SimServer(SimConfig(seed=SEED, heartbeat_interval_ms=500))
    await sim.start()
    store = await Store.open(workdir / "audit.db")
    watch = Watch(store)
    collector = Collector(store, guild_ids=[sim.guild_id], on_state=watch.on_state)
    collector.dispatch_listeners.append(watch.on_dispatch)
    gateway = HikariGateway(Secret(sim.token), rest_url=sim.rest_url, events=collector)
    started = time.monotonic()
    try:
        await collector.start(gateway)
        await eventually(lambda: collector.backfills, what="first backfill")
        sim.start_driver(rate)
        injected = await _soak(sim, watch, short, duration)
        soaked = time.monotonic() - started
        await sim.stop_driver()
        # The console's own recovery: back on the gateway, backfills done, writer drained.
        with contextlib.suppress(AssertionError):
            await eventually(
                lambda: watch.connected and sim.gateway.connected, timeout=30, what="reconnected after the soak"
            )
        with contextlib.suppress(TimeoutError):
            await collector.wait_idle(30)
        truth = {int(e["id"]) for e in sim.guild.audit_log}

        async def stored() -> set[int]:
            async with store.reader.execute("SELECT id FROM audit_entries WHERE guild_id = ?", (sim.guild_id,)) as cur:
                return {row[0] async for row in cur}

        async def complete() -> bool:
            return truth <= await stored()

        with contextlib.suppress(AssertionError):  # replays still in flight settle here
            await eventually(complete, timeout=10, what="every entry stored")
        missing = len(truth - await stored())
        dups = await _duplicates(store, sim)
        bad, outages, new_sessions = await _unaccounted(store, watch, sim.guild_id)
    finally:
        await collector.stop()
        await store.close()
        await sim.stop()
    length = f"{soaked:.0f} s soak, {len(truth)} entries at {rate:.0f}/s"
    figures = [
        zero(NAME, "entries missing after the soak vs the simulator", missing, length),
        zero(NAME, "entries stored twice (rows, chain links, spurious revisions)", dups, length),
        zero(NAME, "outages without a recorded gap or resume", bad, f"{outages} outages, {new_sessions} new sessions"),
    ]
    for kind in KINDS:
        n = injected.get(kind, 0)
        figures.append(Figure(NAME, f"faults injected: {kind}", str(n), "≥ 1", n >= 1))
    return figures
