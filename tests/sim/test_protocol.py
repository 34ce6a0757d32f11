"""The gateway and REST at the wire level (no hikari): framing, auth, resume edge cases."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import zlib
from typing import Any

import aiohttp

from console.sim import SimConfig, SimServer, run_standalone


class _Client:
    """A minimal zlib-stream gateway client: one inflater per connection, like hikari's."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self._inflate = zlib.decompressobj()

    async def recv(self) -> dict[str, Any]:
        msg = await self.ws.receive(timeout=5)
        assert msg.type is aiohttp.WSMsgType.BINARY, msg
        assert msg.data.endswith(b"\x00\x00\xff\xff")  # Z_SYNC_FLUSH per message
        return json.loads(self._inflate.decompress(msg.data))

    async def send(self, payload: dict[str, Any]) -> None:
        await self.ws.send_bytes(json.dumps(payload).encode())


async def _connect(session: aiohttp.ClientSession, sim: SimServer, path: str = "/gateway") -> _Client:
    url = sim.gateway.url.replace("/gateway", path) + "?v=10&encoding=json&compress=zlib-stream"
    return _Client(await session.ws_connect(url))


def _identify(token: str) -> dict[str, Any]:
    return {"op": 2, "d": {"token": token, "intents": 7, "properties": {}, "shard": [0, 1]}}


async def test_identify_ready_seq_and_resume_replay(sim: SimServer) -> None:
    async with aiohttp.ClientSession() as http:
        client = await _connect(http, sim)
        hello = await client.recv()
        assert hello["op"] == 10
        assert hello["d"]["heartbeat_interval"] == 400
        await client.send({"op": 1, "d": None})
        assert (await client.recv())["op"] == 11
        await client.send(_identify(sim.token))
        ready = await client.recv()
        assert (ready["t"], ready["s"]) == ("READY", 1)
        assert ready["d"]["resume_gateway_url"] == sim.gateway.resume_url
        guild = await client.recv()
        assert (guild["t"], guild["s"]) == ("GUILD_CREATE", 2)
        assert guild["d"]["unavailable"] is False
        session_id = ready["d"]["session_id"]
        await client.ws.close(code=3000)  # a resumable close
        await sim.gateway.wait_for(lambda: not sim.gateway.connected)

        missed = sim.emit_random(3)
        client = await _connect(http, sim, "/resume")
        await client.recv()  # HELLO
        await client.send({"op": 6, "d": {"token": sim.token, "session_id": session_id, "seq": 2}})
        replayed = [await client.recv() for _ in range(3)]
        assert [p["d"]["id"] for p in replayed] == [e["id"] for e in missed]
        assert [p["s"] for p in replayed] == [3, 4, 5]
        resumed = await client.recv()
        assert resumed["t"] == "RESUMED"
        assert resumed["s"] == 6
        await client.ws.close(code=1000)  # ends the session for good
        await sim.gateway.wait_for(lambda: not sim.gateway.sessions)

        client = await _connect(http, sim)
        await client.recv()
        await client.send({"op": 6, "d": {"token": sim.token, "session_id": session_id, "seq": 6}})
        invalid = await client.recv()
        assert invalid["op"] == 9
        assert invalid["d"] is False
        await client.ws.close()


async def test_bad_token_closes_4004_and_uncompressed_is_text(sim: SimServer) -> None:
    async with aiohttp.ClientSession() as http:
        client = await _connect(http, sim)
        await client.recv()
        await client.send(_identify("bm90LWEtbnVtYmVy.x.y"))  # base64("not-a-number")
        msg = await client.ws.receive(timeout=5)
        assert msg.type is aiohttp.WSMsgType.CLOSE
        assert msg.data == 4004

        ws = await http.ws_connect(sim.gateway.url + "?v=10&encoding=json")
        msg = await ws.receive(timeout=5)
        assert msg.type is aiohttp.WSMsgType.TEXT
        assert json.loads(msg.data)["op"] == 10
        await ws.close()


async def test_fixed_token_config() -> None:
    sim = SimServer(SimConfig(token="fixed.token.value"))
    assert sim.token == "fixed.token.value"
    assert sim.token_ok("fixed.token.value")
    assert not sim.token_ok(SimServer().token)


async def test_run_standalone_prints_one_line_and_stops_on_cancel() -> None:
    out = io.StringIO()
    task = asyncio.create_task(run_standalone(SimConfig(seed=5), rate=50.0, out=out))
    for _ in range(100):
        if out.getvalue():
            break
        await asyncio.sleep(0.02)
    line = out.getvalue()
    assert line.count("\n") == 1
    assert "rest_url=http://127.0.0.1:" in line
    assert "token=" in line
    rest_url = line.split("rest_url=")[1].split()[0]
    token = line.split("token=")[1].split()[0]
    async with aiohttp.ClientSession(headers={"Authorization": f"Bot {token}"}) as http:
        resp = await http.get(f"{rest_url}/gateway/bot")
        assert resp.status == 200
        assert (await resp.json())["shards"] == 1
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
