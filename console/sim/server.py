"""SimServer: the simulated Discord (REST + gateway on loopback) and its activity API.

The real hikari client connects to it: ``GatewayBot(sim.token, rest_url=sim.rest_url, …)``.
The ground truth — every audit-log entry ever created, member roles, messages — lives in
``sim.guild`` so tests can compare what the console stored with what "Discord" did.

Slash commands
--------------
The bot registers guild commands through REST as on Discord (``set_application_commands``,
``create_slash_command``); they land in ``sim.commands`` (a ``CommandRegistry``: ``all()``,
``by_name(name)``). The application id is the bot's id, the same as ``GET
/oauth2/applications/@me`` answers (``sim.application_id``).

``sim.invoke_command(member_id, name, options, channel_id=None)`` is a member using a
registered command: it checks the options against the registered definition (as the Discord
client would), dispatches INTERACTION_CREATE in Discord's exact shape (member with computed
permissions, ``data.resolved`` for user/role/channel options, a fresh interaction token) and
returns an ``Invocation``. Options use Discord's nested form, snowflakes as str or int::

    inv = sim.invoke_command(mod_id, "audit", [
        {"name": "role", "type": 2, "options": [
            {"name": "grant", "type": 1, "options": [
                {"name": "member", "type": 6, "value": member_id},
                {"name": "role", "type": 8, "value": role_id}]}]}])
    body = await inv.wait_response(timeout=5)   # {"type": 4, "data": {"content": …, "flags": 64}}
    await inv.wait_followups(1)                 # follow-up messages (inv.followups)

``Invocation`` also has ``original`` (the response message, edits applied), ``edits``,
``rejected`` (callbacks refused with 40060), ``ephemeral`` and ``messages``. Answer routes and
their errors (10062, 40060, 10015) are described in ``console.sim.interactions``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import copy
import logging
import random
import sys
from collections.abc import Callable
from typing import Any, TextIO

from aiohttp import web

from console.model.actions import ACTION_TYPES, AGGREGATED_ACTIONS
from console.sim.commands import CommandApi, CommandRegistry
from console.sim.config import Knobs, SimConfig
from console.sim.effects import apply_entry
from console.sim.gateway import Gateway
from console.sim.guild import DAY_MS, JSON, SimGuild
from console.sim.interactions import InteractionApi, Invocation, command_interaction
from console.sim.rest import RestApi
from console.sim.scenario import FUTURE_ACTION_TYPE, ActivityStream, Entry, make_entry

log = logging.getLogger("console.sim")

_ID_KEYS = ("id", "user_id", "target_id")


class SimServer:
    """A simulated Discord for one guild, or several (``SimConfig.guilds``). ``await start()``,
    use, ``await stop()``."""

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        self._knobs = Knobs()
        seed = self.config.seed
        # Separate streams so network timing and fault rolls never shift the activity stream.
        self._rng_world = random.Random(f"sim-{seed}-world")
        self._rng_stream = random.Random(f"sim-{seed}-stream")
        self._rng_faults = random.Random(f"sim-{seed}-faults")
        self.guild = SimGuild(
            self._rng_world,
            self.now_ms(),
            name=self.config.guild_name,
            member_count=self.config.member_count,
            crowd=self.config.crowd,
            crowd_seed=f"sim-{seed}-crowd",
        )
        self.guilds: dict[int, SimGuild] = {self.guild.guild_id: self.guild}
        """Every guild the bot is in by id, the first (``guild``) first."""
        bot_user = self.guild.users[self.guild.bot_id]
        for i in range(2, self.config.guilds + 1):
            extra = SimGuild(
                random.Random(f"sim-{seed}-guild-{i}"),
                self.now_ms(),
                name=f"Sim Guild {i}",
                member_count=self.config.member_count,
                crowd_seed=f"sim-{seed}-crowd-{i}",
                ids=self.guild.ids,
                bot_user=bot_user,
            )
            self.guilds[extra.guild_id] = extra
        # Missed entries come from their own stream: the first guild's stays as it was.
        self._rng_missed = random.Random(f"sim-{seed}-missed")
        self._rng_others = random.Random(f"sim-{seed}-others")
        self._stream = ActivityStream(self._rng_stream, self.guild)
        self.gateway = Gateway(
            self.config,
            self._knobs,
            self.guild,
            self.token_ok,
            random.Random(f"sim-{seed}-gateway"),
            guilds=self.guilds,
        )
        self.rest = RestApi(self)
        self.commands = CommandRegistry(self.guild, self.now_ms)
        """The application's guild commands, as registered through REST."""
        self.invocations: list[Invocation] = []
        """Every ``invoke_command`` so far, oldest first."""
        self._rng_interactions = random.Random(f"sim-{seed}-interactions")
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._driver: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[None]] = set()
        self.bumps = 0
        """In-place count increments so far (MESSAGE_DELETE / MEMBER_MOVE / MEMBER_DISCONNECT)."""
        self.role_ops_applied: list[tuple[int, int, bool, str | None]] = []
        """Role PUT/DELETEs that changed a member: (member, role, add, reason). A dropped op
        (knob) is not here even when it logged an audit entry: the ground truth of role changes."""

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        app = web.Application(middlewares=[self.rest.middleware])
        self.rest.routes(app)
        CommandApi(self).routes(app)
        InteractionApi(self).routes(app)
        # /resume is the resume_gateway_url: hikari must reconnect there to RESUME.
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get("/resume", self.gateway.handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port)
        await site.start()
        server = site._server  # aiohttp keeps the bound socket here; port 0 → the real port
        assert server is not None
        self._port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self.gateway.url = f"ws://{self.config.host}:{self._port}/gateway"
        self.gateway.resume_url = f"ws://{self.config.host}:{self._port}/resume"
        self.gateway.start()
        log.info("sim listening on %s (guild %s)", self.rest_url, self.guild_id)

    async def stop(self) -> None:
        await self.stop_driver()
        for task in list(self._pending):
            task.cancel()
        await asyncio.gather(*self._pending, return_exceptions=True)
        await self.gateway.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SimServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ identity

    @property
    def knobs(self) -> Knobs:
        """Fault knobs, read on every request and dispatch: change them at any time."""
        return self._knobs

    @knobs.setter
    def knobs(self, knobs: Knobs) -> None:
        self._knobs = knobs
        self.gateway.knobs = knobs

    @property
    def port(self) -> int:
        return self._port

    @property
    def rest_url(self) -> str:
        return f"http://{self.config.host}:{self._port}/api/v10"

    @property
    def guild_id(self) -> int:
        return self.guild.guild_id

    @property
    def bot_id(self) -> int:
        return self.guild.bot_id

    @property
    def application_id(self) -> int:
        """The bot's application (same id as the bot user, as for Discord bots made since 2019)."""
        return self.guild.application_id

    @property
    def token(self) -> str:
        """A token hikari accepts: its first segment is base64 of the bot's id."""
        if self.config.token is not None:
            return self.config.token
        encoded = base64.b64encode(str(self.guild.bot_id).encode()).decode().rstrip("=")
        return f"{encoded}.sim.token"

    def token_ok(self, token: str) -> bool:
        if self.config.token is not None:
            return token == self.config.token
        segment = token.split(".", 1)[0]
        try:
            return base64.b64decode(segment + "=" * (-len(segment) % 4), validate=True).isdigit()
        except (binascii.Error, ValueError):
            return False

    def now_ms(self) -> int:
        return int(self.config.now() * 1000)

    # ------------------------------------------------------------------ activity

    def _publish(self, entry: Entry, *, apply: bool = True, guild: SimGuild | None = None) -> Entry:
        """Record an entry as ground truth, apply its effects, dispatch everything (in ``guild``,
        default the first)."""
        g = guild or self.guild
        g.record(entry)
        effects = apply_entry(g, entry) if apply else []
        for name, data in effects:
            self.gateway.dispatch(name, data)
        self.gateway.dispatch("GUILD_AUDIT_LOG_ENTRY_CREATE", {**copy.deepcopy(entry), "guild_id": str(g.guild_id)})
        return entry

    def emit(self, entry_or_action_type: Entry | int, **overrides: Any) -> Entry:
        """Create one entry (a realistic one of the given type, or the dict given) and dispatch it.

        ``overrides`` replace top-level keys (``reason=``, ``user_id=``, ``options=`` …); ints for
        id keys become strings. A dict without ``id`` gets a fresh one.
        """
        now = self.now_ms()
        if isinstance(entry_or_action_type, int):
            entry = make_entry(entry_or_action_type, self._rng_stream, self.guild, now)
        else:
            entry = copy.deepcopy(entry_or_action_type)
            entry.setdefault("id", str(self.guild.ids.make(now)))
            entry.setdefault("user_id", None)
            entry.setdefault("target_id", None)
        entry.update(overrides)
        for key in _ID_KEYS:  # snowflakes travel as strings, whatever the caller passed
            if isinstance(entry.get(key), int):
                entry[key] = str(entry[key])
        return self._publish(entry)

    def emit_random(self, n: int = 1) -> list[Entry]:
        """``n`` new entries from the weighted stream (in-place count bumps happen on the side)."""
        made: list[Entry] = []
        while len(made) < n:
            self._replenish_members()
            entry = self._stream.next(self.now_ms(), self.bump_count)
            if entry is not None:
                made.append(self._publish(entry))
        return made

    def emit_all_types(self) -> list[Entry]:
        """One entry per documented type, then integration 20 and 25, then the future type 250."""
        made = [self.emit(at) for at in ACTION_TYPES]
        for at in (20, 25):
            made.append(self._publish(make_entry(at, self._rng_stream, self.guild, self.now_ms(), integration=True)))
        made.append(self.emit(FUTURE_ACTION_TYPE))
        return made

    def seed_history(self, n: int, days_back: float = 60.0) -> list[Entry]:
        """``n`` entries made in the past (not dispatched, no state change), oldest first.

        With ``days_back`` over 45, the oldest ones are beyond retention: REST must hide them.
        """
        now = self.now_ms()
        times = sorted(now - int(self._rng_stream.uniform(0.01, days_back) * DAY_MS) for _ in range(n))
        if times and days_back > 45:
            times[0] = now - int(days_back * DAY_MS)  # at least one is surely past retention
        types = list(self._stream._types)
        weights = list(self._stream._weights)
        made = [
            make_entry(
                self._rng_stream.choices(types, weights)[0],
                self._rng_stream,
                self.guild,
                ms,
                past=True,
            )
            for ms in times
        ]
        for entry in made:
            self.guild.record(entry)
        self.guild.audit_log.sort(key=lambda e: int(e["id"]))
        return made

    def seed_missed(self, n: int, guild_ids: list[int] | None = None) -> int:
        """``n`` entries in each guild (default: every guild) that happened while the console was
        away: made now, with ids above anything stored, recorded but neither dispatched nor
        applied, so only a backfill finds them. Returns how many were made in all."""
        types = list(self._stream._types)
        weights = list(self._stream._weights)
        made = 0
        for gid in self.guilds if guild_ids is None else guild_ids:
            g = self.guilds[gid]
            for _ in range(n):
                at = self._rng_missed.choices(types, weights)[0]
                g.record(make_entry(at, self._rng_missed, g, self.now_ms()))
                made += 1
        return made

    def emit_in(self, guild_id: int, n: int = 1) -> list[Entry]:
        """``n`` new entries of weighted random types in any guild of the bot, recorded, applied
        and dispatched now (on that guild's shard). From a stream of their own, so the first
        guild's activity and ``seed_missed`` stay as they were."""
        g = self.guilds[guild_id]
        types = list(self._stream._types)
        weights = list(self._stream._weights)
        made = []
        for _ in range(n):
            at = self._rng_others.choices(types, weights)[0]
            made.append(self._publish(make_entry(at, self._rng_others, g, self.now_ms()), guild=g))
        return made

    def bump_count(self, entry_id: int | str) -> Entry:
        """Discord aggregating MESSAGE_DELETE / MEMBER_MOVE / MEMBER_DISCONNECT in place.

        ``options.count`` grows by one on the same entry id; no gateway event is sent.
        """
        entry = self.guild.entries_by_id[int(entry_id)]
        if entry["action_type"] not in AGGREGATED_ACTIONS:
            raise ValueError(f"action type {entry['action_type']} is not aggregated by Discord")
        options = entry.setdefault("options", {})
        options["count"] = str(int(options.get("count", "1")) + 1)
        self.bumps += 1
        return entry

    def member_leave(self, uid: int) -> None:
        """A member leaves on their own (no audit entry): role ops on them now get 404 10007."""
        if self.guild.remove_member(uid):
            user = self.guild.user_object(uid)
            self.gateway.dispatch("GUILD_MEMBER_REMOVE", {"guild_id": str(self.guild_id), "user": user})

    # ------------------------------------------------------------------ the bot's place in the guild

    def guild_delete(self, *, unavailable: bool) -> None:
        """GUILD_DELETE: ``unavailable`` → an outage (Discord lost the guild for a while; its
        events stop until :meth:`guild_create`); otherwise the bot was removed (kicked): its
        events stop and REST on the guild answers 403 50001 Missing Access."""
        data: JSON = {"id": str(self.guild_id)}
        if unavailable:
            data["unavailable"] = True
        self.gateway.dispatch("GUILD_DELETE", data)
        self.gateway.guild_state = "unavailable" if unavailable else "removed"

    def guild_create(self) -> None:
        """GUILD_CREATE again: the outage is over, or the bot was invited back."""
        self.gateway.guild_state = "available"
        self.gateway.dispatch("GUILD_CREATE", self.guild.gateway_guild_object())

    def set_audit_log_access(self, allowed: bool) -> None:
        """An admin takes View Audit Log from the bot's role, or gives it back: the audit log
        answers 403 50013 meanwhile (``Knobs.audit_log_forbidden``), and Discord announces the
        role's change with GUILD_ROLE_UPDATE."""
        if allowed:
            self.knobs.audit_log_forbidden.discard(self.guild_id)
        else:
            self.knobs.audit_log_forbidden.add(self.guild_id)
        role = dict(self.guild.roles[self.guild.role_id("Audit Console")])
        self.gateway.dispatch("GUILD_ROLE_UPDATE", {"guild_id": str(self.guild_id), "role": role})

    def _replenish_members(self) -> None:
        """Keep a long-running stream from kicking everyone out: newcomers join."""
        if len(self.guild.regular_ids()) < max(5, self.config.member_count // 2):
            uid = self.guild.add_new_member(self._rng_stream, self.now_ms())
            self.gateway.dispatch("GUILD_MEMBER_ADD", self.guild.member_object(uid, with_guild_id=True))

    # ------------------------------------------------------------------ slash commands

    def invoke_command(
        self,
        member_id: int,
        name: str,
        options: list[JSON] | None = None,
        *,
        channel_id: int | None = None,
    ) -> Invocation:
        """A member uses the registered slash command ``name``: INTERACTION_CREATE is dispatched.

        ``options`` are Discord's nested options (sub-command group → sub-command → values);
        ``type`` may be left out (taken from the registration). ``channel_id`` defaults to
        #general. Raises LookupError for an unregistered command and ValueError for a member,
        channel or options the Discord client would not allow. Synchronous: the dispatch is
        queued at once; await the returned Invocation's ``wait_response()`` for the answer.
        """
        command = self.commands.by_name(name)
        if command is None:
            raise LookupError(f"/{name} is not registered (Discord only sends registered commands)")
        if self.guild.materialize(member_id) is None:
            raise ValueError(f"{member_id} is not a member of the guild")
        cid = self._command_channel() if channel_id is None else channel_id
        if cid not in self.guild.channels:
            raise ValueError(f"unknown channel {cid}")
        now = self.now_ms()
        interaction_id = self.guild.ids.make(now)
        payload = command_interaction(
            self.guild,
            command,
            interaction_id=interaction_id,
            token=self._interaction_token(interaction_id),
            member_id=member_id,
            channel_id=cid,
            options=copy.deepcopy(options or []),
            now_ms=now,
        )
        invocation = Invocation(payload)
        self.invocations.append(invocation)
        self.gateway.dispatch("INTERACTION_CREATE", payload)
        return invocation

    def _command_channel(self) -> int:
        general = self.guild.core_channels.get("general")
        if general in self.guild.channels:
            return general
        return self.guild.channel_ids(0)[0]

    def _interaction_token(self, interaction_id: int) -> str:
        """Shaped like Discord's: base64 of ``interaction:<id>:<secret>`` (seeded, reproducible)."""
        raw = f"interaction:{interaction_id}:{self._rng_interactions.getrandbits(256):064x}"
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    # ------------------------------------------------------------------ background driver

    def start_driver(self, rate_per_s: float) -> None:
        """Emit random activity at about ``rate_per_s`` entries per second until stopped."""
        if self._driver is not None:
            self._driver.cancel()
        self._driver = asyncio.create_task(self._drive(rate_per_s), name="sim-driver")

    async def stop_driver(self) -> None:
        if self._driver is not None:
            self._driver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._driver
            self._driver = None

    async def _drive(self, rate_per_s: float) -> None:
        # Paced by elapsed time, not by one sleep per entry: sleeps overshoot, and at 1,000/s
        # a per-entry sleep would deliver a fraction of the rate asked for.
        loop = asyncio.get_running_loop()
        start, made = loop.time(), 0
        tick = min(0.02, 1.0 / rate_per_s) if rate_per_s > 0 else 1.0
        while True:
            await asyncio.sleep(tick)
            due = int((loop.time() - start) * rate_per_s) - made
            if due > 0:
                burst = min(due, max(1, int(rate_per_s)))  # never more than a second's worth
                self.emit_random(burst)
                made += due

    # ------------------------------------------------------------------ member role changes (REST)

    def _later(self, delay: float, fn: Any, *args: Any) -> None:
        async def run() -> None:
            await asyncio.sleep(delay)
            fn(*args)

        task = asyncio.create_task(run())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def member_role_change(
        self, uid: int, rid: int, *, add: bool, reason: str | None, actor: int | None = None
    ) -> None:
        """A validated role PUT/DELETE, subject to the drop / delay / revert knobs."""
        k, roll = self.knobs, self._rng_faults.random
        scripted = k.role_drops.get((uid, rid), 0)
        if scripted:
            k.role_drops[(uid, rid)] = scripted - 1
        if scripted or (k.role_drop_probability and roll() < k.role_drop_probability):
            log.info("knob: dropping role %s %s on %s", "add" if add else "remove", rid, uid)
            if k.role_drop_logs_entry and self._role_would_change(uid, rid, add):
                self._publish(self._role_entry(uid, rid, add, reason, actor), apply=False)
            return
        delay = k.role_delay_s if k.role_delay_probability and roll() < k.role_delay_probability else 0.0
        revert = bool(k.role_revert_probability and roll() < k.role_revert_probability)
        if delay:
            self._later(delay, self._apply_role, uid, rid, add, reason, actor)
        else:
            self._apply_role(uid, rid, add, reason, actor)
        if revert:
            self._later(delay + k.role_revert_after_s, self._revert_role, uid, rid, add)

    def quiet_role_change(self, g: SimGuild, uid: int, rid: int, *, add: bool, reason: str | None) -> None:
        """A validated role PUT/DELETE in one of the other guilds: applied at once (the fault
        knobs act on the first guild only), logged and dispatched as Discord does."""
        member = g.members.get(uid)
        if member is None or rid not in g.roles or (rid in member["roles"]) == add:
            return  # no change: Discord answers 204 and logs nothing
        self._publish(self._role_entry(uid, rid, add, reason, None, guild=g), guild=g)

    def _role_would_change(self, uid: int, rid: int, add: bool) -> bool:
        member = self.guild.members.get(uid)
        return member is not None and rid in self.guild.roles and (rid in member["roles"]) != add

    def _role_entry(
        self, uid: int, rid: int, add: bool, reason: str | None, actor: int | None, *, guild: SimGuild | None = None
    ) -> Entry:
        g = guild or self.guild
        entry: Entry = {
            "id": str(g.ids.make(self.now_ms())),
            "user_id": str(actor or g.bot_id),
            "target_id": str(uid),
            "action_type": 25,
            "changes": [{"key": "$add" if add else "$remove", "new_value": [g.partial_role(rid)]}],
        }
        if reason:
            entry["reason"] = reason
        return entry

    def _apply_role(self, uid: int, rid: int, add: bool, reason: str | None, actor: int | None) -> None:
        # No change (already has it / never had it): Discord answers 204 and logs nothing.
        if self._role_would_change(uid, rid, add):
            self.role_ops_applied.append((uid, rid, add, reason))
            self._publish(self._role_entry(uid, rid, add, reason, actor))

    def _revert_role(self, uid: int, rid: int, add: bool) -> None:
        others = [m for m in self.guild.staff_ids() if m != self.guild.bot_id] or [self.guild.owner_id]
        moderator = self._rng_faults.choice(others)
        log.info("knob: moderator %s reverts role %s on %s", moderator, rid, uid)
        self._apply_role(uid, rid, not add, "Reverting a change I did not approve", moderator)


async def run_standalone(
    config: SimConfig | None,
    rate: float,
    out: TextIO = sys.stdout,
    prepare: Callable[[SimServer], None] | None = None,
) -> None:
    """Run the simulator until cancelled, printing one line with the REST URL and the token.
    ``prepare`` changes the guild before it starts (``sim --misconfigure``)."""
    sim = SimServer(config)
    if prepare is not None:
        prepare(sim)
    await sim.start()
    try:
        print(
            f"sim ready: rest_url={sim.rest_url} token={sim.token} guild_id={sim.guild_id}",
            file=out,
            flush=True,
        )
        sim.start_driver(rate)
        await asyncio.Event().wait()
    finally:
        await sim.stop()
