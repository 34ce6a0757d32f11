"""Regressions found by the payload fuzz (tests/faults/case_payloads.py): each failed before."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.discord.bot import HikariGateway
from console.discord.payloads import UNREADABLE_DISPATCH, UnreadableJSON, frame_reader, loads
from console.discord.rest import RestSession
from console.ingest.backfill import Backfiller
from console.ingest.collector import Collector
from console.ingest.names import names_from_audit_page
from console.secret import Secret
from console.sim import SimConfig, SimServer
from console.sim.testing import eventually
from console.store import Store


async def test_an_undecodable_gateway_frame_is_kept_and_the_shard_keeps_ingesting(tmp_path: Path) -> None:
    """Before: orjson refused a lone surrogate escape and hikari's shard task died for good —
    the console showed "connected" and stored nothing more."""
    async with SimServer(SimConfig(seed=3, heartbeat_interval_ms=500)) as sim:
        store = await Store.open(tmp_path / "a.db")
        collector = Collector(store, guild_ids=[sim.guild_id])
        try:
            await collector.start(HikariGateway(Secret(sim.token), rest_url=sim.rest_url, events=collector))
            await eventually(lambda: collector.backfills, what="first backfill")
            g = sim.guild_id
            sim.gateway.dispatch_raw(
                "GUILD_AUDIT_LOG_ENTRY_CREATE",
                b'{"id":"1300000000000000001","action_type":22,"guild_id":"%d","reason":"\\ud800"}' % g,
            )
            sim.gateway.dispatch_raw("GUILD_AUDIT_LOG_ENTRY_CREATE", b'{"id":"13000000000000')
            sim.gateway.dispatch_raw("GUILD_AUDIT_LOG_ENTRY_CREATE", b"[1]")
            after = sim.emit(22)
            await eventually(lambda: store.get_entry(int(after["id"])), timeout=10, what="entry after the bad frames")
            await collector.wait_idle()
            failures = await store.parse_failures()
            assert len(failures) == 3, failures
            assert any("\\ud800" in raw or "\\udcff" in raw or "'\\ud800'" in raw for _, _, raw in failures)
            assert sim.gateway.identifies == 1  # no reconnect needed either
        finally:
            await collector.stop()
            await store.close()


def test_the_frame_reader_reads_leniently_and_reports_what_it_cannot() -> None:
    seen: list[tuple[bytes, str]] = []
    read = frame_reader(lambda raw, why: seen.append((raw, why)))
    frame = read(b'{"op":0,"s":5,"t":"X","d":{"n":"\\ud800","big":100000000000000000000000000000,"b":"\xff"}}')
    assert frame["d"]["n"] == "\ud800"
    assert frame["d"]["big"] == 10**29
    assert frame["d"]["b"] == "\udcff"
    assert seen == []
    assert read(b'{"op":0,"s":6,"t":"X","d":null}') == {"op": 0, "s": 6, "t": UNREADABLE_DISPATCH, "d": {}}
    assert read(b"{trunc")["op"] == -1
    assert read(b"[]")["op"] == -1
    assert read(b'{"op":"0"}')["op"] == -1
    assert [raw for raw, _ in seen] == [b'{"op":0,"s":6,"t":"X","d":null}', b"{trunc", b"[]", b'{"op":"0"}']
    with pytest.raises(UnreadableJSON):
        loads(b"[1e400]")  # orjson refuses it, and Python's float would make it inf (then null)


async def test_an_audit_entry_without_a_usable_guild_id_is_a_parse_failure(tmp_path: Path) -> None:
    """Before: the collector dropped it without a trace."""
    store = await Store.open(tmp_path / "a.db")
    collector = Collector(store, guild_ids=[1])
    collector.writer.start()
    try:
        collector.on_dispatch(
            "GUILD_AUDIT_LOG_ENTRY_CREATE",
            {"id": "1300000000000000001", "action_type": 1, "guild_id": "not-a-snowflake"},
        )
        await collector.writer.flush(5)
        assert len(await store.parse_failures()) == 1
    finally:
        await collector.writer.stop()
        await store.close()


async def test_an_action_type_beyond_sqlite_integer_is_a_parse_failure(tmp_path: Path) -> None:
    """Before: 2**64-1 passed parsing, then SQLite raised OverflowError out of add_entries (and
    the batch writer's task died with it)."""
    store = await Store.open(tmp_path / "a.db")
    try:
        result = await store.add_entries(
            [{"id": "1300000000000000001", "action_type": 2**64 - 1, "guild_id": "5"}], source="gateway"
        )
        assert result.failures == 1
        assert result.inserted == []
    finally:
        await store.close()


async def test_a_truncated_audit_log_page_is_kept_and_the_backfill_fails_cleanly(tmp_path: Path) -> None:
    """Before: hikari's JSONDecodeError escaped the backfill (not a SourceError): the gap stayed
    open and nothing recorded what Discord sent."""
    async with SimServer(SimConfig(seed=3)) as sim:
        store = await Store.open(tmp_path / "a.db")
        try:
            async with RestSession(sim.token, sim.rest_url) as source:
                sim.rest.raw_audit_pages.append(b'{"audit_log_entries":[{"id":"13')
                result = await Backfiller(store, source).run(sim.guild_id, "start")
                assert result.gap.status == "failed"
                assert "not JSON" in (result.gap.error or "")
                ((_, error, raw),) = await store.parse_failures()
                assert raw == '{"audit_log_entries":[{"id":"13'
                assert "not JSON" in error
                sim.rest.raw_audit_pages.append(b'{"users":[]}')
                result = await Backfiller(store, source).run(sim.guild_id, "start")
                assert result.gap.status == "failed"
                assert len(await store.parse_failures()) == 2
                result = await Backfiller(store, source).run(sim.guild_id, "start")  # the real page
                assert result.gap.status == "recovered"
        finally:
            await store.close()


def test_a_name_with_a_lone_surrogate_is_not_cached() -> None:
    """Before: SQLite could not bind it and the backfill task died in upsert_names."""
    page = {"users": [{"id": "5", "username": "a\ud800"}, {"id": "6", "username": "ok"}]}
    assert names_from_audit_page(page)["user"] == [(6, "ok")]
