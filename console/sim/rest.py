"""The simulated Discord REST API (``/api/v10``), faithful enough for hikari's RESTClient.

Success bodies are ``application/json`` (hikari raises on anything else); errors use Discord's
``{"code", "message"}`` body; rate-limit headers come on every response and a 429 carries
``retry_after`` in the body plus ``Retry-After`` so hikari sleeps and retries.

The slash command routes live in ``console.sim.commands`` (registration) and
``console.sim.interactions`` (answers); this middleware serves them too.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import math
import time
import urllib.parse
import zlib
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from console.model.snowflake import RETENTION_MS
from console.model.times import discord_iso
from console.sim.guild import SimGuild

if TYPE_CHECKING:
    from console.sim.server import SimServer

log = logging.getLogger("console.sim")

API = "/api/v10"
#: Action types whose target_id is a user (the page's ``users`` must include them).
_USER_TARGETS = frozenset({20, 21, 22, 23, 24, 25, 28, 72, 74, 75, 143, 144, 145, 146})

#: Interaction callbacks and interaction webhooks authenticate with the interaction token in
#: the path; Discord wants no Authorization header there (hikari sends none).
TOKEN_IN_PATH = (f"{API}/interactions/", f"{API}/webhooks/")
#: Routes Discord does not rate-limit: interaction callbacks.
UNLIMITED = f"{API}/interactions/"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=json.dumps(body, ensure_ascii=False).encode(),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def error(status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"message": message, "code": code}
    if errors is not None:
        body["errors"] = errors
    return json_response(body, status)


def form_error(field: str, code: str, message: str) -> web.Response:
    return error(400, 50035, "Invalid Form Body", {field: {"_errors": [{"code": code, "message": message}]}})


def _ms_up(seconds: float) -> str:
    """Seconds with milliseconds, rounded up: a client that waits what it was told never comes
    back a fraction of a millisecond before the window ends."""
    return f"{math.ceil(seconds * 1000) / 1000:.3f}"


class _Buckets:
    """Per-route, per-major-parameter windows: the X-RateLimit-* headers and genuine 429s."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[float, int]] = {}

    def hit(self, bucket: str, limit: int, window: float) -> tuple[int, float]:
        """Count a request: (remaining, reset_after); remaining < 0 means over the limit."""
        now = time.monotonic()
        start, count = self._windows.get(bucket, (now, 0))
        if now - start >= window:
            start, count = now, 0
        count += 1
        self._windows[bucket] = (start, count)
        return limit - count, max(0.0, window - (now - start))


class _GlobalWindow:
    """Discord's global limit: requests answered in the last window, across every route."""

    def __init__(self) -> None:
        self._times: deque[float] = deque()

    def hit(self, limit: int, window: float) -> float:
        """Count a request; 0 when it may pass, else the seconds until the window has room."""
        now = time.monotonic()
        while self._times and self._times[0] <= now - window:
            self._times.popleft()
        if len(self._times) >= limit:
            return max(0.001, self._times[0] + window - now)
        self._times.append(now)
        return 0.0


