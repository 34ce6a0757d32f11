"""Slash command interactions: the INTERACTION_CREATE Discord sends, and the bot's answers.

``command_interaction`` builds the gateway payload of a guild slash command used by a member
(``SimServer.invoke_command`` dispatches it); an ``Invocation`` records what the bot answered.

Answer routes (no Authorization header: the interaction token in the path is the credential):

* ``POST /interactions/{id}/{token}/callback`` — the one initial response (4 message, 5 deferred,
  9 modal). ``?with_response=true`` (hikari always asks) answers 200 with the interaction
  callback response, else 204. A wrong id or token → 404 Unknown interaction (10062); a second
  callback → 400 Interaction has already been acknowledged (40060); with the
  ``interaction_ack_timeout_s`` knob set, a callback after that long → 10062 as well.
* ``POST /webhooks/{application}/{token}`` — a follow-up message (404 Unknown Webhook, 10015,
  until the interaction is acknowledged).
* ``GET`` / ``PATCH`` / ``DELETE /webhooks/{application}/{token}/messages/{@original | id}``.

Interaction messages live on their Invocation, not in ``guild.messages`` (which holds what the
bot posted through the channel-message route).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from console.model.times import discord_iso
from console.sim.commands import SUB_COMMAND, SUB_COMMAND_GROUP
from console.sim.guild import JSON, SimGuild
from console.sim.rest import (
    API,
    error,
    form_error,
    json_response,
    message_body_error,
    message_object,
    read_json_body,
)

if TYPE_CHECKING:
    from console.sim.server import SimServer

APPLICATION_COMMAND = 2
"""Interaction type of a slash command use."""
EPHEMERAL = 1 << 6
LOADING = 1 << 7
"""Message flag of a deferred response until the bot edits it."""
CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, MODAL = 4, 5, 9
"""The callback types Discord accepts for an application command."""
CHAT_INPUT_COMMAND_MESSAGE = 20
"""Message type of a slash command's response."""

STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER = 3, 4, 5, 6, 7, 8, 9, 10
_SNOWFLAKE_TYPES = frozenset({USER, CHANNEL, ROLE, MENTIONABLE})
_UPLOAD_LIMIT = 10 * 1024 * 1024  # attachment_size_limit of a guild below boost tier 2


# ---------------------------------------------------------------------- the invocation record


