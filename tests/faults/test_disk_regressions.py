"""What the full-disk case (case_disk.py) found, each pinned by a focused test that failed before
its fix:

- a full disk failing a statement inside a transaction (a big batch spills pages before COMMIT)
  escaped as a raw sqlite3 error: the batch writer's task died, the batch was lost from memory
  and the console never showed DEGRADED;
- the reconciler called Discord for a role change while the store could not be written;
- a log file on a full disk printed a traceback on stderr for every log record.
"""

from __future__ import annotations

import asyncio
import io
import logging
import resource
import sys
from pathlib import Path
from typing import Any

import pytest

from console.ingest.writer import BatchWriter
from console.model.snowflake import SnowflakeFactory
from console.roles.api import ApiResult
from console.roles.reconciler import Reconciler, Schedule, new_change
from console.sim.testing import eventually
from console.store import Store
from console.store.errors import StoreFullError

GUILD = 1068071824103702529


def raw_entries(n: int) -> list[dict[str, Any]]:
    ids = SnowflakeFactory(worker=3)
    return [
        {
            "id": str(ids.make(1_760_000_000_000 + i)),
            "action_type": 22,
            "user_id": "176633885491343362",
            "target_id": str(1_200_000_000_000_000_000 + i),
            "reason": f"raid wave {i} " + "x" * 400,
            "guild_id": str(GUILD),
        }
        for i in range(n)
    ]


async def test_full_disk_inside_a_transaction_degrades_the_writer_and_loses_nothing(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "audit.db")
    writer = BatchWriter(store, max_delay=0.01)
    writer.start()
    try:
        w = store._w
        assert w is not None
        pages = (await (await w.execute("PRAGMA page_count")).fetchone())[0]
        # SQLite's own SQLITE_FULL, raised by the INSERT that needs a page the file cannot grow by.
        await w.execute(f"PRAGMA max_page_count = {pages}")
        for raw in raw_entries(300):
            writer.submit(GUILD, raw)
        await eventually(lambda: writer.degraded is not None, 5, "the writer degraded")
        assert "full" in (store.write_failure or "")
        assert await store.count() == 0
        await w.execute("PRAGMA max_page_count = 1073741823")
        await writer.flush(10)
        assert writer.degraded is None
        assert store.write_failure is None
        assert await store.count() == 300
    finally:
        await writer.stop()
        await store.close()


class Discord:
    """The Discord side of the reconciler: records every call and applies it at once."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, int]] = []
        self.roles: dict[int, set[int]] = {}

    async def add_role(self, guild_id: int, member_id: int, role_id: int, reason: str) -> ApiResult:
        self.calls.append(("PUT", member_id, role_id))
        self.roles.setdefault(member_id, set()).add(role_id)
        return ApiResult(204, 1)

    async def remove_role(self, guild_id: int, member_id: int, role_id: int, reason: str) -> ApiResult:
        self.calls.append(("DELETE", member_id, role_id))
        self.roles.setdefault(member_id, set()).discard(role_id)
        return ApiResult(204, 1)

    async def member_roles(self, guild_id: int, member_id: int) -> tuple[ApiResult, frozenset[int] | None]:
        return ApiResult(200, 1), frozenset(self.roles.get(member_id, ()))

    async def post_message(self, channel_id: int, content: str) -> tuple[ApiResult, str | None]:
        return ApiResult(200, 1), "1"


async def test_reconciler_calls_nothing_while_the_store_cannot_be_written(tmp_path: Path, fill_disk: Any) -> None:
    store = await Store.open(tmp_path / "audit.db")
    discord = Discord()
    reconciler = Reconciler(store, discord, schedule=Schedule(first_s=0.2))  # type: ignore[arg-type]
    paused: list[str | None] = []
    reconciler.on_pause = paused.append
    try:
        # The intent was committed (by `audit-console role`, say) before the disk filled up.
        change = new_change(
            store,
            GUILD,
            42,
            7,
            "grant",
            reason="verified",
            requested_by=1,
            source="CLI",
            decision_id=None,
            deadline_s=60,
        )
        await store.record_role_change(change)
        disk = fill_disk(store)
        with pytest.raises(StoreFullError):
            await store.probe_write()
        assert store.write_failure is not None
        await reconciler.start()
        await asyncio.sleep(1.5)
        assert discord.calls == [], "called Discord while nothing could be recorded"
        assert reconciler.paused is not None
        assert paused
        assert paused[0] is not None
        disk.full = False
        await eventually(lambda: discord.calls, 5, "the call once writes commit again")
        await eventually(lambda: reconciler.pending() == [], 5, "confirmed")
        assert reconciler.paused is None
        assert paused[-1] is None
        assert (await store.role_change(change.id)).state == "confirmed"  # type: ignore[union-attr]
        observed = [a.observed for a in await store.attempts(change.id)]
        assert observed[0].startswith("not called: role changes paused"), observed
        assert discord.calls == [("PUT", 42, 7)]
    finally:
        await reconciler.stop()
        await store.close()


def test_a_full_log_file_is_one_line_not_a_traceback_per_record(tmp_path: Path, monkeypatch: Any) -> None:
    from console import logs

    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    logs.setup(tmp_path / "console.log")
    log = logging.getLogger("console.test")
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    try:
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, hard))  # this file (and any other) cannot grow
        for i in range(5):
            log.warning("while full %d", i)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        log.warning("space again")
        logs.setup(None)
    said = err.getvalue()
    assert "Traceback" not in said, said
    assert "Logging error" not in said, said
    assert said.count("cannot write the log file") == 1, said
    assert "space again" in (tmp_path / "console.log").read_text()


async def test_space_coming_back_backfills_what_could_not_be_stored(tmp_path: Path, fill_disk: Any) -> None:
    """A new gateway session while the disk is full: its backfill fails, and what the guild did
    before the client identified again never arrives live. Space coming back must backfill it."""
    from console.discord.bot import HikariGateway
    from console.ingest.collector import Collector
    from console.secret import Secret
    from console.sim import SimConfig, SimServer

    sim = SimServer(SimConfig(seed=7, heartbeat_interval_ms=500))
    await sim.start()
    store = await Store.open(tmp_path / "audit.db")
    collector = Collector(store, guild_ids=[sim.guild_id])
    try:
        await collector.start(HikariGateway(Secret(sim.token), rest_url=sim.rest_url, events=collector))
        await eventually(lambda: collector.backfills, 20, "first backfill")
        await collector.wait_idle()
        disk = fill_disk(store)
        sim.emit_random(3)
        await eventually(lambda: collector.state.degraded is not None, 5, "degraded")
        sessions = collector.state.sessions
        await sim.gateway.send_invalid_session(resumable=False)
        sim.emit_random(10)  # no session: these are not dispatched to anyone
        await eventually(lambda: collector.state.sessions > sessions, 20, "a new session")
        await asyncio.sleep(0.5)  # its backfill has failed against the full disk
        disk.full = False
        truth = {int(e["id"]) for e in sim.guild.audit_log}

        async def all_stored() -> bool:
            rows = await store.reader.execute_fetchall("SELECT id FROM audit_entries")
            return truth <= {r[0] for r in rows}

        await eventually(all_stored, 10, "every entry stored after space came back")
        assert collector.state.degraded is None
        assert any(g.reason == "store-recovered" for g in await store.gaps(sim.guild_id))
    finally:
        await collector.stop()
        await store.close()
        await sim.stop()
