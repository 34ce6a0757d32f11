"""The guild as the console last saw it (roles, channels, and the members it needed), kept
current from gateway dispatches, in the shape Discord's REST returns, so the policy's Discord gate
and ``explain`` work from the same data as ``explain --state FILE``.

Members come on demand, never as a whole list: a guild of 100,000 members is not held in memory
and no chunk of every member is requested at start. A member arrives with a dispatch
(GUILD_MEMBER_ADD/UPDATE, an interaction, the few GUILD_CREATE carries) or, the first time a
decision needs one the console has not seen, with one ``GET /guilds/{id}/members/{user}``
(:meth:`GuildStates.ensure_member`). They are kept in a cache bounded per guild (least recently
used first out); GUILD_MEMBER_UPDATE refreshes a cached member, GUILD_MEMBER_REMOVE drops it and
remembers that they left.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Final, Protocol

from console.model.snowflake import parse as parse_id
from console.policy.guild import GuildSnapshot, Member, SnapshotError, parse_member

log = logging.getLogger("console.ingest")

STATE_EVENTS = frozenset(
    {
        "GUILD_UPDATE",
        "GUILD_ROLE_CREATE",
        "GUILD_ROLE_UPDATE",
        "GUILD_ROLE_DELETE",
        "GUILD_MEMBER_ADD",
        "GUILD_MEMBER_UPDATE",
        "GUILD_MEMBER_REMOVE",
        "GUILD_MEMBERS_CHUNK",
        "CHANNEL_CREATE",
        "CHANNEL_UPDATE",
        "CHANNEL_DELETE",
        "INTERACTION_CREATE",
    }
)
_GUILD_SKIP = ("members", "channels", "threads", "presences", "voice_states")
#: What the console reads of a member (the gate, names, who holds a role): the rest (avatars,
#: decorations, flags) is not kept, so a full cache stays small.
_MEMBER_KEEP = ("user", "nick", "roles", "joined_at", "communication_disabled_until")
_USER_KEEP = ("id", "username", "global_name", "bot")

#: Members kept per guild unless the config says otherwise (``member_cache``).
DEFAULT_MEMBER_LIMIT: Final = 10_000
#: Members remembered as gone (left, or unknown to Discord) per guild.
_LEFT_LIMIT: Final = 1_000
#: Why a member is not in the guild, when a fetch of them found nobody.
UNKNOWN_MEMBER: Final = "Discord answered Unknown Member: they left, or never joined"


class MemberFetcher(Protocol):
    """``GET /guilds/{id}/members/{user}`` (hikari's implementation is in console/discord)."""

    async def fetch_member(self, guild_id: int, user_id: int) -> Mapping[str, Any] | None:
        """The member as REST returns it; None when Discord answers Unknown Member (not in the
        guild). Raises SourceError when Discord refuses or cannot be reached."""
        ...


def _trim(m: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: m[k] for k in _MEMBER_KEEP if k in m}
    user = m.get("user")
    if isinstance(user, Mapping):
        out["user"] = {k: user[k] for k in _USER_KEEP if k in user}
    return out


class _Guild:
    __slots__ = ("guild", "channels", "members", "parsed", "left", "frame", "cached", "limit")

    def __init__(self, guild: dict[str, Any], channels: list[Any], members: list[Any], limit: int) -> None:
        self.guild = {k: v for k, v in guild.items() if k not in _GUILD_SKIP}
        self.channels: dict[int, Any] = {}
        #: Raw members, least recently used first, and each one parsed (a snapshot after one
        #: member changed parses that member only).
        self.members: OrderedDict[int, dict[str, Any]] = OrderedDict()
        self.parsed: dict[int, Member] = {}
        #: Members Discord told us are not in the guild, and how it told us.
        self.left: OrderedDict[int, str] = OrderedDict()
        self.limit = limit
        for ch in channels:
            self.put_channel(ch)
        for m in members:
            self.put_member(m)
        self.frame: GuildSnapshot | None = None  # roles and channels, no members
        self.cached: GuildSnapshot | None = None

    def put_channel(self, ch: Any) -> None:
        cid = parse_id(ch.get("id")) if isinstance(ch, Mapping) else None
        if cid is not None:
            self.channels[cid] = dict(ch)

    def put_member(self, m: Any) -> int | None:
        """Keep (or refresh) one member; the oldest goes when over the bound. A member Discord
        sent malformed is not kept (logged): it would make the whole state unusable."""
        user = m.get("user") if isinstance(m, Mapping) else None
        uid = parse_id(user.get("id")) if isinstance(user, Mapping) else None
        if uid is None:
            return None
        raw = _trim(m)
        try:
            parsed = parse_member(raw)
        except SnapshotError as e:
            log.warning("member %s not kept: %s", uid, e)
            return None
        self.members[uid] = raw
        self.members.move_to_end(uid)
        self.parsed[uid] = parsed
        self.left.pop(uid, None)
        while len(self.members) > self.limit:
            old, _ = self.members.popitem(last=False)
            self.parsed.pop(old, None)
        return uid

    def drop_member(self, uid: int, why: str) -> bool:
        self.left[uid] = why
        self.left.move_to_end(uid)
        while len(self.left) > _LEFT_LIMIT:
            self.left.popitem(last=False)
        self.parsed.pop(uid, None)
        return self.members.pop(uid, None) is not None

    def roles(self) -> list[Any]:
        roles = self.guild.get("roles")
        if not isinstance(roles, list):
            roles = self.guild["roles"] = []
        return roles

    def rest(self) -> dict[str, Any]:
        return {"guild": self.guild, "channels": list(self.channels.values()), "members": list(self.members.values())}

    def snapshot(self) -> GuildSnapshot:
        if self.cached is None:
            if self.frame is None:
                self.frame = GuildSnapshot.from_rest({"guild": self.guild, "channels": list(self.channels.values())})
            self.cached = self.frame.with_members(dict(self.parsed))
        return self.cached


class GuildStates:
    """Every wanted guild's state; ``apply`` takes a raw dispatch and says which guild changed."""

    def __init__(self, member_limit: int = DEFAULT_MEMBER_LIMIT) -> None:
        self._guilds: dict[int, _Guild] = {}
        self.dirty: set[int] = set()
        self.member_limit = member_limit
        #: Set once connected: where a member the state lacks is fetched from.
        self.fetcher: MemberFetcher | None = None
        self._fetching: dict[tuple[int, int], asyncio.Future[str | None]] = {}

    def connect_members(self, fetcher: MemberFetcher, *, limit: int | None = None) -> None:
        """Fetch members on demand from now on, keeping at most ``limit`` per guild."""
        self.fetcher = fetcher
        if limit is not None:
            self.member_limit = limit
            for g in self._guilds.values():
                g.limit = limit

    def load(self, guild_id: int, rest: Mapping[str, Any]) -> None:
        """From a stored snapshot or a GUILD_CREATE-shaped REST snapshot."""
        guild = rest.get("guild")
        if isinstance(guild, Mapping):
            self._guilds[guild_id] = _Guild(
                dict(guild), list(rest.get("channels") or []), list(rest.get("members") or []), self.member_limit
            )

    def guild_created(self, guild_id: int, payload: Mapping[str, Any]) -> None:
        # A large guild's GUILD_CREATE carries only a few members (the bot's own, those in
        # voice): the rest come on demand. A new session starts a fresh cache: what changed
        # while the console was away never arrived as dispatches.
        self._guilds[guild_id] = _Guild(
            dict(payload), list(payload.get("channels") or []), list(payload.get("members") or []), self.member_limit
        )
        self.dirty.add(guild_id)

    def __contains__(self, guild_id: int) -> bool:
        return guild_id in self._guilds

    def rest(self, guild_id: int) -> dict[str, Any] | None:
        g = self._guilds.get(guild_id)
        return None if g is None else g.rest()

    def snapshot(self, guild_id: int) -> GuildSnapshot | None:
        """The parsed snapshot, cached until the next change. Raises SnapshotError on bad data."""
        g = self._guilds.get(guild_id)
        return None if g is None else g.snapshot()

    def member(self, guild_id: int, user_id: int) -> dict[str, Any] | None:
        g = self._guilds.get(guild_id)
        return None if g is None else g.members.get(user_id)

    def cached_members(self, guild_id: int) -> int:
        g = self._guilds.get(guild_id)
        return 0 if g is None else len(g.members)

    async def ensure_member(self, guild_id: int, user_id: int) -> str | None:
        """Make sure the state holds the member before a decision about them: None when it does
        (now), else why not, in words (Discord says they are not in the guild). Without a
        fetcher, or for a guild not in the state, None: the resolver then says what is missing.

        One request per member however many ask at once. Raises SourceError (Discord refused
        or cannot be reached) or SnapshotError (Discord sent a member that cannot be read)."""
        g = self._guilds.get(guild_id)
        if g is None:
            return None
        if user_id in g.members:
            g.members.move_to_end(user_id)  # used: the last to be evicted
            return None
        if user_id in g.left:
            return g.left[user_id]
        if self.fetcher is None:
            return None
        key = (guild_id, user_id)
        pending = self._fetching.get(key)
        if pending is None:
            pending = self._fetching[key] = asyncio.ensure_future(self._fetch(guild_id, user_id))
            pending.add_done_callback(lambda _: self._fetching.pop(key, None))
        return await asyncio.shield(pending)

    async def _fetch(self, guild_id: int, user_id: int) -> str | None:
        assert self.fetcher is not None
        raw = await self.fetcher.fetch_member(guild_id, user_id)
        g = self._guilds.get(guild_id)
        if g is None:
            return None
        if raw is None:
            # Not remembered as gone: someone who joins later may be asked about at once.
            return UNKNOWN_MEMBER
        # A dispatch about them that came while the request was out is as new or newer.
        if user_id in g.members:
            return None
        if user_id in g.left:
            return g.left[user_id]
        if g.put_member(raw) != user_id:
            try:
                parse_member(raw)
            except SnapshotError as e:
                raise SnapshotError(f"Discord sent member {user_id} in a shape the console cannot read: {e}") from None
            raise SnapshotError(f"Discord answered with another member than {user_id}")
        g.cached = None
        self.dirty.add(guild_id)
        return None

    def apply(self, name: str, payload: Mapping[str, Any]) -> int | None:
        """Apply one dispatch; the guild id it changed, or None."""
        gid = parse_id(payload.get("guild_id") if name != "GUILD_UPDATE" else payload.get("id"))
        g = self._guilds.get(gid) if gid is not None else None
        if g is None:
            return None
        frame_changed = True
        if name == "GUILD_UPDATE":
            roles = g.roles()
            g.guild = {k: v for k, v in payload.items() if k not in _GUILD_SKIP}
            g.guild.setdefault("roles", roles)
        elif name in ("GUILD_ROLE_CREATE", "GUILD_ROLE_UPDATE"):
            role = payload.get("role")
            rid = parse_id(role.get("id")) if isinstance(role, Mapping) else None
            if rid is None:
                return None
            roles = [r for r in g.roles() if parse_id(r.get("id")) != rid]
            roles.append(dict(role))  # type: ignore[arg-type]
            g.guild["roles"] = roles
        elif name == "GUILD_ROLE_DELETE":
            rid = parse_id(payload.get("role_id"))
            g.guild["roles"] = [r for r in g.roles() if parse_id(r.get("id")) != rid]
        elif name in ("GUILD_MEMBER_ADD", "GUILD_MEMBER_UPDATE", "INTERACTION_CREATE"):
            member = payload.get("member") if name == "INTERACTION_CREATE" else payload
            if not isinstance(member, Mapping):
                return None
            if g.put_member({k: v for k, v in member.items() if k != "permissions"}) is None:
                return None
            frame_changed = False
        elif name == "GUILD_MEMBER_REMOVE":
            user = payload.get("user")
            uid = parse_id(user.get("id")) if isinstance(user, Mapping) else None
            if uid is None or not g.drop_member(uid, "Discord reported them leaving"):
                return None
            frame_changed = False
        elif name == "GUILD_MEMBERS_CHUNK":
            for m in payload.get("members") or []:
                g.put_member(m)
            frame_changed = False
        elif name in ("CHANNEL_CREATE", "CHANNEL_UPDATE"):
            g.put_channel(payload)
        elif name == "CHANNEL_DELETE":
            if g.channels.pop(parse_id(payload.get("id")), None) is None:  # type: ignore[arg-type]
                return None
        else:
            return None
        if frame_changed:
            g.frame = None
        g.cached = None
        self.dirty.add(gid)  # type: ignore[arg-type]
        return gid