class Invocation:
    """One use of a slash command: the payload dispatched and every answer the bot gave."""

    def __init__(self, payload: JSON) -> None:
        self.payload = payload
        """The INTERACTION_CREATE data exactly as dispatched."""
        self.id = int(payload["id"])
        self.token: str = payload["token"]
        self.response: JSON | None = None
        """The accepted initial response: the callback body ``{"type", "data"}``."""
        self.original: JSON | None = None
        """The ``@original`` message (callback 4 or 5), kept current through edits and deletes."""
        self.followups: list[JSON] = []
        """Follow-up messages, as returned to the bot."""
        self.edits: list[JSON] = []
        """PATCH bodies sent to ``@original`` or a follow-up, in order."""
        self.rejected: list[JSON] = []
        """Callback bodies refused because the interaction was already acknowledged."""
        self.dispatched_at = time.monotonic()
        self._changed = asyncio.Event()

    @property
    def acknowledged(self) -> bool:
        return self.response is not None

    @property
    def ephemeral(self) -> bool:
        """Whether the initial response asked for an ephemeral message (flags 64)."""
        data = (self.response or {}).get("data") or {}
        return bool(int(data.get("flags") or 0) & EPHEMERAL)

    @property
    def messages(self) -> list[JSON]:
        """What the invoking member sees: the original response, then the follow-ups."""
        return ([self.original] if self.original else []) + self.followups

    def notify(self) -> None:
        """Wake everyone waiting on this invocation (called on every recorded answer)."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 60.0,  # noqa: ASYNC109
        what: str = "condition",
    ) -> None:
        """Wait until ``predicate()`` holds; TimeoutError naming ``what`` otherwise."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            changed = self._changed
            left = deadline - loop.time()
            if left <= 0:
                raise TimeoutError(f"interaction {self.id}: no {what} within {timeout}s")
            try:
                await asyncio.wait_for(changed.wait(), left)
            except TimeoutError:
                continue  # the predicate gets one last look before the raise above

    async def wait_response(self, timeout: float = 60.0) -> JSON:  # noqa: ASYNC109
        """The initial response body ``{"type", "data"}`` once the bot sent it."""
        await self.wait_for(lambda: self.response is not None, timeout, "initial response")
        assert self.response is not None
        return self.response

    async def wait_followups(
        self,
        n: int = 1,
        timeout: float = 60.0,  # noqa: ASYNC109
    ) -> list[JSON]:
        """The follow-up messages once there are at least ``n``."""
        await self.wait_for(lambda: len(self.followups) >= n, timeout, f"{n} follow-up(s)")
        return list(self.followups)

    async def wait_edits(self, n: int = 1, timeout: float = 60.0) -> list[JSON]:  # noqa: ASYNC109
        """The message edits (PATCH bodies) once there are at least ``n``."""
        await self.wait_for(lambda: len(self.edits) >= n, timeout, f"{n} edit(s)")
        return list(self.edits)

    def command_line(self) -> str:
        """``audit role grant``: the command name with its sub-command group and sub-command."""
        data = self.payload["data"]
        parts, options = [data["name"]], data.get("options") or []
        while len(options) == 1 and options[0]["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP):
            parts.append(options[0]["name"])
            options = options[0].get("options") or []
        return " ".join(parts)


# ---------------------------------------------------------------------- options as Discord sends


def _coerce_value(g: SimGuild, spec: JSON, value: Any, where: str) -> Any:
    """A value the Discord client could have sent for this option; ValueError otherwise."""
    otype = spec["type"]
    if otype in _SNOWFLAKE_TYPES:
        known = {
            USER: g.users,
            CHANNEL: g.channels,
            ROLE: g.roles,
            MENTIONABLE: {**g.users, **g.roles},
        }[otype]
        if not str(value).isdigit() or int(value) not in known:
            raise ValueError(f"{where}: {value!r} is not a known {spec['name']!r} target")
        allowed = spec.get("channel_types")
        if otype == CHANNEL and allowed and g.channels[int(value)]["type"] not in allowed:
            raise ValueError(f"{where}: channel type not in {allowed}")
        return str(value)  # snowflakes travel as strings
    expected: dict[int, tuple[type, ...]] = {
        STRING: (str,),
        INTEGER: (int,),
        BOOLEAN: (bool,),
        NUMBER: (int, float),
    }
    if otype not in expected:
        raise ValueError(f"{where}: option type {otype} is not simulated")
    if not isinstance(value, expected[otype]) or (otype != BOOLEAN and isinstance(value, bool)):
        raise ValueError(f"{where}: {value!r} is not a value of option type {otype}")
    choices = spec.get("choices")
    if choices and value not in [c["value"] for c in choices]:
        raise ValueError(f"{where}: {value!r} is not one of the choices")
    return value


def check_options(g: SimGuild, schema: list[JSON], given: list[JSON], where: str) -> list[JSON]:
    """``given`` checked against the registered ``schema``, in the exact form Discord sends.

    Raises ValueError for what the Discord client would not let a member send: unknown names,
    wrong types, missing required options, no sub-command chosen, unknown users/roles/channels.
    """
    by_name = {o["name"]: o for o in schema}
    if any(o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP) for o in schema) and len(given) != 1:
        raise ValueError(f"{where}: choose exactly one of {sorted(by_name)}")
    out: list[JSON] = []
    for option in given:
        name = option.get("name")
        spec = by_name.get(name)
        if spec is None:
            raise ValueError(f"{where}: no option {name!r} (has {sorted(by_name)})")
        otype = option.get("type", spec["type"])
        if otype != spec["type"]:
            raise ValueError(f"{where} {name}: type {otype}, registered as {spec['type']}")
        if otype in (SUB_COMMAND, SUB_COMMAND_GROUP):
            inner = check_options(g, spec.get("options") or [], option.get("options") or [], f"{where} {name}")
            out.append({"name": name, "type": otype, "options": inner})
        else:
            value = _coerce_value(g, spec, option.get("value"), f"{where} {name}")
            out.append({"name": name, "type": otype, "value": value})
    names = {o["name"] for o in out}
    missing = [o["name"] for o in schema if o.get("required") and o["name"] not in names]
    if missing:
        raise ValueError(f"{where}: required option(s) {missing} missing")
    return out


