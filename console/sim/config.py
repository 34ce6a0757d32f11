"""Settings of the simulated Discord: fixed at start (SimConfig) and live fault knobs (Knobs)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class SimConfig:
    """How a SimServer is built. Everything random derives from ``seed`` and the ``clock``."""

    seed: int = 1
    """Seed of every random choice (guild shape, activity stream, fault rolls)."""
    host: str = "127.0.0.1"
    """Loopback only: the simulator is a test peer, never a public service."""
    port: int = 0
    """0 picks a free port; the real one is in ``SimServer.rest_url`` after ``start()``."""
    clock: Callable[[], float] | None = None
    """Seconds since the epoch (default ``time.time``); a fixed clock makes ids reproducible."""
    heartbeat_interval_ms: int = 41250
    """Sent in HELLO. Discord's value is 41250; tests use a few hundred ms."""
    token: str | None = None
    """The only token accepted, or None to accept any token that parses (base64 id segment)."""
    guild_name: str = "Sim Moderation HQ"
    guilds: int = 1
    """Guilds the bot is in. The first is ``SimServer.guild`` (the scenario's); the others are
    quiet guilds of the same shape ("Sim Guild 2" …, ``member_count`` members each), built after
    it from seeds of their own, so the first guild is the same whatever this is. All of them
    come in one gateway session and answer REST by the id in the path; the fault knobs and the
    activity stream act on the first guild, ``seed_missed`` on any."""
    member_count: int = 40
    """Members made at start (plus the bot). The driver keeps the guild from emptying."""
    crowd: int = 0
    """Members beyond ``member_count``, made from the seed one by one when first asked for
    (console.sim.crowd): ``crowd=99_958`` is a guild of 100,000 that costs nothing to build. Over
    250 members in all, GUILD_CREATE is ``large`` and carries only the bot's own member."""
    replay_buffer: int = 5000
    """Dispatches a session keeps for RESUME; a resume from before that gets INVALID_SESSION."""
    session_timeout_s: float = 300.0
    """A session with no connection for this long is forgotten (RESUME → INVALID_SESSION)."""
    heartbeat_timeout_factor: float = 3.0
    """Close a connection (4009) that sent no heartbeat for this many intervals (plus 2 s)."""
    shard_count: int = 1
    """Shards the bot needs (GET /gateway/bot's ``shards``). Each IDENTIFY names its shard
    ``[id, count]`` and gets only that shard's guilds (``(guild_id >> 22) % count``); events
    without a guild go to shard 0. Above 1, an IDENTIFY without a shard, or with fewer shards,
    is closed 4011 (sharding required); a shard id outside its count, 4010 (invalid shard)."""
    max_concurrency: int = 1
    """IDENTIFYs per 5 s window, one per bucket ``shard_id % max_concurrency`` (GET /gateway/bot's
    ``session_start_limit.max_concurrency``)."""
    identify_window_s: float = 5.0
    """With more than one shard: a second IDENTIFY in a bucket within this many seconds is
    answered INVALID_SESSION (false), as Discord refuses a session start over the limit, and
    counted in ``Gateway.identifies_refused``. Off for one shard: the single-shard tests
    re-IDENTIFY faster than Discord allows."""

    def now(self) -> float:
        return (self.clock or time.time)()


@dataclass
class Knobs:
    """Fault injection, mutable while the server runs (``sim.knobs.rate_limit_every = 3``)."""

    role_drop_probability: float = 0.0
    """Role PUT/DELETE answered 204 but never applied (discord-api-docs #6289)."""
    role_drop_logs_entry: bool = True
    """Whether a dropped role op still writes its audit entry (as observed on Discord)."""
    role_drops: dict[tuple[int, int], int] = field(default_factory=dict)
    """(member, role) → how many of the next role ops on that pair to drop, whatever the
    probability: one change made to need retries, and only that one (the demo's first minute)."""
    role_delay_probability: float = 0.0
    """Role op applied ``role_delay_s`` later than the 204."""
    role_delay_s: float = 0.5
    role_revert_probability: float = 0.0
    """Role op applied, then undone by another moderator ``role_revert_after_s`` later."""
    role_revert_after_s: float = 0.1
    rate_limit_every: int = 0
    """Every Nth REST request is answered 429 (0 = off)."""
    rate_limit_retry_after: float = 0.05
    rate_limit_scope: str = "shared"
    """X-RateLimit-Scope of the knob's 429s: "shared" (hikari sleeps retry_after) or "user"."""
    bucket_limit: int = 50
    """Requests per route bucket per window before a genuine 429, as Discord's per-route limits:
    a bucket is a route and its major parameter (the guild, channel or webhook in the path), with
    X-RateLimit-Limit, -Remaining, -Reset, -Reset-After and -Bucket on every answer."""
    bucket_window_s: float = 1.0
    global_limit: int = 50
    """Requests per ``global_window_s`` across every route (Discord's global limit, 50/s; 0 =
    off): the next one in a window already full is a 429 with ``"global": true``,
    X-RateLimit-Global and X-RateLimit-Scope: global. Interaction callbacks don't count."""
    global_window_s: float = 1.0
    gateway_drop_interval_s: float | None = None
    """Close every gateway connection with 4000 roughly this often (None = off)."""
    forbidden_role_ids: set[int] = field(default_factory=set)
    """Role PUT/DELETE on these answer 403 Missing Permissions."""
    rest_fail_status: int | None = None
    """Answer every REST request with this status (e.g. 503) while set: an outage."""
    interaction_ack_timeout_s: float | None = None
    """Refuse initial responses (404 Unknown interaction) this long after the interaction was
    dispatched, as Discord does after 3 s. None = no deadline, so slow test machines don't flake."""
    identify_close_code: int | None = None
    """Answer every IDENTIFY by closing with this code instead of READY: Discord's refusals
    (4004 authentication failed, 4010 invalid shard, 4011 sharding required, 4013 invalid
    intents, 4014 disallowed intents), after which hikari does not reconnect. To close a live
    session on demand: ``await sim.gateway.disconnect_all(4014)``."""
    audit_log_forbidden: set[int] = field(default_factory=set)
    """Guilds whose audit log answers 403 50013 Missing Permissions, as when the bot lacks
    VIEW_AUDIT_LOG; their GUILD_AUDIT_LOG_ENTRY_CREATE is withheld too, as Discord does.
    ``sim.set_audit_log_access(allowed)`` flips it the way an admin does (GUILD_ROLE_UPDATE)."""
    audit_log_delay_s: float = 0.0
    """Answer each audit-log page this much later: a backfill still reading when other work of a
    starting collector (its role changes) is under way, as with a long log or a slow Discord."""
    commands_refused_code: int | None = None
    """Answer command registration (PUT/POST guild commands) with 400 and this JSON code:
    30032 (the application's commands limit) or 30034 (the daily creates limit)."""
    members_intent: bool = True
    """The Server Members Intent toggle in the Developer Portal: off, the application's flags
    (GET /applications/@me) carry neither GATEWAY_GUILD_MEMBERS nor its LIMITED variant."""
    commands_scope: bool = True
    """Whether the bot was added with the applications.commands scope: without it, the guild's
    command routes answer 403 Missing Access (50001), as Discord does."""