class RestApi:
    """Routes and middleware, bound to one SimServer (its guild, knobs and gateway)."""

    def __init__(self, sim: SimServer) -> None:
        self.sim = sim
        self.requests = 0
        """REST requests received (including 429-answered ones)."""
        self.rate_limited = 0
        """429s answered, of every kind (``limited_by_scope`` tells them apart)."""
        self.limited_by_scope: Counter[str] = Counter()
        """429s by X-RateLimit-Scope: "user" (a route bucket ran dry), "shared" (the knob's),
        "global" (the global limit)."""
        self._global = _GlobalWindow()
        self.member_fetches: Counter[int] = Counter()
        """``GET /guilds/{id}/members/{user}`` requests by user id (answered or 404)."""
        self.member_pages = 0
        """``GET /guilds/{id}/members`` (list) requests: a console must never page a big guild."""
        self._buckets = _Buckets()
        self.raw_audit_pages: list[bytes] = []
        """Bodies the next audit-log requests get instead of the real page, byte for byte and
        oldest first (200, application/json): the payload fuzz serves truncated JSON, invalid
        UTF-8 and mangled entries through hikari's real request path with this."""

    def routes(self, app: web.Application) -> None:
        r = app.router
        r.add_get(f"{API}/gateway", self.get_gateway)
        r.add_get(f"{API}/gateway/bot", self.get_gateway_bot)
        r.add_get(f"{API}/users/@me", self.get_me)
        r.add_get(f"{API}/users/@me/guilds", self.get_my_guilds)
        r.add_get(f"{API}/users/{{user}}", self.get_user)
        r.add_get(f"{API}/applications/@me", self.get_application)
        r.add_get(f"{API}/oauth2/applications/@me", self.get_application)
        r.add_get(f"{API}/guilds/{{guild}}", self.get_guild)
        r.add_get(f"{API}/guilds/{{guild}}/roles", self.get_roles)
        r.add_get(f"{API}/guilds/{{guild}}/channels", self.get_channels)
        r.add_get(f"{API}/guilds/{{guild}}/members", self.get_members)
        r.add_get(f"{API}/guilds/{{guild}}/members/{{user}}", self.get_member)
        r.add_get(f"{API}/guilds/{{guild}}/audit-logs", self.get_audit_logs)
        r.add_put(f"{API}/guilds/{{guild}}/members/{{user}}/roles/{{role}}", self.put_role)
        r.add_delete(f"{API}/guilds/{{guild}}/members/{{user}}/roles/{{role}}", self.delete_role)
        r.add_post(f"{API}/channels/{{channel}}/messages", self.post_message)

    # ------------------------------------------------------------------ middleware

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(API):
            return await handler(request)
        self.requests += 1
        knobs = self.sim.knobs
        headers: dict[str, str] = {}
        # Discord sets no rate limit on interaction callbacks; hikari logs an error if it sees
        # bucket headers there, so that route gets neither headers nor 429s.
        if not request.path.startswith(UNLIMITED):
            limited, headers = self._rate_limit(request)
            if limited is not None:
                return limited
        if knobs.rest_fail_status:
            return error(knobs.rest_fail_status, 0, f"{knobs.rest_fail_status}: simulated outage")
        if (
            request.path != f"{API}/gateway"
            and not request.path.startswith(TOKEN_IN_PATH)
            and not self._authorised(request)
        ):
            return error(401, 0, "401: Unauthorized")
        try:
            response = await handler(request)
        except web.HTTPNotFound:
            response = error(404, 0, "404: Not Found")
        except web.HTTPMethodNotAllowed:
            response = error(405, 0, "405: Method Not Allowed")
        response.headers.update(headers)
        return response

    def _rate_limit(self, request: web.Request) -> tuple[web.Response | None, dict[str, str]]:
        """Count the request in its bucket: a 429 to answer, or the headers for the answer."""
        knobs = self.sim.knobs
        if knobs.global_limit and (wait := self._global.hit(knobs.global_limit, knobs.global_window_s)):
            self.rate_limited += 1
            self.limited_by_scope["global"] += 1
            log.info("global 429 on %s %s (retry_after %.3fs)", request.method, request.path, wait)
            retry_after = math.ceil(wait * 1000) / 1000  # rounded up, as the headers' times
            body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": True}
            headers = {
                "Retry-After": str(max(1, math.ceil(wait))),
                "X-RateLimit-Global": "true",
                "X-RateLimit-Scope": "global",
            }
            return json_response(body, 429, headers), {}
        info = request.match_info
        # Discord's major parameters: guild, channel, or a webhook's (interaction's) token.
        major = info.get("guild") or info.get("channel") or info.get("token") or ""
        resource = info.route.resource
        template = resource.canonical if resource is not None else request.path
        bucket = f"{request.method}:{template}:{major}"
        bucket_hash = f"{zlib.crc32(f'{request.method} {template}'.encode()):08x}"
        remaining, reset_after = self._buckets.hit(bucket, knobs.bucket_limit, knobs.bucket_window_s)

        forced = knobs.rate_limit_every and self.requests % knobs.rate_limit_every == 0
        if forced or remaining < 0:
            retry_after = knobs.rate_limit_retry_after if forced else reset_after
            # A bucket running dry is scope "user" with Remaining 0 (hikari retries at once and
            # lets its bucket wait); the knob's 429 is a "shared" resource limit, which hikari
            # answers by sleeping retry_after — the path the console must survive.
            scope = knobs.rate_limit_scope if forced else "user"
            self.rate_limited += 1
            self.limited_by_scope[scope] += 1
            log.info("429 on %s %s (retry_after %.3fs)", request.method, request.path, retry_after)
            limited = json_response(
                {
                    "message": "You are being rate limited.",
                    "retry_after": retry_after,
                    "global": False,
                },
                429,
                {
                    "Retry-After": str(max(1, math.ceil(retry_after))),
                    "X-RateLimit-Limit": str(knobs.bucket_limit),
                    "X-RateLimit-Remaining": "0" if scope == "user" else str(max(1, remaining)),
                    "X-RateLimit-Reset": _ms_up(time.time() + retry_after),
                    "X-RateLimit-Reset-After": _ms_up(retry_after),
                    "X-RateLimit-Bucket": bucket_hash,
                    "X-RateLimit-Scope": scope,
                },
            )
            return limited, {}
        # Reset is wall-clock epoch seconds (hikari compares it with its own clock), not sim time.
        return None, {
            "X-RateLimit-Limit": str(knobs.bucket_limit),
            "X-RateLimit-Remaining": str(max(0, remaining)),
            "X-RateLimit-Reset": _ms_up(time.time() + reset_after),
            "X-RateLimit-Reset-After": _ms_up(reset_after),
            "X-RateLimit-Bucket": bucket_hash,
        }

    def _authorised(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        return header.startswith("Bot ") and self.sim.token_ok(header[4:].strip())

    # ------------------------------------------------------------------ helpers

    def _guild(self, request: web.Request) -> SimGuild | web.Response:
        """The guild in the path, or Discord's answer when there is none to the bot: 404 Unknown
        Guild for an id no simulated guild has, 403 Missing Access once the bot was removed."""
        gid = self._snowflake(request.match_info["guild"])
        g = self.sim.guilds.get(gid) if gid is not None else None
        if g is None:
            return error(404, 10004, "Unknown Guild")
        if g is self.sim.guild and self.sim.gateway.guild_state == "removed":  # the bot was kicked
            return error(403, 50001, "Missing Access")
        return g

    @staticmethod
    def _snowflake(value: str | None) -> int | None:
        if value is None or value == "":
            return None
        return int(value) if value.isdigit() else -1

    # ------------------------------------------------------------------ gateway, users, app

    async def get_gateway(self, request: web.Request) -> web.Response:
        return json_response({"url": self.sim.gateway.url})

    async def get_gateway_bot(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "url": self.sim.gateway.url,
                "shards": self.sim.config.shard_count,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 1000 - self.sim.gateway.identifies,
                    "reset_after": 14_400_000,
                    "max_concurrency": self.sim.config.max_concurrency,
                },
            }
        )

    async def get_me(self, request: web.Request) -> web.Response:
        g = self.sim.guild
        me = g.user_object(g.bot_id)
        me.update(mfa_enabled=False, verified=True, email=None, locale="en-US", premium_type=0)
        return json_response(me)

    async def get_my_guilds(self, request: web.Request) -> web.Response:
        """The guilds the bot is in, as partial guilds (Discord's shape for a bot token)."""
        after = self._snowflake(request.query.get("after")) or 0
        try:
            limit = int(request.query.get("limit", "200"))
        except ValueError:
            return form_error("limit", "NUMBER_TYPE_COERCE", "Value is not int.")
        if not 1 <= limit <= 200:
            return form_error("limit", "NUMBER_TYPE_MAX", "int value should be between 1 and 200.")
        listed: list[dict[str, Any]] = [
            {
                "id": str(g.guild_id),
                "name": g.name,
                "icon": None,
                "banner": None,
                "owner": g.owner_id == g.bot_id,
                "permissions": str(g.base_permissions(g.bot_id)),
                "features": [],
            }
            for gid, g in sorted(self.sim.guilds.items())
            if g.bot_id in g.members and gid > after
        ][:limit]
        if request.query.get("with_counts") == "true":  # hikari always asks for them
            for item in listed:
                g = self.sim.guilds[int(item["id"])]
                item.update(approximate_member_count=g.member_total(), approximate_presence_count=0)
        return json_response(listed)

    async def get_user(self, request: web.Request) -> web.Response:
        uid = self._snowflake(request.match_info["user"])
        if uid is None or uid not in self.sim.guild.users:
            return error(404, 10013, "Unknown User")
        return json_response(self.sim.guild.user_object(uid))

    async def get_application(self, request: web.Request) -> web.Response:
        g = self.sim.guild
        return json_response(
            {
                "id": str(g.application_id),
                "name": "Audit Console",
                "icon": None,
                "description": "Simulated moderation console bot",
                "type": None,
                "bot": g.user_object(g.bot_id),
                "bot_public": False,
                "bot_require_code_grant": False,
                "verify_key": "5a" * 32,  # hikari parses it as hex
                "owner": g.user_object(g.owner_id),
                "team": None,
                "flags": application_flags(self.sim.knobs.members_intent),
                "tags": [],
                "approximate_guild_count": len(self.sim.guilds),
                "approximate_user_install_count": 0,
                "redirect_uris": [],
                "interactions_endpoint_url": None,
                "summary": "",
                "hook": True,
                "integration_types_config": {"0": {}},
            }
        )

    # ------------------------------------------------------------------ guild objects

    async def get_guild(self, request: web.Request) -> web.Response:
        if isinstance(g := self._guild(request), web.Response):
            return g
        obj = g.guild_object()
        if request.query.get("with_counts") == "true":
            obj.update(approximate_member_count=g.member_total(), approximate_presence_count=0)
        return json_response(obj)

    async def get_roles(self, request: web.Request) -> web.Response:
        g = self._guild(request)
        return g if isinstance(g, web.Response) else json_response(g.role_objects())

    async def get_channels(self, request: web.Request) -> web.Response:
        g = self._guild(request)
        return g if isinstance(g, web.Response) else json_response(g.channel_objects())

    async def get_members(self, request: web.Request) -> web.Response:
        if isinstance(g := self._guild(request), web.Response):
            return g
        try:
            limit = int(request.query.get("limit", "1"))
        except ValueError:
            return form_error("limit", "NUMBER_TYPE_COERCE", "Value is not int.")
        if not 1 <= limit <= 1000:
            return form_error("limit", "NUMBER_TYPE_MAX", "int value should be between 1 and 1000.")
        after = self._snowflake(request.query.get("after")) or 0
        self.member_pages += 1
        built = sorted(u for u in g.members if u > after)[:limit]
        uids = sorted([*built, *itertools.islice(g.crowd.ids_after(after), limit)])[:limit]
        return json_response([g.member_object(u) for u in uids])

    async def get_member(self, request: web.Request) -> web.Response:
        if isinstance(g := self._guild(request), web.Response):
            return g
        uid = self._snowflake(request.match_info["user"])
        if uid is not None:
            self.member_fetches[uid] += 1
        if uid is None or not g.is_member(uid):
            return error(404, 10007, "Unknown Member")
        return json_response(g.member_object(uid))

    # ------------------------------------------------------------------ audit log

    async def get_audit_logs(self, request: web.Request) -> web.Response:
        """Discord's semantics: before → newest first, after → oldest first, 45-day retention."""
        if isinstance(g := self._guild(request), web.Response):
            return g
        if g.guild_id in self.sim.knobs.audit_log_forbidden:  # no VIEW_AUDIT_LOG
            return error(403, 50013, "Missing Permissions")
        if self.sim.knobs.audit_log_delay_s:
            await asyncio.sleep(self.sim.knobs.audit_log_delay_s)
        if self.raw_audit_pages:
            return web.Response(body=self.raw_audit_pages.pop(0), content_type="application/json")
        q = request.query
        try:
            limit = int(q.get("limit", "50"))
        except ValueError:
            return form_error("limit", "NUMBER_TYPE_COERCE", "Value is not int.")
        if not 1 <= limit <= 100:
            return form_error("limit", "NUMBER_TYPE_MAX", "int value should be between 1 and 100.")
        try:
            action_type = int(q["action_type"]) if q.get("action_type") else None
        except ValueError:
            return form_error("action_type", "NUMBER_TYPE_COERCE", "Value is not int.")
        before, after, user_id = (self._snowflake(q.get(k)) for k in ("before", "after", "user_id"))
        if -1 in (before, after, user_id):
            return form_error(
                "before" if before == -1 else "after" if after == -1 else "user_id",
                "NUMBER_TYPE_COERCE",
                "Value is not snowflake.",
            )

        horizon_ms = self.sim.now_ms() - RETENTION_MS
        rows = [e for e in g.audit_log if g.entry_ms(e) >= horizon_ms]
        if action_type is not None:
            rows = [e for e in rows if e["action_type"] == action_type]
        if user_id is not None:
            rows = [e for e in rows if e.get("user_id") == str(user_id)]
        if before is not None:
            rows = [e for e in rows if int(e["id"]) < before]
        if after is not None:
            rows = [e for e in rows if int(e["id"]) > after]
        # ``after`` pages oldest-first from the cursor; everything else is newest-first.
        ascending = after is not None and before is None
        rows.sort(key=lambda e: int(e["id"]), reverse=not ascending)
        page = [json.loads(json.dumps(e)) for e in rows[:limit]]  # a snapshot, not the live dicts

        user_ids: list[int] = []
        for e in page:
            for raw in (
                e.get("user_id"),
                e.get("target_id") if e["action_type"] in _USER_TARGETS else None,
            ):
                if raw is not None and int(raw) in g.users and int(raw) not in user_ids:
                    user_ids.append(int(raw))
        return json_response(
            {
                "application_commands": [],
                "audit_log_entries": page,
                "auto_moderation_rules": [],
                "guild_scheduled_events": [],
                "integrations": [],
                "threads": [],
                "users": [g.user_object(u) for u in user_ids],
                "webhooks": [],
            }
        )

    # ------------------------------------------------------------------ member roles

    async def put_role(self, request: web.Request) -> web.Response:
        return await self._role_op(request, add=True)

    async def delete_role(self, request: web.Request) -> web.Response:
        return await self._role_op(request, add=False)

    async def _role_op(self, request: web.Request, *, add: bool) -> web.Response:
        if isinstance(g := self._guild(request), web.Response):
            return g
        uid = self._snowflake(request.match_info["user"])
        rid = self._snowflake(request.match_info["role"])
        if rid not in g.roles:
            return error(404, 10011, "Unknown Role")
        if uid is None or g.materialize(uid) is None:
            return error(404, 10007, "Unknown Member")
        # Discord's rules: nobody manages @everyone or managed roles; a role at or above the
        # bot's highest role is out of reach; plus the forbidden_role_ids knob.
        if (
            rid in self.sim.knobs.forbidden_role_ids
            or rid == g.guild_id
            or g.roles[rid]["managed"]
            or g.role_position(rid) >= g.top_position(g.bot_id)
        ):
            return error(403, 50013, "Missing Permissions")
        raw_reason = request.headers.get("X-Audit-Log-Reason")
        reason = urllib.parse.unquote(raw_reason) if raw_reason else None
        if g is self.sim.guild:
            self.sim.member_role_change(uid, rid, add=add, reason=reason)
        else:
            self.sim.quiet_role_change(g, uid, rid, add=add, reason=reason)
        return web.Response(status=204)

    # ------------------------------------------------------------------ messages

    async def post_message(self, request: web.Request) -> web.Response:
        cid = self._snowflake(request.match_info["channel"])
        g = next((g for g in self.sim.guilds.values() if cid in g.channels), None)
        if g is None or cid is None:
            return error(404, 10003, "Unknown Channel")
        body = await read_json_body(request)
        if not isinstance(body, dict):
            return error(400, 50109, "The request body contains invalid JSON.")
        if (err := message_body_error(body)) is not None:
            return err
        message = message_object(self.sim, channel_id=cid, body=body, author=g.user_object(g.bot_id), guild=g)
        g.messages.append(message)
        g.channels[cid]["last_message_id"] = message["id"]
        return json_response(message)