def _leaves(options: list[JSON]) -> list[JSON]:
    """The value options under any sub-command group / sub-command."""
    found: list[JSON] = []
    for option in options:
        if option["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP):
            found.extend(_leaves(option.get("options") or []))
        else:
            found.append(option)
    return found


# ---------------------------------------------------------------------- the payload


def _interaction_channel(g: SimGuild, cid: int, permissions: int) -> JSON:
    """A channel as interactions carry it: the channel plus the invoker's permissions in it."""
    channel = dict(g.channels[cid])
    channel["permissions"] = str(permissions)
    return channel


def _resolved_member(g: SimGuild, uid: int, cid: int, now_ms: int) -> JSON:
    # Resolved members are partial: no user (it is under users), no deaf/mute.
    member = g.member_object(uid)
    for key in ("user", "deaf", "mute"):
        member.pop(key)
    member["permissions"] = str(g.channel_permissions(uid, cid, now_ms))
    return member


def _resolved(g: SimGuild, options: list[JSON], invoker: int, cid: int, now_ms: int) -> JSON:
    """``data.resolved``: every user, member, role and channel the options point at."""
    users: JSON = {}
    members: JSON = {}
    roles: JSON = {}
    channels: JSON = {}
    for leaf in _leaves(options):
        otype, key = leaf["type"], leaf["value"]
        if otype not in _SNOWFLAKE_TYPES:
            continue
        target = int(key)
        if otype in (USER, MENTIONABLE) and target in g.users:
            users[key] = g.user_object(target)
            if target in g.members:
                members[key] = _resolved_member(g, target, cid, now_ms)
        if otype in (ROLE, MENTIONABLE) and target in g.roles:
            roles[key] = dict(g.roles[target])
        if otype == CHANNEL:
            perms = g.channel_permissions(invoker, target, now_ms)
            channels[key] = {
                k: v
                for k, v in _interaction_channel(g, target, perms).items()
                if k in ("id", "name", "type", "permissions", "parent_id", "guild_id", "flags")
            }
    found = {"users": users, "members": members, "roles": roles, "channels": channels}
    return {k: v for k, v in found.items() if v}


def command_interaction(
    g: SimGuild,
    command: JSON,
    *,
    interaction_id: int,
    token: str,
    member_id: int,
    channel_id: int,
    options: list[JSON],
    now_ms: int,
) -> JSON:
    """INTERACTION_CREATE for a guild slash command, as Discord sends it (options checked)."""
    options = check_options(g, command.get("options") or [], options, f"/{command['name']}")
    data: JSON = {
        "id": command["id"],
        "name": command["name"],
        "type": command["type"],
        "guild_id": str(g.guild_id),  # present because it is a guild command
    }
    if options:
        data["options"] = options
    if resolved := _resolved(g, options, member_id, channel_id, now_ms):
        data["resolved"] = resolved
    member_perms = g.channel_permissions(member_id, channel_id, now_ms)
    member = g.member_object(member_id)
    member["permissions"] = str(member_perms)
    return {
        "id": str(interaction_id),
        "application_id": str(g.application_id),
        "type": APPLICATION_COMMAND,
        "data": data,
        "guild": {
            "id": str(g.guild_id),
            "locale": "en-US",
            "features": g.guild_object()["features"],
        },
        "guild_id": str(g.guild_id),
        "channel": _interaction_channel(g, channel_id, member_perms),
        "channel_id": str(channel_id),
        "member": member,
        "token": token,
        "version": 1,
        "app_permissions": str(g.channel_permissions(g.bot_id, channel_id, now_ms)),
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "entitlement_sku_ids": [],
        "authorizing_integration_owners": {"0": str(g.guild_id)},  # installed to the guild
        "context": 0,  # used in a guild
        "attachment_size_limit": _UPLOAD_LIMIT,
    }


# ---------------------------------------------------------------------- REST routes


class InteractionApi:
    """Callback and interaction-webhook routes, bound to one SimServer."""

    def __init__(self, sim: SimServer) -> None:
        self.sim = sim

    def routes(self, app: web.Application) -> None:
        r = app.router
        r.add_post(f"{API}/interactions/{{interaction}}/{{token}}/callback", self.callback)
        hook = f"{API}/webhooks/{{application}}/{{token}}"
        r.add_post(hook, self.followup)
        r.add_get(f"{hook}/messages/{{message}}", self.get_message)
        r.add_patch(f"{hook}/messages/{{message}}", self.edit_message)
        r.add_delete(f"{hook}/messages/{{message}}", self.delete_message)

    # -------------------------------------------------------------- lookups

    def _by_token(self, token: str) -> Invocation | None:
        return next((i for i in reversed(self.sim.invocations) if i.token == token), None)

    def _too_late(self, inv: Invocation) -> bool:
        limit = self.sim.knobs.interaction_ack_timeout_s
        return limit is not None and time.monotonic() - inv.dispatched_at > limit

    def _webhook(self, request: web.Request) -> Invocation | web.Response:
        """The invocation behind an interaction webhook URL, or Discord's error for it."""
        if request.match_info["application"] != str(self.sim.guild.application_id):
            return error(404, 10015, "Unknown Webhook")
        inv = self._by_token(request.match_info["token"])
        if inv is None:
            return error(401, 50027, "Invalid Webhook Token")
        if not inv.acknowledged:
            # Discord: no follow-up, edit or fetch before the interaction is acknowledged.
            return error(404, 10015, "Unknown Webhook")
        return inv

    @staticmethod
    def _find_message(inv: Invocation, key: str) -> JSON | None:
        if key == "@original":
            return inv.original
        return next((m for m in inv.followups if m["id"] == key), None)

    def _message(self, inv: Invocation, body: JSON, metadata: JSON | None = None) -> JSON:
        """A message the bot sent through the interaction (the original or a follow-up)."""
        g = self.sim.guild
        user = inv.payload["member"]["user"]
        return message_object(
            self.sim,
            channel_id=int(inv.payload["channel_id"]),
            body=body,
            author=g.user_object(g.bot_id),
            type=CHAT_INPUT_COMMAND_MESSAGE,
            webhook_id=str(g.application_id),
            application_id=str(g.application_id),
            interaction_metadata={
                "id": str(inv.id),
                "type": APPLICATION_COMMAND,
                "user": user,
                "authorizing_integration_owners": inv.payload["authorizing_integration_owners"],
                **(metadata or {}),
            },
            # The deprecated ``interaction`` field clients still read for the command name.
            interaction={
                "id": str(inv.id),
                "type": APPLICATION_COMMAND,
                "name": inv.command_line(),
                "user": user,
            },
        )

    # -------------------------------------------------------------- the initial response

    async def callback(self, request: web.Request) -> web.Response:
        raw_id = request.match_info["interaction"]
        inv = self._by_token(request.match_info["token"])
        if inv is None or str(inv.id) != raw_id or self._too_late(inv):
            return error(404, 10062, "Unknown interaction")
        body = await read_json_body(request)
        if not isinstance(body, dict):
            return error(400, 50109, "The request body contains invalid JSON.")
        if inv.acknowledged:
            inv.rejected.append(body)
            inv.notify()
            return error(400, 40060, "Interaction has already been acknowledged.")
        rtype = body.get("type")
        if rtype not in (CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, MODAL):
            return form_error("type", "INTERACTION_CALLBACK_TYPE_INVALID", "Invalid callback type.")
        data = body.get("data") or {}
        if rtype == CHANNEL_MESSAGE and (err := message_body_error(data)) is not None:
            return err
        inv.response = body
        if rtype in (CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE):
            flags = int(data.get("flags") or 0)
            if rtype == DEFERRED_CHANNEL_MESSAGE:
                flags |= LOADING  # "Bot is thinking…" until the bot edits @original
            inv.original = self._message(inv, {**data, "flags": flags})
        inv.notify()
        if request.query.get("with_response", "").lower() != "true":
            return web.Response(status=204)
        return json_response(self._callback_response(inv, rtype))

    @staticmethod
    def _callback_response(inv: Invocation, rtype: int) -> JSON:
        """The interaction callback response object (``?with_response=true``)."""
        answer: JSON = {"id": str(inv.id), "type": APPLICATION_COMMAND}
        resource: JSON = {"type": rtype}
        if inv.original is not None:
            answer.update(
                response_message_id=inv.original["id"],
                response_message_loading=bool(inv.original["flags"] & LOADING),
                response_message_ephemeral=bool(inv.original["flags"] & EPHEMERAL),
            )
            resource["message"] = inv.original
        return {"interaction": answer, "resource": resource}

    # -------------------------------------------------------------- follow-ups and edits

    async def followup(self, request: web.Request) -> web.Response:
        inv = self._webhook(request)
        if isinstance(inv, web.Response):
            return inv
        body = await read_json_body(request)
        if not isinstance(body, dict):
            return error(400, 50109, "The request body contains invalid JSON.")
        if (err := message_body_error(body)) is not None:
            return err
        original_id = inv.original["id"] if inv.original else None
        metadata = {"original_response_message_id": original_id} if original_id else {}
        message = self._message(inv, body, metadata=metadata)
        inv.followups.append(message)
        inv.notify()
        return json_response(message)

    async def get_message(self, request: web.Request) -> web.Response:
        inv = self._webhook(request)
        if isinstance(inv, web.Response):
            return inv
        message = self._find_message(inv, request.match_info["message"])
        return json_response(message) if message else error(404, 10008, "Unknown Message")

    async def edit_message(self, request: web.Request) -> web.Response:
        inv = self._webhook(request)
        if isinstance(inv, web.Response):
            return inv
        message = self._find_message(inv, request.match_info["message"])
        if message is None:
            return error(404, 10008, "Unknown Message")
        body = await read_json_body(request)
        if not isinstance(body, dict):
            return error(400, 50109, "The request body contains invalid JSON.")
        if (err := message_body_error(body, edit=True)) is not None:
            return err
        for key, empty in (("content", ""), ("embeds", []), ("components", [])):
            if key in body:
                message[key] = body[key] or empty
        message["flags"] &= ~LOADING  # editing a deferred response is what fills it in
        message["edited_timestamp"] = discord_iso(self.sim.now_ms())
        inv.edits.append(body)
        inv.notify()
        return json_response(message)

    async def delete_message(self, request: web.Request) -> web.Response:
        inv = self._webhook(request)
        if isinstance(inv, web.Response):
            return inv
        key = request.match_info["message"]
        message = self._find_message(inv, key)
        if message is None:
            return error(404, 10008, "Unknown Message")
        if key == "@original":
            inv.original = None
        else:
            inv.followups.remove(message)
        inv.notify()
        return web.Response(status=204)
