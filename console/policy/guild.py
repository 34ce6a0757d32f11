"""A guild as the permission resolver sees it: roles, channels with overwrites, members.

Built from REST-shaped JSON (``{"guild": {..., "roles": [...]}, "channels": [...],
"members": [...]}``) by :meth:`GuildSnapshot.from_rest`, which checks every field it reads and
names the bad place in one line (``members[3].roles[0]: not a snowflake: 'abc'``). Fields it does
not read are ignored.

The snapshot is treated as immutable: ``__post_init__`` precomputes what a resolve needs (each
member's base permissions and known roles, each channel's overwrites split into the three layers,
the role ranking) so that :func:`console.policy.resolver.resolve` is a few dict lookups and integer
operations. Pure: no I/O, no Textual, no hikari.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from console.model import snowflake
from console.model.permissions import parse_bits

#: Overwrite ``type`` values (channel.mdx): 0 = role, 1 = member.
ROLE: Final = 0
MEMBER: Final = 1
_OVERWRITE_TYPES: Final[dict[object, int]] = {0: ROLE, 1: MEMBER, "role": ROLE, "member": MEMBER}

#: Channel types the resolver treats specially (channel.mdx "Channel Types").
GUILD_VOICE: Final = 2
GUILD_CATEGORY: Final = 4
GUILD_STAGE_VOICE: Final = 13
THREAD_TYPES: Final[frozenset[int]] = frozenset({10, 11, 12})  # announcement, public, private thread
VOICE_TYPES: Final[frozenset[int]] = frozenset({GUILD_VOICE, GUILD_STAGE_VOICE})


class SnapshotError(ValueError):
    """The snapshot JSON is malformed; the message is one line naming the bad place."""


@dataclass(frozen=True, slots=True)
class Role:
    id: int
    name: str
    permissions: int
    position: int
    #: Managed by an integration (a bot's own role, a booster role): nobody can grant it by hand.
    managed: bool = False


@dataclass(frozen=True, slots=True)
class Overwrite:
    id: int
    type: int  # ROLE (0) or MEMBER (1)
    allow: int
    deny: int


@dataclass(frozen=True, slots=True)
class Channel:
    id: int
    name: str
    type: int
    parent_id: int | None
    overwrites: dict[int, Overwrite]


@dataclass(frozen=True, slots=True)
class Member:
    id: int
    name: str
    #: Role ids as Discord listed them. Ids missing from ``guild.roles`` are kept (Discord can lag
    #: behind a deleted role) but the resolver ignores them.
    roles: tuple[int, ...]
    timeout_until_ms: int | None


class _Layers:
    """One channel's overwrites split by layer, as (allow, deny) pairs: what a resolve reads.

    ``source`` is the channel whose overwrites count (a thread's parent); ``missing_parent`` is set
    when a thread's parent is not in the snapshot, and the resolver raises then. ``thread`` and
    ``voice`` say which implicit rules apply to the channel asked about.
    """

    __slots__ = (
        "source",
        "everyone_allow",
        "everyone_deny",
        "roles",
        "members",
        "missing_parent",
        "thread",
        "voice",
    )

    def __init__(
        self,
        channel: Channel,
        source: Channel | None,
        guild_id: int,
        missing_parent: int | None = None,
    ) -> None:
        self.source = source
        self.missing_parent = missing_parent
        self.thread = channel.type in THREAD_TYPES
        self.voice = channel.type in VOICE_TYPES
        self.everyone_allow = self.everyone_deny = 0
        self.roles: dict[int, tuple[int, int]] = {}
        self.members: dict[int, tuple[int, int]] = {}
        if source is None:
            return
        for ow in source.overwrites.values():
            if ow.type == MEMBER:
                self.members[ow.id] = (ow.allow, ow.deny)
            elif ow.id == guild_id:
                self.everyone_allow, self.everyone_deny = ow.allow, ow.deny
            else:
                self.roles[ow.id] = (ow.allow, ow.deny)


class _MemberIndex:
    """What a resolve needs about one member, computed once."""

    __slots__ = ("base", "roles", "timeout_until_ms", "owner")

    def __init__(self, base: int, roles: frozenset[int], timeout_until_ms: int | None, owner: bool) -> None:
        self.base = base  # @everyone | every known role; not yet the ADMINISTRATOR rule
        self.roles = roles  # known roles, without @everyone (which has its own overwrite layer)
        self.timeout_until_ms = timeout_until_ms
        self.owner = owner


@dataclass(frozen=True, slots=True)
class GuildSnapshot:
    id: int
    name: str
    owner_id: int
    roles: dict[int, Role]
    channels: dict[int, Channel]
    members: dict[int, Member]
    # Precomputed in __post_init__ (not compared, not shown): see the module docstring.
    _members_ix: dict[int, _MemberIndex] = field(init=False, repr=False, compare=False)
    _layers: dict[int, _Layers] = field(init=False, repr=False, compare=False)
    _rank: dict[int, int] = field(init=False, repr=False, compare=False)
    #: Explained resolutions by (member, channel, timed out): the snapshot never changes, so the
    #: wording is made once (the gatekeeper records the explained path of every decision).
    _explained: dict[tuple[int, int | None, bool], Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        gid = self.id
        members_ix = self._index(self.members)

        layers: dict[int, _Layers] = {}
        for ch in self.channels.values():
            if ch.type in THREAD_TYPES:
                # Threads have no overwrites of their own that count: the parent's apply.
                parent = self.channels.get(ch.parent_id) if ch.parent_id is not None else None
                missing = None if parent is not None else (ch.parent_id or 0)
                layers[ch.id] = _Layers(ch, parent, gid, missing)
            else:
                # Categories and their children alike use only their own overwrites:
                # a category's are not inherited at compute time.
                layers[ch.id] = _Layers(ch, ch, gid)

        # Hierarchy: @everyone is always lowest (rank 0); others by position, and at equal position
        # the lower id ranks higher (discord.py's Role.__lt__ does the same).
        others = sorted((r for r in self.roles.values() if r.id != gid), key=lambda r: (r.position, -r.id))
        rank = {r.id: i for i, r in enumerate(others, start=1)}
        rank[gid] = 0

        object.__setattr__(self, "_members_ix", members_ix)
        object.__setattr__(self, "_layers", layers)
        object.__setattr__(self, "_rank", rank)
        object.__setattr__(self, "_explained", {})

    def _index(self, members: Mapping[int, Member]) -> dict[int, _MemberIndex]:
        gid = self.id
        everyone = self.roles.get(gid)
        everyone_bits = everyone.permissions if everyone else 0
        members_ix: dict[int, _MemberIndex] = {}
        for m in members.values():
            known = frozenset(r for r in m.roles if r != gid and r in self.roles)
            base = everyone_bits
            for r in known:
                base |= self.roles[r].permissions
            members_ix[m.id] = _MemberIndex(base, known, m.timeout_until_ms, m.id == self.owner_id)
        return members_ix

    def with_members(self, members: dict[int, Member]) -> GuildSnapshot:
        """The same roles and channels with these members: what depends on roles and channels
        alone (overwrite layers, the ranking) is shared, not recomputed, so a guild state whose
        members come and go one by one pays only for its members."""
        snap = object.__new__(GuildSnapshot)
        for name in ("id", "name", "owner_id", "roles", "channels", "_layers", "_rank"):
            object.__setattr__(snap, name, getattr(self, name))
        object.__setattr__(snap, "members", members)
        object.__setattr__(snap, "_members_ix", self._index(members))
        object.__setattr__(snap, "_explained", {})
        return snap

    @property
    def everyone(self) -> Role:
        """The @everyone role (its id is the guild's); permissions 0 if the snapshot lacks it."""
        role = self.roles.get(self.id)
        return role if role is not None else Role(self.id, "@everyone", 0, 0)

    @classmethod
    def from_rest(cls, data: Any) -> GuildSnapshot:
        """Parse ``{"guild": ..., "channels": [...], "members": [...]}``.

        Raises :class:`SnapshotError`.

        ``channels`` and ``members`` may be absent (empty); ``guild`` and ``guild.roles`` may not.
        """
        top = _obj(data, "snapshot")
        g = _obj(_req(top, "guild", "guild"), "guild")
        gid = _id(_req(g, "id", "guild.id"), "guild.id")
        roles: dict[int, Role] = {}
        for i, r in enumerate(_list(_req(g, "roles", "guild.roles"), "guild.roles")):
            role = _role(r, f"guild.roles[{i}]")
            if role.id in roles:
                raise SnapshotError(f"guild.roles[{i}].id: duplicate role id {role.id}")
            roles[role.id] = role
        channels: dict[int, Channel] = {}
        for i, c in enumerate(_list(top.get("channels", []), "channels")):
            ch = _channel(c, f"channels[{i}]")
            if ch.id in channels:
                raise SnapshotError(f"channels[{i}].id: duplicate channel id {ch.id}")
            channels[ch.id] = ch
        members: dict[int, Member] = {}
        for i, m in enumerate(_list(top.get("members", []), "members")):
            member = _member(m, f"members[{i}]")
            if member.id in members:
                raise SnapshotError(f"members[{i}].user.id: duplicate member id {member.id}")
            members[member.id] = member
        return cls(
            id=gid,
            name=_str(g.get("name"), "guild.name"),
            owner_id=_id(_req(g, "owner_id", "guild.owner_id"), "guild.owner_id"),
            roles=roles,
            channels=channels,
            members=members,
        )


def parse_member(value: object) -> Member:
    """One member as REST or a dispatch gives it (``{"user": {...}, "roles": [...], ...}``).
    Raises :class:`SnapshotError`."""
    return _member(value, "member")


# --- field readers: each raises SnapshotError naming the path ---------------------------------


def _show(value: object) -> str:
    """A short repr for error messages: one line, at most ~60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _obj(value: object, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SnapshotError(f"{path}: not an object: {_show(value)}")
    return value


def _list(value: object, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise SnapshotError(f"{path}: not a list: {_show(value)}")
    return value


def _req(obj: dict[str, Any], key: str, path: str) -> Any:
    if key not in obj or obj[key] is None:
        raise SnapshotError(f"{path}: missing")
    return obj[key]


def _id(value: object, path: str) -> int:
    n = snowflake.parse(value)
    if n is None:
        raise SnapshotError(f"{path}: not a snowflake: {_show(value)}")
    return n


def _bits(value: object, path: str) -> int:
    try:
        n = parse_bits(value)
    except ValueError:
        n = None
    if n is None:
        raise SnapshotError(f"{path}: not a permission value: {_show(value)}")
    return n


def _int(value: object, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SnapshotError(f"{path}: not an integer: {_show(value)}")
    return value


def _str(value: object, path: str) -> str:
    """An optional string: None → ""."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise SnapshotError(f"{path}: not a string: {_show(value)}")
    return value


def _role(value: object, path: str) -> Role:
    r = _obj(value, path)
    return Role(
        id=_id(_req(r, "id", f"{path}.id"), f"{path}.id"),
        name=_str(r.get("name"), f"{path}.name"),
        permissions=_bits(_req(r, "permissions", f"{path}.permissions"), f"{path}.permissions"),
        position=_int(_req(r, "position", f"{path}.position"), f"{path}.position"),
        managed=r.get("managed") is True,
    )


def _channel(value: object, path: str) -> Channel:
    c = _obj(value, path)
    cid = _id(_req(c, "id", f"{path}.id"), f"{path}.id")
    ctype = _int(_req(c, "type", f"{path}.type"), f"{path}.type")
    parent = c.get("parent_id")
    parent_id = None if parent is None else _id(parent, f"{path}.parent_id")
    if ctype in THREAD_TYPES and parent_id is None:
        raise SnapshotError(f"{path}.parent_id: missing (a thread needs its parent channel)")
    overwrites: dict[int, Overwrite] = {}
    raw = c.get("permission_overwrites")
    for i, o in enumerate(_list([] if raw is None else raw, f"{path}.permission_overwrites")):
        ow = _overwrite(o, f"{path}.permission_overwrites[{i}]")
        if ow.id in overwrites:
            # Overwrites are addressed by role/member id, so Discord never sends two for one id.
            raise SnapshotError(f"{path}.permission_overwrites[{i}].id: duplicate overwrite id {ow.id}")
        overwrites[ow.id] = ow
    return Channel(cid, _str(c.get("name"), f"{path}.name"), ctype, parent_id, overwrites)


def _overwrite(value: object, path: str) -> Overwrite:
    o = _obj(value, path)
    raw_type = _req(o, "type", f"{path}.type")
    otype = None if isinstance(raw_type, bool) else _OVERWRITE_TYPES.get(raw_type)
    if otype is None:
        raise SnapshotError(f"{path}.type: not 0 (role) or 1 (member): {_show(raw_type)}")
    return Overwrite(
        id=_id(_req(o, "id", f"{path}.id"), f"{path}.id"),
        type=otype,
        allow=_bits(_req(o, "allow", f"{path}.allow"), f"{path}.allow"),
        deny=_bits(_req(o, "deny", f"{path}.deny"), f"{path}.deny"),
    )


def _member(value: object, path: str) -> Member:
    m = _obj(value, path)
    user = _obj(_req(m, "user", f"{path}.user"), f"{path}.user")
    uid = _id(_req(user, "id", f"{path}.user.id"), f"{path}.user.id")
    roles = tuple(
        _id(r, f"{path}.roles[{i}]") for i, r in enumerate(_list(_req(m, "roles", f"{path}.roles"), f"{path}.roles"))
    )
    name = (
        _str(m.get("nick"), f"{path}.nick")
        or _str(user.get("global_name"), f"{path}.user.global_name")
        or _str(user.get("username"), f"{path}.user.username")
    )
    until = m.get("communication_disabled_until")
    until_ms = None if until is None else _iso_ms(until, f"{path}.communication_disabled_until")
    return Member(uid, name, roles, until_ms)


def _iso_ms(value: object, path: str) -> int:
    """ISO 8601 → Unix ms; a time without an offset is read as UTC."""
    try:
        if not isinstance(value, str):
            raise ValueError
        t = dt.datetime.fromisoformat(value)
    except ValueError:
        raise SnapshotError(f"{path}: not an ISO 8601 time: {_show(value)}") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return (t - _EPOCH) // dt.timedelta(milliseconds=1)


_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
