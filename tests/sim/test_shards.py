"""The simulator as a sharded bot's Discord, at the wire level: GET /gateway/bot names the shard
count and max_concurrency; each shard's session gets its own guilds only (``(id >> 22) % count``)
and shard 0 the events without a guild; a bad or missing shard is closed 4010 / 4011; a second
IDENTIFY in a bucket within the 5 s window is refused with INVALID_SESSION."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from console.model.shards import shard_of
from console.sim import SimConfig, SimServer

SHARDS = 2


@pytest.fixture
async def sharded() -> AsyncIterator[SimServer]:
    server = SimServer(SimConfig(seed=4, heartbeat_interval_ms=400, guilds=8, shard_count=SHARDS, max_concurrency=2))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


class _Shard:
    """A plain-text gateway client identified as one shard."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    async def recv(self) -> dict[str, Any]:
        msg = await self.ws.receive(timeout=5)
        assert msg.type is aiohttp.WSMsgType.TEXT, msg
        return json.loads(msg.data)

    async def identify(self, token: str, shard: Any) -> None:
        assert (await self.recv())["op"] == 10
        d = {"token": token, "intents": 7, "properties": {}}
        if shard is not None:
            d["shard"] = shard
        await self.ws.send_str(json.dumps({"op": 2, "d": d}))


async def _shard(http: aiohttp.ClientSession, sim: SimServer, shard: Any) -> _Shard:
    client = _Shard(await http.ws_connect(sim.gateway.url + "?v=10&encoding=json"))
    await client.identify(sim.token, shard)
    return client


async def test_gateway_bot_names_the_shards_and_max_concurrency(sharded: SimServer) -> None:
    auth = {"Authorization": f"Bot {sharded.token}"}
    async with aiohttp.ClientSession() as http, http.get(sharded.rest_url + "/gateway/bot", headers=auth) as r:
        body = await r.json()
    assert body["shards"] == SHARDS
    assert body["session_start_limit"]["max_concurrency"] == 2


async def test_each_shard_gets_its_guilds_and_shard_0_the_guildless(sharded: SimServer) -> None:
    async with aiohttp.ClientSession() as http:
        shards = [await _shard(http, sharded, [i, SHARDS]) for i in range(SHARDS)]
        for i, client in enumerate(shards):
            ready = await client.recv()
            assert ready["t"] == "READY"
            assert ready["d"]["shard"] == [i, SHARDS]
            listed = {int(g["id"]) for g in ready["d"]["guilds"]}
            assert listed == {g for g in sharded.guilds if shard_of(g, SHARDS) == i}
            assert listed  # the seed spreads the 8 guilds over both shards
            for _ in listed:
                created = await client.recv()
                assert created["t"] == "GUILD_CREATE"
                assert int(created["d"]["id"]) in listed
        for gid in sharded.guilds:
            (entry,) = sharded.emit_in(gid)
            client = shards[shard_of(gid, SHARDS)]
            while (got := await client.recv())["t"] != "GUILD_AUDIT_LOG_ENTRY_CREATE":
                assert int(got["d"].get("guild_id", gid)) == gid  # the entry's side effects
            assert got["d"]["id"] == entry["id"]
        sharded.gateway.dispatch("GUILD_AUDIT_LOG_ENTRY_CREATE", {"id": "1", "action_type": 1})
        assert (await shards[0].recv())["d"] == {"id": "1", "action_type": 1}
        # Shard 1 got nothing of it: the next thing it sees is its own guild's entry.
        (entry,) = sharded.emit_in(next(g for g in sharded.guilds if shard_of(g, SHARDS) == 1))
        while (got := await shards[1].recv())["t"] != "GUILD_AUDIT_LOG_ENTRY_CREATE":
            pass
        assert got["d"]["id"] == entry["id"]
        assert sharded.gateway.identified_shards == [(0, SHARDS), (1, SHARDS)]


@pytest.mark.parametrize(("shard", "code"), [([2, 2], 4010), ([0, 0], 4010), ("x", 4010), (None, 4011), ([0, 1], 4011)])
async def test_a_bad_or_missing_shard_is_closed(sharded: SimServer, shard: Any, code: int) -> None:
    async with aiohttp.ClientSession() as http:
        client = await _shard(http, sharded, shard)
        msg = await client.ws.receive(timeout=5)
        assert msg.type is aiohttp.WSMsgType.CLOSE
        assert msg.data == code
    assert sharded.gateway.identifies == 0


async def test_a_second_identify_in_a_bucket_within_5_s_is_refused(sharded: SimServer) -> None:
    async with aiohttp.ClientSession() as http:
        first = await _shard(http, sharded, [0, SHARDS])
        assert (await first.recv())["t"] == "READY"
        other_bucket = await _shard(http, sharded, [1, SHARDS])  # 1 % 2: its own bucket
        assert (await other_bucket.recv())["t"] == "READY"
        again = await _shard(http, sharded, [0, SHARDS])  # bucket 0 again, at once
        refused = await again.recv()
        assert (refused["op"], refused["d"]) == (9, False)
    assert sharded.gateway.identifies_refused == 1
    assert sharded.gateway.identifies == 2
