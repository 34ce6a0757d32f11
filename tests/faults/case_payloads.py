"""Malformed payloads: fuzzed gateway dispatches and REST audit-log pages through the real path.

Real entries from the simulator are mutated by hypothesis (derandomized: the same payloads every
run) — wrong types, missing and extra keys, huge numbers, non-snowflake ids, nulls, nested
garbage, lone surrogates, invalid UTF-8, truncated JSON, a ``d`` that is not an object — and sent
by the simulator over loopback to the real hikari client (``Gateway.dispatch_raw``) and served as
audit-log pages to the real backfill (``RestApi.raw_audit_pages``). Every fuzzed payload carries a
marker; afterwards each must be found in ``audit_entries`` or ``parse_failures``. Then ordinary
entries must still arrive, and the app must render the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

from faultkit import Figure, zero
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.discord.bot import HikariGateway
from console.ingest.collector import Collector
from console.model.snowflake import parse as parse_id
from console.secret import Secret
from console.sim import SimConfig, SimServer
from console.sim.testing import eventually
from console.store import Store

NAME = "payloads"
TITLE = "Malformed payloads (fuzzed gateway dispatches and REST pages)"

_ID = "000000000000000000"  # placeholder; each payload gets a fresh snowflake when sent
_JUNK_ID = st.sampled_from(["abc", "", "-5", "0", "1.5", "99999999999999999999", "١٢٣", "12 3"]) | st.sampled_from(
    [-1, 0, 1.5, 2**64 - 1, 2**70, True, None, [], {}]
)
_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=12)  # incl. lone surrogates
_SCALAR = st.none() | st.booleans() | st.integers(-(2**80), 2**80) | st.floats(allow_nan=False) | _TEXT
_JUNK = st.recursive(
    _SCALAR, lambda kids: st.lists(kids, max_size=3) | st.dictionaries(_TEXT, kids, max_size=3), max_leaves=8
)
_KEYS = ["id", "action_type", "user_id", "target_id", "reason", "changes", "options", "guild_id"]


def _mutation() -> st.SearchStrategy[tuple[str, Any, Any]]:
    return st.one_of(
        st.tuples(st.just("set"), st.sampled_from(_KEYS), _JUNK),
        st.tuples(st.just("set"), st.sampled_from(["id", "user_id", "target_id"]), _JUNK_ID),
        st.tuples(st.just("drop"), st.sampled_from(_KEYS), st.none()),
        st.tuples(st.just("extra"), _TEXT, _JUNK),
        st.tuples(st.just("deep"), st.sampled_from(["changes", "options"]), _JUNK),
    )


def _plans(n: int) -> list[dict[str, Any]]:
    """``n`` fuzz plans, the same every run (hypothesis derandomized, no example database)."""
    out: list[dict[str, Any]] = []

    @settings(max_examples=n, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        base=st.integers(0, 10_000),
        muts=st.lists(_mutation(), min_size=1, max_size=4),
        byte_fault=st.sampled_from([None, None, None, "utf8", "truncate", "not-object", "surrogate"]),
        cut=st.floats(0.0, 1.0),
    )
    def collect(base: int, muts: list[tuple[str, Any, Any]], byte_fault: str | None, cut: float) -> None:
        if len(out) < n:
            out.append({"base": base, "muts": muts, "byte_fault": byte_fault, "cut": cut})

    collect()
    return out


def _apply(entry: dict[str, Any], plan: dict[str, Any], marker: str, guild_id: int) -> bytes:
    """The payload's bytes: the marker first (so a truncation keeps it), then the mutated entry."""
    e = dict(entry)
    for op, key, value in plan["muts"]:
        if op == "set":
            e[key] = value
        elif op == "drop":
            e.pop(key, None)
        elif op == "extra":
            e[f"x{key}"] = value
        elif op == "deep":
            e[key] = [value, e.get(key)] if isinstance(e.get(key), list) else {"k": value}
    gid = parse_id(e.get("guild_id"))
    if gid is not None and gid != guild_id:
        e["guild_id"] = str(guild_id)  # another guild's entry is rightly ignored: not a fuzz case
    body = {"_fz": marker, **{k: v for k, v in e.items() if k != "_fz"}}
    fault = plan["byte_fault"]
    if fault == "not-object":
        return json.dumps([marker, body]).encode()
    raw = json.dumps(body).encode()  # ensure_ascii: lone surrogates travel as \udXXX escapes
    if fault == "utf8":
        raw = raw.replace(marker.encode(), marker.encode() + b"\xff\xc3(", 1)
    elif fault == "surrogate":
        raw = raw.replace(marker.encode(), marker.encode() + b"\\ud83d", 1)
    elif fault == "truncate":
        keep = len(b'{"_fz": "') + len(marker) + 2
        raw = raw[: keep + int((len(raw) - keep - 1) * plan["cut"])]
    return raw