def application_flags(members_intent: bool) -> int:
    """APPLICATION_COMMAND_BADGE, plus GATEWAY_GUILD_MEMBERS_LIMITED when the Server Members
    Intent is on (an unverified application in under 100 servers)."""
    return 1 << 19 | (1 << 15 if members_intent else 0)


# ---------------------------------------------------------------------- message helpers


async def read_json_body(request: web.Request) -> Any:
    """The JSON body, also from a multipart upload's ``payload_json`` part; None if invalid."""
    try:
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            raw = form.get("payload_json")
            return json.loads(raw if isinstance(raw, str) else "")
        return await request.json()
    except ValueError:
        return None


def message_body_error(body: dict[str, Any], *, edit: bool = False) -> web.Response | None:
    """Discord's checks on a message body: not empty (unless an edit), at most 2000 chars."""
    content = body.get("content") or ""
    if not isinstance(content, str):
        return form_error("content", "STRING_TYPE_CONVERT", "Could not interpret value as string.")
    if not edit and not content and not body.get("embeds") and not body.get("components"):
        return error(400, 50006, "Cannot send an empty message")
    if len(content) > 2000:
        return form_error("content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")
    return None


def message_object(
    sim: SimServer,
    *,
    channel_id: int,
    body: dict[str, Any],
    author: dict[str, Any],
    guild: SimGuild | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A message as Discord returns it, made from a create-message body (``extra`` on top), in
    ``guild`` (default the first)."""
    g = guild or sim.guild
    now = sim.now_ms()
    message = {
        "id": str(g.ids.make(now)),
        "type": 0,
        "channel_id": str(channel_id),
        "guild_id": str(g.guild_id),
        "author": author,
        "content": body.get("content") or "",
        "timestamp": discord_iso(now),
        "edited_timestamp": None,
        "tts": bool(body.get("tts", False)),
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": body.get("embeds") or [],
        "pinned": False,
        "flags": int(body.get("flags") or 0),
        "components": body.get("components") or [],
        "nonce": body.get("nonce"),
    }
    message.update(extra)
    return message
