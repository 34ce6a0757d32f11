"""Discord's permission algorithm over a :class:`GuildSnapshot`, with an optional explanation.

The algorithm is the one in Discord's API docs (permissions.mdx; the inputs as channel.mdx and
guild.mdx describe them):

1. The owner gets ALL. Otherwise base = @everyone's permissions | every role the member has.
2. ADMINISTRATOR in the base gives ALL. Owner and ADMINISTRATOR return here: no overwrite, implicit
   rule or timeout takes anything from them.
3. In a channel: the @everyone overwrite, then the member's role overwrites aggregated (all denies,
   then all allows: role position does not matter), then the member's own overwrite. In each, the
   deny is applied before the allow.
4. Implicit rules, in a channel only (the docs say nothing about a guild-wide answer): no
   VIEW_CHANNEL ⇒ nothing; threads without SEND_MESSAGES_IN_THREADS lose SEND_MESSAGES; no
   SEND_MESSAGES ⇒ the four dependent flags go; voice/stage without CONNECT ⇒
   :data:`NEEDS_CONNECT` go.
5. A timed-out member keeps only VIEW_CHANNEL and READ_MESSAGE_HISTORY, guild-wide or in a channel.

Channels use only their own overwrites: a category's are not inherited (a "synced" child carries a
copy). Threads use their parent channel's overwrites. Bits Discord has not documented are kept as
they come from roles and overwrites (never silently dropped), but ALL means the 52 documented flags.

``explain=False`` is the fast path: no steps, no strings, only the arithmetic.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Final

from console.model import permissions as _perms
from console.model.times import iso_utc
from console.policy.guild import Channel, GuildSnapshot, _Layers, _MemberIndex

ALL: Final[int] = _perms.ALL
_bit = _perms.flag_value

ADMINISTRATOR: Final = _bit("ADMINISTRATOR")
VIEW_CHANNEL: Final = _bit("VIEW_CHANNEL")
SEND_MESSAGES: Final = _bit("SEND_MESSAGES")
SEND_MESSAGES_IN_THREADS: Final = _bit("SEND_MESSAGES_IN_THREADS")
CONNECT: Final = _bit("CONNECT")

#: Without SEND_MESSAGES these four are ignored: exactly the docs' list, nothing more
#: (ADD_REACTIONS, CREATE_PUBLIC_THREADS, SEND_MESSAGES_IN_THREADS… are not in it).
NEEDS_SEND: Final = _bit("MENTION_EVERYONE") | _bit("SEND_TTS_MESSAGES") | _bit("ATTACH_FILES") | _bit("EMBED_LINKS")

#: Dropped in a voice or stage channel without CONNECT. The docs give NO exact list ("other voice
#: permissions such as MANAGE_CHANNEL", "there may be other cases"), so this is our choice: the
#: set discord.py strips (its Permissions.voice() plus MANAGE_CHANNELS and MANAGE_ROLES, the
#: latter being "manage permissions" on a channel), plus the voice-only REQUEST_TO_SPEAK and
#: SET_VOICE_CHANNEL_STATUS. Text-in-voice permissions (SEND_MESSAGES, …) stay: the chat of a voice
#: channel can be read and written without joining it.
NEEDS_CONNECT: Final = (
    _bit("PRIORITY_SPEAKER")
    | _bit("STREAM")
    | _bit("SPEAK")
    | _bit("MUTE_MEMBERS")
    | _bit("DEAFEN_MEMBERS")
    | _bit("MOVE_MEMBERS")
    | _bit("USE_VAD")
    | _bit("REQUEST_TO_SPEAK")
    | _bit("USE_EMBEDDED_ACTIVITIES")
    | _bit("USE_SOUNDBOARD")
    | _bit("USE_EXTERNAL_SOUNDS")
    | _bit("SET_VOICE_CHANNEL_STATUS")
    | _bit("MANAGE_CHANNELS")
    | _bit("MANAGE_ROLES")
)

#: All a timed-out member keeps.
TIMEOUT_KEEPS: Final = VIEW_CHANNEL | _bit("READ_MESSAGE_HISTORY")


class UnknownMember(KeyError):
    """The member is not in the snapshot."""

    def __str__(self) -> str:  # KeyError would show the message in quotes
        return str(self.args[0])


class UnknownChannel(KeyError):
    """The channel (or a thread's parent) is not in the snapshot."""

    def __str__(self) -> str:
        return str(self.args[0])


class UnknownRole(KeyError):
    """The role is not in the snapshot."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True, slots=True)
class Step:
    """One stage of the computation: its name, what it found, and the permissions after it."""

    name: str
    detail: str
    permissions: int


@dataclass(frozen=True, slots=True)
class Resolution:
    """Effective permissions, and (when explained) the stages that produced them, in order."""

    permissions: int
    steps: tuple[Step, ...] = ()


def names(permissions: int) -> list[str]:
    """Documented flag names set in ``permissions``, sorted (unknown bits are not names)."""
    return _perms.names(permissions)


def resolve(
    guild: GuildSnapshot,
    member_id: int,
    channel_id: int | None = None,
    *,
    now_ms: int,
    explain: bool = True,
) -> Resolution:
    """The member's effective permissions guild-wide, or in ``channel_id``.

    Raises :class:`UnknownMember` / :class:`UnknownChannel`. With ``explain`` the resolution lists
    every stage evaluated, in order; without it ``steps`` is empty and only the arithmetic runs.
    """
    m = guild._members_ix.get(member_id)
    if m is None:
        raise UnknownMember(f"member {member_id} is not in the snapshot of guild {guild.id}")
    layers = None
    if channel_id is not None:
        layers = guild._layers.get(channel_id)
        if layers is None:
            raise UnknownChannel(f"channel {channel_id} is not in the snapshot of guild {guild.id}")
        if layers.missing_parent is not None:
            raise UnknownChannel(
                f"thread {channel_id}'s parent channel {layers.missing_parent or '(none)'} "
                f"is not in the snapshot of guild {guild.id}"
            )
    if explain:
        until = m.timeout_until_ms
        key = (member_id, channel_id, until is not None and until > now_ms)
        found = guild._explained.get(key)
        if found is None:
            found = _explained(guild, member_id, m, channel_id, layers, now_ms)
            if len(guild._explained) < _EXPLAINED_MAX:
                guild._explained[key] = found
        return found
    return Resolution(_fast(member_id, m, layers, now_ms))


_EXPLAINED_MAX: Final = 20_000  # a bound on what one snapshot remembers


def _fast(member_id: int, m: _MemberIndex, layers: _Layers | None, now_ms: int) -> int:
    """The arithmetic alone; must match :func:`_explained` step for step."""
    if m.owner:
        return ALL
    p = m.base
    if p & ADMINISTRATOR:
        return ALL
    if layers is not None:
        p = (p & ~layers.everyone_deny) | layers.everyone_allow
        role_ow = layers.roles
        if role_ow:
            allow = deny = 0
            roles = m.roles
            # Walk the smaller side: the member's roles, or the channel's role overwrites.
            if len(roles) <= len(role_ow):
                for rid in roles:
                    ow = role_ow.get(rid)
                    if ow is not None:
                        allow |= ow[0]
                        deny |= ow[1]
            else:
                for rid, ow in role_ow.items():
                    if rid in roles:
                        allow |= ow[0]
                        deny |= ow[1]
            p = (p & ~deny) | allow
        ow = layers.members.get(member_id)
        if ow is not None:
            p = (p & ~ow[1]) | ow[0]
        if not p & VIEW_CHANNEL:
            return 0
        if layers.thread and not p & SEND_MESSAGES_IN_THREADS:
            p &= ~SEND_MESSAGES
        if not p & SEND_MESSAGES:
            p &= ~NEEDS_SEND
        if layers.voice and not p & CONNECT:
            p &= ~NEEDS_CONNECT
    until = m.timeout_until_ms
    if until is not None and until > now_ms:
        p &= TIMEOUT_KEEPS
    return p


def _explained(
    guild: GuildSnapshot,
    member_id: int,
    m: _MemberIndex,
    channel_id: int | None,
    layers: _Layers | None,
    now_ms: int,
) -> Resolution:
    steps: list[Step] = []

    def step(name: str, detail: str, p: int) -> None:
        steps.append(Step(name, detail, p))

    member = guild.members[member_id]
    if m.owner:
        step("owner", f"{member.name or member_id} owns the server: every permission", ALL)
        return Resolution(ALL, tuple(steps))

    everyone = guild.roles.get(guild.id)
    ranked = sorted(m.roles, key=guild._rank.__getitem__, reverse=True)
    parts = ["@everyone" if everyone else "@everyone (missing from the snapshot: nothing)"]
    parts += [_role_name(guild, r) for r in ranked]
    lagging = [r for r in member.roles if r != guild.id and r not in guild.roles]
    note = f"; ignored {len(lagging)} role id(s) not in the guild: {_ids(lagging)}" if lagging else ""
    p = m.base
    step("base", f"roles {', '.join(parts)} give {_flags(p)}{note}", p)

    if p & ADMINISTRATOR:
        givers = [_role_name(guild, r) for r in ranked if guild.roles[r].permissions & ADMINISTRATOR]
        if everyone is not None and everyone.permissions & ADMINISTRATOR:
            givers.insert(0, "@everyone")
        step(
            "administrator",
            f"ADMINISTRATOR from {', '.join(givers)}: every permission, no overwrite, implicit rule or timeout applies",
            ALL,
        )
        return Resolution(ALL, tuple(steps))
    step("administrator", "no ADMINISTRATOR: overwrites and rules apply", p)

    if layers is not None:
        channel = guild.channels[channel_id]  # type: ignore[index]
        src = layers.source
        assert src is not None  # resolve() raised UnknownChannel otherwise
        if src.id != channel.id:
            step(
                "thread_parent",
                f"thread {_chan(channel)} uses the overwrites of its parent {_chan(src)}",
                p,
            )

        if layers.everyone_allow or layers.everyone_deny:
            p = (p & ~layers.everyone_deny) | layers.everyone_allow
            step(
                "everyone_overwrite",
                f"@everyone overwrite: {_ow(layers.everyone_allow, layers.everyone_deny)}",
                p,
            )
        else:
            has = guild.id in src.overwrites
            step(
                "everyone_overwrite",
                "@everyone overwrite: allows and denies nothing" if has else f"no @everyone overwrite in {_chan(src)}",
                p,
            )

        hits = [r for r in ranked if r in layers.roles]
        if hits:
            allow = deny = 0
            for r in hits:
                allow |= layers.roles[r][0]
                deny |= layers.roles[r][1]
            p = (p & ~deny) | allow
            step(
                "role_overwrites",
                f"overwrites of {', '.join(_role_name(guild, r) for r in hits)}, "
                f"combined (any allow beats any deny): {_ow(allow, deny)}",
                p,
            )
        else:
            step("role_overwrites", "no overwrite for any of the member's roles", p)

        ow = layers.members.get(member_id)
        if ow is not None:
            p = (p & ~ow[1]) | ow[0]
            step("member_overwrite", f"member overwrite: {_ow(ow[0], ow[1])}", p)
        else:
            step("member_overwrite", "no overwrite for this member", p)

        if not p & VIEW_CHANNEL:
            step("implicit_view", "no VIEW_CHANNEL: every other permission here is ignored", 0)
            # Nothing is left for the remaining rules or a timeout to take away.
            return Resolution(0, tuple(steps))
        step("implicit_view", "has VIEW_CHANNEL", p)

        if layers.thread:
            if p & SEND_MESSAGES_IN_THREADS:
                step(
                    "thread_send",
                    "has SEND_MESSAGES_IN_THREADS: SEND_MESSAGES (if held) applies",
                    p,
                )
            else:
                dropped = p & SEND_MESSAGES
                p &= ~SEND_MESSAGES
                step(
                    "thread_send",
                    "no SEND_MESSAGES_IN_THREADS: cannot send in a thread"
                    + (", SEND_MESSAGES dropped" if dropped else ""),
                    p,
                )

        if p & SEND_MESSAGES:
            step("implicit_send", "has SEND_MESSAGES", p)
        else:
            dropped = p & NEEDS_SEND
            p &= ~NEEDS_SEND
            step(
                "implicit_send",
                "no SEND_MESSAGES: "
                + (f"dropped {_flags(dropped)}" if dropped else "nothing that depends on it is held"),
                p,
            )

        if layers.voice:
            if p & CONNECT:
                step("implicit_connect", "has CONNECT", p)
            else:
                dropped = p & NEEDS_CONNECT
                p &= ~NEEDS_CONNECT
                step(
                    "implicit_connect",
                    "voice channel without CONNECT: "
                    + (f"dropped {_flags(dropped)}" if dropped else "no voice permission to drop"),
                    p,
                )

    until = m.timeout_until_ms
    if until is not None and until > now_ms:
        p &= TIMEOUT_KEEPS
        step("timeout", f"timed out until {iso_utc(until)}: keeps only {_flags(p)}", p)
    elif until is not None:
        step("timeout", f"timeout ended at {iso_utc(until)}", p)
    else:
        step("timeout", "not timed out", p)
    return Resolution(p, tuple(steps))


# --- role hierarchy ----------------------------------------------------------------------------


def role_rank(guild: GuildSnapshot, role_id: int) -> int:
    """The role's place in the hierarchy: 0 for @everyone (always lowest), higher ranks higher.

    Roles are ordered by position; at equal position the lower id ranks higher. Raises
    :class:`UnknownRole`.
    """
    rank = guild._rank.get(role_id)
    if rank is None:
        raise UnknownRole(f"role {role_id} is not in the snapshot of guild {guild.id}")
    return rank


def top_rank(guild: GuildSnapshot, member_id: int) -> int:
    """The rank of the member's highest known role (0: only @everyone).

    Raises :class:`UnknownMember`.
    """
    m = guild._members_ix.get(member_id)
    if m is None:
        raise UnknownMember(f"member {member_id} is not in the snapshot of guild {guild.id}")
    return max((guild._rank[r] for r in m.roles), default=0)


def can_manage_role(guild: GuildSnapshot, actor_id: int, role_id: int) -> tuple[bool, str]:
    """Whether the role hierarchy lets ``actor_id`` grant or remove ``role_id``, and why.

    Only the hierarchy: holding MANAGE_ROLES is a separate question (ask :func:`resolve`). The owner
    may manage any role; anyone else needs a highest role strictly above it, and ADMINISTRATOR does
    not change that. Nobody can grant @everyone (everyone has it) or an integration-managed role.
    Raises :class:`UnknownMember` / :class:`UnknownRole`.
    """
    rank = role_rank(guild, role_id)
    top = top_rank(guild, actor_id)
    member = guild.members[actor_id]
    who = member.name or str(actor_id)
    role = guild.roles[role_id]
    if role_id == guild.id:
        return False, "@everyone belongs to every member: it cannot be granted or removed"
    if role.managed:
        name = _role_name(guild, role_id)
        return False, f"{name} is managed by an integration: Discord assigns it, nobody can by hand"
    if actor_id == guild.owner_id:
        return True, f"{who} owns the server: the owner may manage every role"
    target = _role_pos(guild, role_id)
    if top == 0:
        return False, f"{who} has no role above @everyone, so none above {target}"
    top_id = next(r for r in guild._members_ix[actor_id].roles if guild._rank[r] == top)
    mine = _role_pos(guild, top_id)
    tie = ""
    if top != rank and guild.roles[top_id].position == role.position:
        tie = " (same position: the lower id ranks higher)"
    if top > rank:
        return True, f"{who}'s highest role {mine} is above {target}{tie}"
    admin = ""
    if guild._members_ix[actor_id].base & ADMINISTRATOR:
        admin = " (ADMINISTRATOR does not bypass the role hierarchy)"
    if top == rank:
        return False, f"{who}'s highest role is {target} itself; it must be strictly above{admin}"
    return False, f"{who}'s highest role {mine} is below {target}{tie}{admin}"


# --- wording -----------------------------------------------------------------------------------


#: (bit value, name) in name order: _flags runs on every explained step, so no sorting there.
_BY_NAME: Final = tuple(sorted(((1 << bit, name) for bit, name in _perms.FLAGS.items()), key=lambda t: t[1]))


@functools.lru_cache(maxsize=4096)
def _flags(value: int) -> str:
    """``ATTACH_FILES, VIEW_CHANNEL, bit53`` (names sorted, then unknown bits) or ``nothing``.

    Cached: a guild has few distinct role and overwrite values, and explaining many members or
    channels formats the same ones again and again.
    """
    out = [name for bit, name in _BY_NAME if value & bit]
    unknown = value & ~ALL
    while unknown:
        low = unknown & -unknown
        out.append(f"bit{low.bit_length() - 1}")
        unknown ^= low
    return ", ".join(out) if out else "nothing"


def _ow(allow: int, deny: int) -> str:
    """``deny Z; allow X, Y``: in the order they are applied."""
    parts = ([f"deny {_flags(deny)}"] if deny else []) + ([f"allow {_flags(allow)}"] if allow else [])
    return "; ".join(parts) if parts else "allows and denies nothing"


def _role_name(guild: GuildSnapshot, role_id: int) -> str:
    role = guild.roles.get(role_id)
    return f"@{role.name}" if role is not None and role.name else f"role {role_id}"


def _role_pos(guild: GuildSnapshot, role_id: int) -> str:
    return f"{_role_name(guild, role_id)} (position {guild.roles[role_id].position})"


def _chan(channel: Channel) -> str:
    return f"#{channel.name}" if channel.name else f"channel {channel.id}"


def _ids(ids: list[int]) -> str:
    return ", ".join(str(i) for i in ids[:5]) + (" …" if len(ids) > 5 else "")