class _Errors(logging.Handler):
    """Counts ERROR records from the console and hikari: a crash shows there first."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _accounted(db: Path, markers: list[str]) -> list[str]:
    """The markers found neither in a stored entry nor in a parse failure."""
    con = sqlite3.connect(db)
    try:
        blobs = [r[0] for r in con.execute("SELECT raw FROM audit_entries WHERE raw LIKE '%\"_fz\"%'")]
        blobs += [r[0] for r in con.execute("SELECT raw FROM audit_revisions")]  # replaced in place
        blobs += [r[0] for r in con.execute("SELECT raw FROM parse_failures")]
    finally:
        con.close()
    text = "\n".join(blobs)
    return [m for m in markers if m not in text]


async def _render(db: Path, ids: list[int]) -> int:
    """Open the app on the store, jump to fuzzed entries, open their details and raw JSON."""
    from console.ui.app import ConsoleApp
    from console.ui.widgets.feed import FeedView

    app = ConsoleApp(open_store=lambda: Store.open(db), label="fuzz", remember=False)
    try:
        async with app.run_test(size=(200, 50)) as pilot:
            await pilot.pause(0.3)
            await app.workers.wait_for_complete()
            feed = app.query_one(FeedView)
            for i in ids[:8]:
                if await feed.jump_to_id(i):
                    await pilot.press("enter")
                    await pilot.pause(0.05)
                    await pilot.press("j")
                    await pilot.pause(0.05)
                    await pilot.press("escape")
            await pilot.pause(0.1)
            failed = 0 if app.is_running else 1
    except Exception:  # the app crashed: that is the figure
        logging.getLogger("faults.payloads").exception("app crashed rendering fuzzed entries")
        return 1
    return failed


async def run(short: bool, workdir: Path) -> list[Figure]:
    n_gateway, n_pages, per_page = (60, 8, 6) if short else (600, 60, 10)
    plans = _plans(n_gateway + n_pages * per_page)
    errors = _Errors()
    watched = [logging.getLogger("console"), logging.getLogger("hikari")]
    for lg in watched:
        lg.addHandler(errors)
    loop = asyncio.get_running_loop()
    loop_errors: list[dict[str, Any]] = []
    old_handler = loop.get_exception_handler()
    loop.set_exception_handler(lambda _l, ctx: loop_errors.append(ctx))
    sim = SimServer(SimConfig(seed=11, heartbeat_interval_ms=500))
    await sim.start()
    db = workdir / "audit.db"
    store = await Store.open(db)
    collector = Collector(store, guild_ids=[sim.guild_id])
    gateway = HikariGateway(Secret(sim.token), rest_url=sim.rest_url, events=collector)
    markers: list[str] = []
    fuzz_ids: list[int] = []
    try:
        sim.seed_history(30, days_back=5)
        await collector.start(gateway)
        await eventually(lambda: collector.backfills, what="first backfill")
        await collector.wait_idle()
        bases = [json.loads(json.dumps(e)) for e in sim.guild.audit_log]
        gid = sim.guild_id

        def fresh(plan: dict[str, Any]) -> tuple[str, bytes]:
            marker = f"fz{len(markers):05d}q"
            markers.append(marker)
            entry = {**bases[plan["base"] % len(bases)], "guild_id": str(gid)}
            new_id = sim.guild.ids.make(sim.now_ms())
            fuzz_ids.append(new_id)
            entry["id"] = str(new_id)  # a mutation of "id" then overrides it
            return marker, _apply(entry, plan, marker, gid)

        # Gateway: each fuzzed dispatch, interleaved with a real one now and then.
        for k, plan in enumerate(plans[:n_gateway]):
            _, raw = fresh(plan)
            sim.gateway.dispatch_raw("GUILD_AUDIT_LOG_ENTRY_CREATE", raw)
            if k % 10 == 9:
                sim.emit_random(1)
                await asyncio.sleep(0.02)
        # REST: pages of fuzzed entries (and pages broken as a whole) to the real backfill.
        rest_plans = plans[n_gateway:]
        for p in range(n_pages):
            chunk = rest_plans[p * per_page : (p + 1) * per_page]
            items = [fresh(plan)[1] for plan in chunk]
            page = (
                b'{"audit_log_entries":[' + b",".join(items) + b'],"users":[{"id":"1","username":"\\udead"}],'
                b'"threads":"junk","webhooks":[null,{"id":2}],"integrations":[],"application_commands":[],'
                b'"auto_moderation_rules":[],"guild_scheduled_events":[]}'
            )
            whole = p % 4
            if whole == 1:
                page = page[: len(page) * 2 // 3]  # truncated JSON
            elif whole == 2:
                page = page.replace(b'"audit_log_entries"', b'"audit_log_entries_x"', 1)
            for m in [m for m in markers[-len(chunk) :] if m.encode() not in page]:
                markers.remove(m)  # cut off with the page's end: never sent
            sim.rest.raw_audit_pages.append(page)
            await collector.backfill(gid, "fuzz")
        # Keeps ingesting: ordinary entries after the fuzz arrive live, and a backfill works.
        with contextlib.suppress(AssertionError):  # a dead shard is counted below, not raised
            await eventually(lambda: sim.gateway.connected, timeout=5, what="gateway connected")
        sim.emit_random(20)
        truth = [int(e["id"]) for e in sim.guild.audit_log]

        async def missing() -> list[int]:
            return [i for i in truth if await store.get_entry(i) is None]

        # Live, with no further backfill: a shard that died on a fuzzed frame shows here.
        with contextlib.suppress(AssertionError):
            await eventually(lambda: _none(missing()), timeout=10, what="valid entries")
        await collector.wait_idle()
        lost_valid = len(await missing())
        writer_dead = collector.writer._task is None or collector.writer._task.done()
        shard_dead = not gateway.bot.is_alive or not sim.gateway.connected
    finally:
        await collector.stop()
        await store.close()
        await sim.stop()
        loop.set_exception_handler(old_handler)
        for lg in watched:
            lg.removeHandler(errors)
    unaccounted = _accounted(db, markers)
    con = sqlite3.connect(db)
    try:
        stored_fuzz = [r[0] for r in con.execute("SELECT id FROM audit_entries WHERE raw LIKE '%\"_fz\"%' ORDER BY id")]
        failures = con.execute("SELECT count(*) FROM parse_failures").fetchone()[0]
    finally:
        con.close()
    render_failed = await _render(db, stored_fuzz)
    crashes = len(errors.records) + len(loop_errors) + int(writer_dead) + int(shard_dead) + render_failed
    why = "; ".join(
        [r.getMessage()[:80] for r in errors.records[:3]]
        + [str(c.get("message"))[:80] for c in loop_errors[:3]]
        + (["writer task ended"] if writer_dead else [])
        + (["shard dead"] if shard_dead else [])
        + (["app failed rendering"] if render_failed else [])
    )
    return [
        zero(
            NAME,
            "crashes (error logs, loop exceptions, dead writer or shard, app render)",
            crashes,
            why or "real hikari vs sim; then the app renders the stored fuzz",
        ),
        zero(
            NAME,
            "fuzzed payloads neither stored nor recorded as a parse failure",
            len(unaccounted),
            f"first: {unaccounted[:3]}" if unaccounted else f"{len(stored_fuzz)} stored, {failures} parse failures",
        ),
        zero(
            NAME,
            "valid entries missing after the fuzz",
            lost_valid,
            f"of {len(truth)} from the simulator, 20 sent live after the fuzz",
        ),
        Figure(
            NAME,
            "payloads fuzzed",
            str(len(markers)),
            "informational",
            True,
            f"{n_gateway} gateway dispatches, {n_pages * per_page} entries in {n_pages} REST pages",
        ),
    ]


async def _none(c: Any) -> bool:
    return not await c
