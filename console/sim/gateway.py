"""The simulated Discord gateway: a websocket peer that the real hikari shard talks to.

The protocol as Discord's gateway speaks it: HELLO first; ACK every heartbeat; IDENTIFY → READY →
GUILD_CREATE; every dispatch carries an increasing int ``s`` per session; sessions buffer their
dispatches (also while no client is connected) so RESUME replays everything after the client's
seq, then RESUMED; unknown sessions get INVALID_SESSION(false). ``compress=zlib-stream`` is one
zlib stream per connection, each message flushed with Z_SYNC_FLUSH and sent as a BINARY frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import socket
import struct
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from console.model.shards import shard_of
from console.sim.config import Knobs, SimConfig
from console.sim.guild import JSON, SimGuild
from console.sim.rest import application_flags

log = logging.getLogger("console.sim")

GUILDS, GUILD_MEMBERS, GUILD_MODERATION = 1 << 0, 1 << 1, 1 << 2

#: The intent a dispatch needs; events not listed are always sent (READY, RESUMED, chunks).
EVENT_INTENTS: dict[str, int] = {
    "GUILD_CREATE": GUILDS,
    "GUILD_UPDATE": GUILDS,
    "GUILD_DELETE": GUILDS,
    "GUILD_ROLE_CREATE": GUILDS,
    "GUILD_ROLE_UPDATE": GUILDS,
    "GUILD_ROLE_DELETE": GUILDS,
    "CHANNEL_CREATE": GUILDS,
    "CHANNEL_UPDATE": GUILDS,
    "CHANNEL_DELETE": GUILDS,
    "GUILD_MEMBER_ADD": GUILD_MEMBERS,
    "GUILD_MEMBER_UPDATE": GUILD_MEMBERS,
    "GUILD_MEMBER_REMOVE": GUILD_MEMBERS,
    "GUILD_AUDIT_LOG_ENTRY_CREATE": GUILD_MODERATION,
    "GUILD_BAN_ADD": GUILD_MODERATION,
    "GUILD_BAN_REMOVE": GUILD_MODERATION,
}

#: Dispatches sent while the guild is unavailable or the bot was removed from it (everything
#: else in a one-guild simulator is about that guild, and Discord sends none of it then).
_GUILDLESS = frozenset({"READY", "RESUMED", "GUILD_CREATE", "GUILD_DELETE"})

#: Client close codes that end the session for good (Discord: "your session will be invalidated").
_SESSION_ENDING_CLOSES = frozenset({1000, 1001})


def _dumps(payload: JSON | str) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass
class Session:
    """A gateway session: survives disconnects until it times out or the client ends it."""

    session_id: str
    user_id: int
    intents: int
    seq: int = 0
    buffer: deque[tuple[int, bytes]] = field(default_factory=deque)
    conn: Connection | None = None
    detached_at: float | None = None
    shard_id: int = 0
    shard_count: int = 1

    def has(self, gid: int | None) -> bool:
        """Whether this session's shard carries a guild's events (guild-less ones: shard 0)."""
        if gid is None:
            return self.shard_id == 0
        return shard_of(gid, self.shard_count) == self.shard_id

    def wants(self, name: str, data: JSON, bot_id: int) -> bool:
        needed = EVENT_INTENTS.get(name)
        if needed is None or self.intents & needed:
            return True
        # Discord sends the bot its own GUILD_MEMBER_UPDATE without the privileged intent.
        return name == "GUILD_MEMBER_UPDATE" and str(data.get("user", {}).get("id")) == str(bot_id)


class Connection:
    """One websocket: an ordered writer (a shared zlib stream needs strict ordering)."""

    def __init__(self, ws: web.WebSocketResponse, compress: str | None, path: str, transport: Any = None) -> None:
        self.ws = ws
        self.path = path
        self.transport = transport
        """The TCP transport under the websocket: ``reset`` aborts it."""
        self._zlib = zlib.compressobj() if compress == "zlib-stream" else None
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.session: Session | None = None
        self.last_heartbeat = time.monotonic()
        self.server_close_code: int | None = None
        self._writer = asyncio.create_task(self._write_loop(), name="sim-gateway-writer")

    def send(self, frame: bytes) -> None:
        self._queue.put_nowait(frame)

    async def _write_loop(self) -> None:
        while (frame := await self._queue.get()) is not None:
            if self.ws.closed:
                return
            try:
                if self._zlib is not None:
                    await self.ws.send_bytes(self._zlib.compress(frame) + self._zlib.flush(zlib.Z_SYNC_FLUSH))
                else:
                    await self.ws.send_str(frame.decode(errors="replace"))
            except (ConnectionError, RuntimeError) as exc:  # peer went away mid-send
                log.debug("gateway send failed: %r", exc)
                return

    def reset(self) -> None:
        """Drop the TCP connection with a RST: no close frame, no FIN, as a NAT or a crashed
        load balancer does. SO_LINGER 0 makes the kernel answer with RST on close."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()

    async def close(self, code: int, reason: str = "") -> None:
        self.server_close_code = code
        with contextlib.suppress(Exception):
            await self.ws.close(code=code, message=reason.encode())

    async def stop(self) -> None:
        self._queue.put_nowait(None)
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._writer


