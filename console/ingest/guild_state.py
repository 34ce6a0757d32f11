"""The guild as the console last saw it (roles, channels, members), kept current from gateway
dispatches, in the shape Discord's REST returns, so the policy's Discord gate and ``explain``
work from the same data as ``explain --state FILE``.

With member chunking off, large guilds are partial: members appear as they join, change, or act
(an interaction carries its member). A member the console has not seen is "not in the guild state".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from console.model.snowflake import parse as parse_id
from console.policy.guild import GuildSnapshot

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


class _Guild:
    __slots__ = ("guild", "channels", "members", "cached")

    def __init__(self, guild: dict[str, Any], channels: list[Any], members: list[Any]) -> None:
        self.guild = {k: v for k, v in guild.items() if k not in _GUILD_SKIP}
        self.channels: dict[int, Any] = {}
        self.members: dict[int, Any] = {}
        for ch in channels:
            self.put_channel(ch)
        for m in members:
            self.put_member(m)
        self.cached: GuildSnapshot | None = None

    def put_channel(self, ch: Any) -> None:
        cid = parse_id(ch.get("id")) if isinstance(ch, Mapping) else None
        if cid is not None:
            self.channels[cid] = dict(ch)

    def put_member(self, m: Any) -> None:
        user = m.get("user") if isinstance(m, Mapping) else None
        uid = parse_id(user.get("id")) if isinstance(user, Mapping) else None
        if uid is not None:
            self.members[uid] = {k: v for k, v in m.items() if k != "guild_id"}

    def roles(self) -> list[Any]:
        roles = self.guild.get("roles")
        if not isinstance(roles, list):
            roles = self.guild["roles"] = []
        return roles

    def rest(self) -> dict[str, Any]:
        return {"guild": self.guild, "channels": list(self.channels.values()), "members": list(self.members.values())}


class GuildStates:
    """Every wanted guild's state; ``apply`` takes a raw dispatch and says which guild changed."""

    def __init__(self) -> None:
        self._guilds: dict[int, _Guild] = {}
        self.dirty: set[int] = set()

    def load(self, guild_id: int, rest: Mapping[str, Any]) -> None:
        """From a stored snapshot or a GUILD_CREATE-shaped REST snapshot."""
        guild = rest.get("guild")
        if isinstance(guild, Mapping):
            self._guilds[guild_id] = _Guild(
                dict(guild), list(rest.get("channels") or []), list(rest.get("members") or [])
            )

    def guild_created(self, guild_id: int, payload: Mapping[str, Any]) -> None:
        self._guilds[guild_id] = _Guild(
            dict(payload), list(payload.get("channels") or []), list(payload.get("members") or [])
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
        if g is None:
            return None
        if g.cached is None:
            g.cached = GuildSnapshot.from_rest(g.rest())
        return g.cached

    def member(self, guild_id: int, user_id: int) -> dict[str, Any] | None:
        g = self._guilds.get(guild_id)
        return None if g is None else g.members.get(user_id)

    def apply(self, name: str, payload: Mapping[str, Any]) -> int | None:
        """Apply one dispatch; the guild id it changed, or None."""
        gid = parse_id(payload.get("guild_id") if name != "GUILD_UPDATE" else payload.get("id"))
        g = self._guilds.get(gid) if gid is not None else None
        if g is None:
            return None
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
            g.put_member({k: v for k, v in member.items() if k != "permissions"})
        elif name == "GUILD_MEMBER_REMOVE":
            user = payload.get("user")
            uid = parse_id(user.get("id")) if isinstance(user, Mapping) else None
            if g.members.pop(uid, None) is None:  # type: ignore[arg-type]
                return None
        elif name == "GUILD_MEMBERS_CHUNK":
            for m in payload.get("members") or []:
                g.put_member(m)
        elif name in ("CHANNEL_CREATE", "CHANNEL_UPDATE"):
            g.put_channel(payload)
        elif name == "CHANNEL_DELETE":
            if g.channels.pop(parse_id(payload.get("id")), None) is None:  # type: ignore[arg-type]
                return None
        else:
            return None
        g.cached = None
        self.dirty.add(gid)  # type: ignore[arg-type]
        return gid