#: Discord's reasons for the closes ``Knobs.identify_close_code`` sends.
_CLOSE_REASONS = {
    4004: "Authentication failed.",
    4010: "Invalid shard.",
    4011: "Sharding required.",
    4012: "Invalid API version.",
    4013: "Invalid intent(s).",
    4014: "Disallowed intent(s).",
}


def _snowflake(value: Any) -> int:
    return int(value) if isinstance(value, (str, int)) and str(value).isdigit() else 0


def _guild_of(name: str, data: JSON) -> int | None:
    """The guild a dispatch is about: ``guild_id``, or ``id`` for the guild's own events."""
    raw = data.get("id") if name in ("GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE") else data.get("guild_id")
    return _snowflake(raw) or None


def _frame(op: int, d: Any, s: int | None = None, t: str | None = None) -> bytes:
    return _dumps({"op": op, "d": d, "s": s, "t": t})


class Gateway:
    """Sessions, connections and the controls tests use to misbehave like Discord does."""

    def __init__(
        self,
        config: SimConfig,
        knobs: Knobs,
        guild: SimGuild,
        token_ok: Callable[[str], bool],
        rng: random.Random,
        *,
        guilds: dict[int, SimGuild] | None = None,
    ) -> None:
        self.config = config
        self.knobs = knobs
        self.guild = guild
        self.guilds = guilds if guilds is not None else {guild.guild_id: guild}
        """Every guild of the session; ``guild`` (the first) is the one ``guild_state`` is about."""
        self._token_ok = token_ok
        self._rng = rng
        self.url = ""
        """ws://host:port/gateway, set by the server once bound."""
        self.resume_url = ""
        self.sessions: dict[str, Session] = {}
        self.connections_open: set[Connection] = set()
        self.zombie = False
        """While True, heartbeats go un-ACKed: hikari calls the connection a zombie and resumes."""
        self.identifies = 0
        self.identifies_refused = 0
        """IDENTIFYs refused for coming too soon in their ``max_concurrency`` bucket."""
        self.identified_shards: list[tuple[int, int]] = []
        """``(shard_id, shard_count)`` of every accepted IDENTIFY, in order."""
        self._bucket_identified: dict[int, float] = {}
        self.resumes = 0
        self.failed_resumes = 0
        self.connections = 0
        self.heartbeats = 0
        self.guild_state = "available"
        """"available", "unavailable" (an outage) or "removed" (the bot was kicked): see
        ``SimServer.guild_delete`` and ``guild_create``."""
        self.member_requests = 0
        """REQUEST_GUILD_MEMBERS (op 8) received: a console must not chunk a big guild."""
        self.connection_paths: list[str] = []
        """Path of every websocket opened: ``/resume`` proves the client used resume_gateway_url."""
        self._changed = asyncio.Condition()
        self._chaos_task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._chaos_task = asyncio.create_task(self._chaos_loop(), name="sim-gateway-chaos")

    async def stop(self) -> None:
        if self._chaos_task:
            self._chaos_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._chaos_task
        await self.disconnect_all(1001)

    async def _chaos_loop(self) -> None:
        """``knobs.gateway_drop_interval_s``: drop every connection (4000) about that often."""
        while True:
            interval = self.knobs.gateway_drop_interval_s
            if not interval:
                await asyncio.sleep(0.1)
                continue
            await asyncio.sleep(interval * self._rng.uniform(0.5, 1.5))
            if self.knobs.gateway_drop_interval_s and self.connections_open:
                log.info("chaos: dropping %d gateway connection(s) with 4000", len(self.connections_open))
                await self.disconnect_all(4000)

    # ------------------------------------------------------------------ state for tests

    @property
    def connected(self) -> bool:
        """True while some connection has a live (READY or RESUMED) session."""
        return any(c.session is not None for c in self.connections_open)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 60.0) -> None:  # noqa: ASYNC109
        """Wait until ``predicate()`` holds: re-checked on every gateway state change, and every
        50 ms for predicates about other state (raises TimeoutError)."""

        async def _wait() -> None:
            async with self._changed:
                while not predicate():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), 0.05)

        await asyncio.wait_for(_wait(), timeout)

    async def wait_connected(self, timeout: float = 60.0) -> None:  # noqa: ASYNC109
        await self.wait_for(lambda: self.connected, timeout)

    async def wait_identified(self, n: int = 1, timeout: float = 60.0) -> None:  # noqa: ASYNC109
        await self.wait_for(lambda: self.identifies >= n and self.connected, timeout)

    async def wait_resumed(self, n: int = 1, timeout: float = 60.0) -> None:  # noqa: ASYNC109
        await self.wait_for(lambda: self.resumes >= n and self.connected, timeout)

    # ------------------------------------------------------------------ controls

    async def disconnect_all(self, code: int = 4000) -> None:
        """Close every connection with ``code`` (4000/4009 → hikari reconnects and resumes)."""
        await asyncio.gather(*(c.close(code, "sim disconnect") for c in list(self.connections_open)))

    def reset_all(self) -> int:
        """Reset every connection at the TCP level (RST, no close frame): the client sees
        "connection reset by peer" and resumes; the sessions stay resumable. Returns how many."""
        conns = list(self.connections_open)
        for conn in conns:
            conn.reset()
        return len(conns)

    async def send_reconnect(self) -> None:
        """op 7: the client closes (3000) and resumes."""
        for conn in list(self.connections_open):
            conn.send(_frame(7, None))

    async def send_invalid_session(self, resumable: bool = False) -> None:
        """op 9. ``resumable=False`` also forgets the sessions, so the client must IDENTIFY."""
        for conn in list(self.connections_open):
            if conn.session is not None and not resumable:
                self.sessions.pop(conn.session.session_id, None)
                conn.session.conn = None
                conn.session = None
            conn.send(_frame(9, resumable))
        await self._notify()

    # ------------------------------------------------------------------ dispatch

    def dispatch_raw(self, name: str, d: bytes) -> None:
        """A dispatch whose ``d`` is ``d`` byte for byte: what ``dispatch`` cannot encode (invalid
        UTF-8, lone surrogate escapes, 2**70, truncated JSON), for the payload fuzz. Buffered and
        replayed on RESUME like any dispatch; a plain-text connection gets it decoded with
        replacement characters (a text frame cannot carry invalid UTF-8)."""
        self.dispatch(name, {}, d=d)

    def dispatch(self, name: str, data: JSON, *, only: Session | None = None, d: bytes | None = None) -> None:
        """Send a dispatch to every session that wants it (buffered for detached sessions)."""
        now = time.monotonic()
        for session in list(self.sessions.values()) if only is None else [only]:
            if (
                session.conn is None
                and session.detached_at is not None
                and now - session.detached_at > self.config.session_timeout_s
            ):
                log.info("session %s timed out", session.session_id)
                self.sessions.pop(session.session_id, None)
                continue
            if not session.wants(name, data, self.guild.bot_id) or not self._guild_sends(name, data):
                continue
            if only is None and not session.has(_guild_of(name, data)):
                continue  # another shard's guild
            session.seq += 1
            if d is None:
                frame = _frame(0, data, session.seq, name)
            else:
                frame = b'{"op":0,"d":' + d + b',"s":%d,"t":%s}' % (session.seq, _dumps(name))
            session.buffer.append((session.seq, frame))
            while len(session.buffer) > self.config.replay_buffer:
                session.buffer.popleft()
            if session.conn is not None:
                session.conn.send(frame)

    def _guild_sends(self, name: str, data: JSON) -> bool:
        """Discord withholds a guild's events while it is out or the bot is not in it, and its
        audit-log events from a bot without VIEW_AUDIT_LOG. ``guild_state`` is the first
        guild's; the other guilds stay available."""
        gid = _guild_of(name, data)
        if gid is None or gid not in self.guilds:
            gid = self.guild.guild_id
        if gid == self.guild.guild_id and self.guild_state != "available" and name not in _GUILDLESS:
            return False
        return not (name == "GUILD_AUDIT_LOG_ENTRY_CREATE" and gid in self.knobs.audit_log_forbidden)

    # ------------------------------------------------------------------ websocket handler

    async def handle(self, request: web.Request) -> web.StreamResponse:
        compress = request.query.get("compress")
        # compress=False: Discord does not negotiate permessage-deflate; zlib-stream is in-band.
        ws = web.WebSocketResponse(compress=False, max_msg_size=1 << 20, timeout=2.0)
        await ws.prepare(request)
        conn = Connection(ws, compress if compress == "zlib-stream" else None, request.path, request.transport)
        self.connections += 1
        self.connection_paths.append(request.path)
        self.connections_open.add(conn)
        conn.send(_frame(10, {"heartbeat_interval": self.config.heartbeat_interval_ms}))
        watchdog = asyncio.create_task(self._watchdog(conn), name="sim-gateway-watchdog")
        try:
            async for msg in ws:
                if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    continue
                try:
                    payload = json.loads(msg.data)
                    op = payload["op"]
                except (ValueError, KeyError, TypeError):
                    await conn.close(4002, "Error while decoding payload.")
                    break
                if not await self._on_op(conn, op, payload.get("d")):
                    break
        finally:
            watchdog.cancel()
            self.connections_open.discard(conn)
            await conn.stop()
            session = conn.session
            if session is not None and session.conn is conn:
                session.conn = None
                session.detached_at = time.monotonic()
                client_code = ws.close_code if conn.server_close_code is None else None
                if client_code in _SESSION_ENDING_CLOSES:
                    self.sessions.pop(session.session_id, None)
            log.debug(
                "gateway connection closed (client code %s, server code %s)",
                ws.close_code,
                conn.server_close_code,
            )
            await self._notify()
        return ws

    async def _watchdog(self, conn: Connection) -> None:
        """Discord closes connections that stop heartbeating."""
        interval = self.config.heartbeat_interval_ms / 1000
        limit = interval * self.config.heartbeat_timeout_factor + 2.0
        while not conn.ws.closed:
            await asyncio.sleep(interval)
            if time.monotonic() - conn.last_heartbeat > limit:
                log.info("no heartbeat for %.1fs: closing 4009", limit)
                await conn.close(4009, "Session timed out.")
                return

    async def _on_op(self, conn: Connection, op: int, d: Any) -> bool:  # noqa: PLR0911
        """Handle one client payload; False ends the connection."""
        if op == 1:
            conn.last_heartbeat = time.monotonic()
            self.heartbeats += 1
            if not self.zombie:
                conn.send(_frame(11, None))
            return True
        if op == 2:
            return await self._identify(conn, d or {})
        if op == 6:
            return await self._resume(conn, d or {})
        if conn.session is None and op in (3, 4, 8, 31, 43):
            await conn.close(4003, "Not authenticated.")
            return False
        if op == 8:
            self.member_requests += 1
            self._member_chunk(conn.session, d or {})  # type: ignore[arg-type]
            return True
        if op in (3, 4, 31, 43):
            return True  # presence / voice / soundboard / channel info: accepted and ignored
        await conn.close(4001, "Unknown opcode.")
        return False

    async def _identify(self, conn: Connection, d: JSON) -> bool:
        if conn.session is not None:
            await conn.close(4005, "Already authenticated.")
            return False
        if not self._token_ok(str(d.get("token", ""))):
            await conn.close(4004, "Authentication failed.")
            return False
        if self.knobs.identify_close_code is not None:
            code = self.knobs.identify_close_code
            await conn.close(code, _CLOSE_REASONS.get(code, "Refused."))
            await self._notify()
            return False
        shard = await self._shard(conn, d.get("shard"))
        if shard is None:
            return False
        if not self._bucket_free(shard[0]):
            self.identifies_refused += 1
            log.info("IDENTIFY of shard %s too soon in its bucket: INVALID_SESSION", shard[0])
            conn.send(_frame(9, False))
            await self._notify()
            return True
        session = Session(
            session_id=f"{self._rng.getrandbits(128):032x}",
            user_id=self.guild.bot_id,
            intents=int(d.get("intents", 0)),
            shard_id=shard[0],
            shard_count=shard[1],
        )
        self.identified_shards.append(shard)
        self.sessions[session.session_id] = session
        session.conn = conn
        conn.session = session
        self.identifies += 1
        g = self.guild
        bot = g.user_object(g.bot_id)
        bot.update(mfa_enabled=False, verified=True, email=None, flags=0)
        self.dispatch(
            "READY",
            {
                "v": 10,
                "user": bot,
                "user_settings": {},
                "private_channels": [],
                "relationships": [],
                "presences": [],
                "guilds": [
                    {"id": str(gid), "unavailable": True}
                    for gid in self.guilds
                    if (gid != g.guild_id or self.guild_state != "removed") and session.has(gid)
                ],
                "guild_join_requests": [],
                "geo_ordered_rtc_regions": ["rotterdam", "frankfurt", "london"],
                "session_type": "normal",
                "session_id": session.session_id,
                "resume_gateway_url": self.resume_url,
                "shard": list(shard),
                "application": {"id": str(g.application_id), "flags": application_flags(self.knobs.members_intent)},
                "auth": {},
                "_trace": ['["sim-gateway",{"micros":0}]'],
            },
            only=session,
        )
        for gid, guild in self.guilds.items():
            if (gid != g.guild_id or self.guild_state == "available") and session.has(gid):
                self.dispatch("GUILD_CREATE", guild.gateway_guild_object(), only=session)
        log.info("IDENTIFY → session %s (intents %s)", session.session_id, session.intents)
        await self._notify()
        return True

    async def _shard(self, conn: Connection, given: Any) -> tuple[int, int] | None:
        """The IDENTIFY's ``[shard_id, shard_count]``, or None after closing as Discord does."""
        if given is None:
            given = [0, 1]
        valid = isinstance(given, list) and len(given) == 2 and all(type(x) is int for x in given)
        if not valid or not 0 <= given[0] < given[1]:
            await conn.close(4010, "Invalid shard.")
            await self._notify()
            return None
        if given[1] < self.config.shard_count:
            await conn.close(4011, "Sharding required.")
            await self._notify()
            return None
        return given[0], given[1]

    def _bucket_free(self, shard_id: int) -> bool:
        """One IDENTIFY per ``max_concurrency`` bucket per window (a sharded bot only)."""
        if self.config.shard_count <= 1 or self.config.identify_window_s <= 0:
            return True
        bucket = shard_id % max(1, self.config.max_concurrency)
        now = time.monotonic()
        last = self._bucket_identified.get(bucket)
        if last is not None and now - last < self.config.identify_window_s:
            return False
        self._bucket_identified[bucket] = now
        return True

    async def _resume(self, conn: Connection, d: JSON) -> bool:
        if not self._token_ok(str(d.get("token", ""))):
            await conn.close(4004, "Authentication failed.")
            return False
        session = self.sessions.get(str(d.get("session_id")))
        seq = d.get("seq")
        oldest = session.buffer[0][0] if session and session.buffer else 1
        if session is None or not isinstance(seq, int) or seq < oldest - 1 or seq > session.seq:
            # Unknown, expired or impossible position: the client must start a new session.
            self.failed_resumes += 1
            conn.send(_frame(9, False))
            await self._notify()
            return True
        if session.conn is not None and session.conn is not conn:
            old = session.conn
            old.session = None
            asyncio.create_task(old.close(4000, "Session resumed elsewhere."))  # noqa: RUF006
        session.conn = conn
        session.detached_at = None
        conn.session = session
        for s, frame in session.buffer:
            if s > seq:
                conn.send(frame)
        session.seq += 1
        conn.send(_frame(0, {"_trace": ['["sim-gateway",{"micros":0}]']}, session.seq, "RESUMED"))
        self.resumes += 1
        log.info("RESUME session %s from seq %s (now %s)", session.session_id, seq, session.seq)
        await self._notify()
        return True

    def _member_chunk(self, session: Session, d: JSON) -> None:
        """op 8 → one GUILD_MEMBERS_CHUNK (the guild is small enough for a single chunk)."""
        g = self.guilds.get(_snowflake(d.get("guild_id")), self.guild)
        wanted = d.get("user_ids")
        if isinstance(wanted, (str, int)):
            wanted = [wanted]
        query = str(d.get("query") or "").lower()
        limit = int(d.get("limit") or 0)
        uids = [int(u) for u in wanted] if wanted else list(g.members)
        found = [u for u in uids if u in g.members and (not query or g.users[u]["username"].startswith(query))]
        if limit:
            found = found[:limit]
        data: JSON = {
            "guild_id": str(g.guild_id),
            "members": [g.member_object(u) for u in found],
            "chunk_index": 0,
            "chunk_count": 1,
        }
        if wanted:
            data["not_found"] = [str(u) for u in uids if u not in g.members]
        if d.get("nonce") is not None:
            data["nonce"] = d["nonce"]
        self.dispatch("GUILD_MEMBERS_CHUNK", data, only=session)
