"""The Discord permission resolver against Discord's documented algorithm, case by case, and against
a plain reference written from the discord-api-docs pseudocode on random guilds."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.model.permissions import ALL, FLAGS, flag_value
from console.policy import resolver
from console.policy.guild import GuildSnapshot, SnapshotError
from console.policy.resolver import (
    UnknownChannel,
    UnknownMember,
    UnknownRole,
    can_manage_role,
    names,
    resolve,
    role_rank,
    top_rank,
)

GUILD = 1000
OWNER = 1
NOW = 1_700_000_000_000
FUTURE = NOW + 3_600_000
PAST = NOW - 3_600_000


def F(*flag_names: str) -> int:
    out = 0
    for n in flag_names:
        out |= flag_value(n)
    return out


VIEW, SEND, RMH = F("VIEW_CHANNEL"), F("SEND_MESSAGES"), F("READ_MESSAGE_HISTORY")
ADMIN, CONNECT, SMIT = F("ADMINISTRATOR"), F("CONNECT"), F("SEND_MESSAGES_IN_THREADS")
FOUR = F("MENTION_EVERYONE", "SEND_TTS_MESSAGES", "ATTACH_FILES", "EMBED_LINKS")
#: The voice set the resolver documents (spelled out here so a change to it is a visible decision).
VOICE_SET = F(
    "PRIORITY_SPEAKER",
    "STREAM",
    "SPEAK",
    "MUTE_MEMBERS",
    "DEAFEN_MEMBERS",
    "MOVE_MEMBERS",
    "USE_VAD",
    "REQUEST_TO_SPEAK",
    "USE_EMBEDDED_ACTIVITIES",
    "USE_SOUNDBOARD",
    "USE_EXTERNAL_SOUNDS",
    "SET_VOICE_CHANNEL_STATUS",
    "MANAGE_CHANNELS",
    "MANAGE_ROLES",
)
EVERYDAY = VIEW | SEND | RMH | F("ADD_REACTIONS", "EMBED_LINKS", "ATTACH_FILES", "CONNECT", "SPEAK")


def iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).isoformat()


# --- REST-shaped builders ------------------------------------------------------------------------


def role(rid: int, perms: int = 0, pos: int = 1, name: str | None = None, managed: bool = False) -> dict:
    return {
        "id": str(rid),
        "name": name or f"r{rid}",
        "permissions": str(perms),
        "position": pos,
        "managed": managed,
        "color": 0,
    }


def ow(oid: int, allow: int = 0, deny: int = 0, kind: int | str = 0) -> dict:
    return {"id": str(oid), "type": kind, "allow": str(allow), "deny": str(deny)}


def chan(cid: int, ctype: int = 0, ows: list[dict] | None = None, parent: int | None = None) -> dict:
    return {
        "id": str(cid),
        "name": f"c{cid}",
        "type": ctype,
        "parent_id": None if parent is None else str(parent),
        "permission_overwrites": ows or [],
        "position": 0,
    }


def mem(uid: int, roles: list[int] | None = None, until: int | None = None, **extra: Any) -> dict:
    return {
        "user": {"id": str(uid), "username": f"u{uid}", **extra.pop("user", {})},
        "roles": [str(r) for r in roles or []],
        "communication_disabled_until": None if until is None else iso(until),
        **extra,
    }


def data(
    roles: list[dict] = (),
    channels: list[dict] = (),
    members: list[dict] = (),  # type: ignore[assignment]
    everyone: int | None = EVERYDAY,
    owner: int = OWNER,
) -> dict:
    all_roles = ([role(GUILD, everyone, 0, "@everyone")] if everyone is not None else []) + list(roles)
    return {
        "guild": {"id": str(GUILD), "name": "G", "owner_id": str(owner), "roles": all_roles},
        "channels": list(channels),
        "members": [mem(OWNER), *members],
    }


def snap(**kw: Any) -> GuildSnapshot:
    return GuildSnapshot.from_rest(data(**kw))


def perms(g: GuildSnapshot, uid: int, cid: int | None = None, now: int = NOW) -> int:
    """Both paths, checked to agree."""
    fast = resolve(g, uid, cid, now_ms=now, explain=False)
    slow = resolve(g, uid, cid, now_ms=now, explain=True)
    assert fast.steps == ()
    assert fast.permissions == slow.permissions == slow.steps[-1].permissions
    return fast.permissions


# --- the algorithm, case by case -----------------------------------------------------------------

MOD, HELPER, MUTED = 11, 12, 13  # role ids
U = 50  # the member under test
TEXT, VOICE, STAGE, CATEGORY, THREAD = 200, 201, 202, 203, 204

CASES = [
    # (id, snapshot kwargs, channel, now, expected)
    ("owner guild-wide", dict(everyone=0, owner=U), None, NOW, ALL),
    (
        "owner denied in channel by member overwrite",
        dict(owner=U, channels=[chan(TEXT, ows=[ow(U, deny=ALL, kind=1), ow(GUILD, deny=ALL)])]),
        TEXT,
        NOW,
        ALL,
    ),
    ("owner timed out", dict(owner=U, members=[mem(U, until=FUTURE)]), None, NOW, ALL),
    (
        "owner timed out in a channel",
        dict(owner=U, members=[mem(U, until=FUTURE)], channels=[chan(TEXT)]),
        TEXT,
        NOW,
        ALL,
    ),
    ("@everyone base alone", dict(members=[mem(U)]), None, NOW, EVERYDAY),
    ("no @everyone role: nothing", dict(everyone=None, members=[mem(U)]), None, NOW, 0),
    (
        "roles OR into the base",
        dict(
            roles=[role(MOD, F("KICK_MEMBERS")), role(HELPER, F("BAN_MEMBERS"))],
            members=[mem(U, [MOD, HELPER])],
        ),
        None,
        NOW,
        EVERYDAY | F("KICK_MEMBERS", "BAN_MEMBERS"),
    ),
    (
        "a role the member lacks does not count",
        dict(roles=[role(MOD, F("KICK_MEMBERS"))], members=[mem(U)]),
        None,
        NOW,
        EVERYDAY,
    ),
    (
        "role id missing from guild.roles is ignored",
        dict(members=[mem(U, [999])]),
        None,
        NOW,
        EVERYDAY,
    ),
    (
        "unknown bits in a role are kept",
        dict(roles=[role(MOD, 1 << 55)], members=[mem(U, [MOD])]),
        None,
        NOW,
        EVERYDAY | 1 << 55,
    ),
    ("ADMINISTRATOR on @everyone", dict(everyone=ADMIN, members=[mem(U)]), None, NOW, ALL),
    (
        "ADMINISTRATOR from a role only",
        dict(everyone=0, roles=[role(MOD, ADMIN)], members=[mem(U, [MOD])]),
        None,
        NOW,
        ALL,
    ),
    (
        "ADMINISTRATOR beats every overwrite",
        dict(
            roles=[role(MOD, ADMIN)],
            members=[mem(U, [MOD])],
            channels=[chan(TEXT, ows=[ow(GUILD, deny=ALL), ow(MOD, deny=ALL), ow(U, deny=ALL, kind=1)])],
        ),
        TEXT,
        NOW,
        ALL,
    ),
    (
        "ADMINISTRATOR drops unknown bits (ALL is the documented flags)",
        dict(roles=[role(MOD, ADMIN | 1 << 55)], members=[mem(U, [MOD])]),
        None,
        NOW,
        ALL,
    ),
    (
        "ADMINISTRATOR allowed by an overwrite is not admin",
        dict(members=[mem(U)], channels=[chan(TEXT, ows=[ow(U, allow=ADMIN, deny=SEND, kind=1)])]),
        TEXT,
        NOW,
        (EVERYDAY | ADMIN) & ~SEND & ~FOUR,
    ),
    (
        "admin timed out is exempt",
        dict(roles=[role(MOD, ADMIN)], members=[mem(U, [MOD], until=FUTURE)]),
        None,
        NOW,
        ALL,
    ),
    (
        "admin timed out is exempt in a channel",
        dict(roles=[role(MOD, ADMIN)], members=[mem(U, [MOD], until=FUTURE)], channels=[chan(TEXT)]),
        TEXT,
        NOW,
        ALL,
    ),
    (
        "no overwrites: base in the channel",
        dict(members=[mem(U)], channels=[chan(TEXT)]),
        TEXT,
        NOW,
        EVERYDAY,
    ),
    (
        "@everyone overwrite deny",
        dict(members=[mem(U)], channels=[chan(TEXT, ows=[ow(GUILD, deny=F("ADD_REACTIONS"))])]),
        TEXT,
        NOW,
        EVERYDAY & ~F("ADD_REACTIONS"),
    ),
    (
        "@everyone overwrite allow",
        dict(members=[mem(U)], channels=[chan(TEXT, ows=[ow(GUILD, allow=F("MANAGE_MESSAGES"))])]),
        TEXT,
        NOW,
        EVERYDAY | F("MANAGE_MESSAGES"),
    ),
    (
        "deny before allow in one overwrite",
        dict(
            members=[mem(U)],
            channels=[chan(TEXT, ows=[ow(GUILD, allow=F("MANAGE_MESSAGES"), deny=F("MANAGE_MESSAGES"))])],
        ),
        TEXT,
        NOW,
        EVERYDAY | F("MANAGE_MESSAGES"),
    ),
    (
        "role overwrite beats @everyone overwrite",
        dict(
            roles=[role(MOD)],
            members=[mem(U, [MOD])],
            channels=[
                chan(
                    TEXT,
                    ows=[ow(GUILD, deny=F("ADD_REACTIONS")), ow(MOD, allow=F("ADD_REACTIONS"))],
                )
            ],
        ),
        TEXT,
        NOW,
        EVERYDAY,
    ),
    (
        "lower role's allow beats higher role's deny",
        dict(
            roles=[role(MOD, pos=9), role(HELPER, pos=1)],
            members=[mem(U, [MOD, HELPER])],
            channels=[
                chan(
                    TEXT,
                    ows=[ow(MOD, deny=F("ADD_REACTIONS")), ow(HELPER, allow=F("ADD_REACTIONS"))],
                )
            ],
        ),
        TEXT,
        NOW,
        EVERYDAY,
    ),
    (
        "higher role's allow beats lower role's deny (order of member.roles irrelevant)",
        dict(
            roles=[role(MOD, pos=9), role(HELPER, pos=1)],
            members=[mem(U, [HELPER, MOD])],
            channels=[
                chan(
                    TEXT,
                    ows=[ow(HELPER, deny=F("ADD_REACTIONS")), ow(MOD, allow=F("ADD_REACTIONS"))],
                )
            ],
        ),
        TEXT,
        NOW,
        EVERYDAY,
    ),
    (
        "role deny alone applies",
        dict(
            roles=[role(MUTED)],
            members=[mem(U, [MUTED])],
            channels=[chan(TEXT, ows=[ow(MUTED, deny=F("ADD_REACTIONS"))])],
        ),
        TEXT,
        NOW,
        EVERYDAY & ~F("ADD_REACTIONS"),
    ),
    (
        "overwrite of a role the member lacks is ignored",
        dict(roles=[role(MUTED)], members=[mem(U)], channels=[chan(TEXT, ows=[ow(MUTED, deny=VIEW)])]),
        TEXT,
        NOW,
        EVERYDAY,
    ),
    (
        "member overwrite beats role allow",
        dict(
            roles=[role(MOD)],
            members=[mem(U, [MOD])],
            channels=[
                chan(
                    TEXT,
                    ows=[
                        ow(MOD, allow=F("ADD_REACTIONS")),
                        ow(U, deny=F("ADD_REACTIONS"), kind="member"),
                    ],
                )
            ],
        ),
        TEXT,
        NOW,
        EVERYDAY & ~F("ADD_REACTIONS"),
    ),
    (
        "member overwrite allow beats everyone and role denies",
        dict(
            roles=[role(MUTED)],
            members=[mem(U, [MUTED])],
            channels=[
                chan(
                    TEXT,
                    ows=[
                        ow(GUILD, deny=F("ADD_REACTIONS")),
                        ow(MUTED, deny=F("ADD_REACTIONS")),
                        ow(U, allow=F("ADD_REACTIONS"), kind=1),
                    ],
                )
            ],
        ),
        TEXT,
        NOW,
        EVERYDAY,
    ),
    (
        "@everyone listed in member.roles is applied once, in its own layer",
        dict(
            roles=[role(MUTED)],
            members=[mem(U, [GUILD, MUTED])],
            channels=[
                chan(
                    TEXT,
                    ows=[
                        ow(GUILD, allow=F("MANAGE_MESSAGES")),
                        ow(MUTED, deny=F("MANAGE_MESSAGES")),
                    ],
                )
            ],
        ),
        TEXT,
        NOW,
        EVERYDAY,
    ),
    (
        "another member's overwrite is ignored",
        dict(members=[mem(U), mem(51)], channels=[chan(TEXT, ows=[ow(51, deny=VIEW, kind=1)])]),
        TEXT,
        NOW,
        EVERYDAY,
    ),
    (
        "implicit: no VIEW_CHANNEL, nothing",
        dict(
            members=[mem(U)],
            channels=[chan(TEXT, ows=[ow(GUILD, allow=F("MANAGE_MESSAGES"), deny=VIEW)])],
        ),
        TEXT,
        NOW,
        0,
    ),
    (
        "implicit: no VIEW_CHANNEL drops unknown bits too",
        dict(members=[mem(U)], channels=[chan(TEXT, ows=[ow(GUILD, allow=1 << 55, deny=VIEW)])]),
        TEXT,
        NOW,
        0,
    ),
    (
        "implicit rules do not apply guild-wide",
        dict(everyone=SEND ^ (EVERYDAY | FOUR), members=[mem(U)]),
        None,
        NOW,
        SEND ^ (EVERYDAY | FOUR),
    ),
    (
        "implicit: no SEND_MESSAGES drops exactly the four",
        dict(
            everyone=EVERYDAY | FOUR | F("ADD_REACTIONS", "CREATE_PUBLIC_THREADS") | SMIT,
            members=[mem(U)],
            channels=[chan(TEXT, ows=[ow(GUILD, deny=SEND)])],
        ),
        TEXT,
        NOW,
        (EVERYDAY | F("ADD_REACTIONS", "CREATE_PUBLIC_THREADS") | SMIT) & ~SEND & ~FOUR,
    ),
    (
        "implicit: SEND_MESSAGES keeps the four",
        dict(everyone=EVERYDAY | FOUR, members=[mem(U)], channels=[chan(TEXT)]),
        TEXT,
        NOW,
        EVERYDAY | FOUR,
    ),
    (
        "implicit: voice without CONNECT",
        dict(
            everyone=EVERYDAY | VOICE_SET | F("CREATE_INSTANT_INVITE"),
            members=[mem(U)],
            channels=[chan(VOICE, 2, ows=[ow(GUILD, deny=CONNECT)])],
        ),
        VOICE,
        NOW,
        (EVERYDAY | F("CREATE_INSTANT_INVITE")) & ~CONNECT & ~VOICE_SET,
    ),
    (
        "implicit: stage without CONNECT",
        dict(
            everyone=EVERYDAY | VOICE_SET,
            members=[mem(U)],
            channels=[chan(STAGE, 13, ows=[ow(GUILD, deny=CONNECT)])],
        ),
        STAGE,
        NOW,
        EVERYDAY & ~CONNECT & ~VOICE_SET,
    ),
    (
        "implicit: voice with CONNECT keeps voice flags",
        dict(everyone=EVERYDAY | VOICE_SET, members=[mem(U)], channels=[chan(VOICE, 2)]),
        VOICE,
        NOW,
        EVERYDAY | VOICE_SET,
    ),
    (
        "implicit: text channel without CONNECT keeps voice flags",
        dict(
            everyone=EVERYDAY | VOICE_SET,
            members=[mem(U)],
            channels=[chan(TEXT, 0, ows=[ow(GUILD, deny=CONNECT)])],
        ),
        TEXT,
        NOW,
        (EVERYDAY | VOICE_SET) & ~CONNECT,
    ),
    (
        "thread: parent's overwrites, not its own",
        dict(
            everyone=EVERYDAY | SMIT,
            members=[mem(U)],
            channels=[
                chan(TEXT, ows=[ow(GUILD, deny=F("ADD_REACTIONS"))]),
                chan(THREAD, 11, [ow(GUILD, deny=VIEW)], TEXT),
            ],
        ),
        THREAD,
        NOW,
        (EVERYDAY | SMIT) & ~F("ADD_REACTIONS"),
    ),
    (
        "thread: without SEND_MESSAGES_IN_THREADS no sending (and the four go)",
        dict(
            everyone=EVERYDAY,
            members=[mem(U)],
            channels=[chan(TEXT), chan(THREAD, 11, parent=TEXT)],
        ),
        THREAD,
        NOW,
        EVERYDAY & ~SEND & ~FOUR,
    ),
    (
        "thread: private thread too",
        dict(
            everyone=EVERYDAY,
            members=[mem(U)],
            channels=[chan(TEXT), chan(THREAD, 12, parent=TEXT)],
        ),
        THREAD,
        NOW,
        EVERYDAY & ~SEND & ~FOUR,
    ),
    (
        "thread: SEND_MESSAGES_IN_THREADS alone does not add SEND_MESSAGES",
        dict(
            everyone=(EVERYDAY | SMIT) & ~SEND,
            members=[mem(U)],
            channels=[chan(TEXT), chan(THREAD, 10, parent=TEXT)],
        ),
        THREAD,
        NOW,
        (EVERYDAY | SMIT) & ~SEND & ~FOUR,
    ),
    (
        "the parent itself keeps SEND_MESSAGES without SEND_MESSAGES_IN_THREADS",
        dict(
            everyone=EVERYDAY,
            members=[mem(U)],
            channels=[chan(TEXT), chan(THREAD, 11, parent=TEXT)],
        ),
        TEXT,
        NOW,
        EVERYDAY,
    ),
    (
        "category overwrites are not inherited by a child",
        dict(
            members=[mem(U)],
            channels=[chan(CATEGORY, 4, [ow(GUILD, deny=VIEW)]), chan(TEXT, 0, parent=CATEGORY)],
        ),
        TEXT,
        NOW,
        EVERYDAY,
    ),
    (
        "the category itself uses its own overwrites",
        dict(
            members=[mem(U)],
            channels=[chan(CATEGORY, 4, [ow(GUILD, deny=VIEW)]), chan(TEXT, 0, parent=CATEGORY)],
        ),
        CATEGORY,
        NOW,
        0,
    ),
    (
        "timeout guild-wide keeps VIEW_CHANNEL and READ_MESSAGE_HISTORY",
        dict(everyone=EVERYDAY | F("KICK_MEMBERS"), members=[mem(U, until=FUTURE)]),
        None,
        NOW,
        VIEW | RMH,
    ),
    (
        "timeout in a channel",
        dict(members=[mem(U, until=FUTURE)], channels=[chan(TEXT)]),
        TEXT,
        NOW,
        VIEW | RMH,
    ),
    (
        "timeout does not add what the channel denies",
        dict(members=[mem(U, until=FUTURE)], channels=[chan(TEXT, ows=[ow(GUILD, deny=RMH)])]),
        TEXT,
        NOW,
        VIEW,
    ),
    (
        "timeout with no VIEW_CHANNEL in the channel",
        dict(members=[mem(U, until=FUTURE)], channels=[chan(TEXT, ows=[ow(GUILD, deny=VIEW)])]),
        TEXT,
        NOW,
        0,
    ),
    (
        "timeout ended",
        dict(members=[mem(U, until=PAST)], channels=[chan(TEXT)]),
        TEXT,
        NOW,
        EVERYDAY,
    ),
    (
        "timeout ending exactly now has ended",
        dict(members=[mem(U, until=NOW)]),
        None,
        NOW,
        EVERYDAY,
    ),
]


@pytest.mark.parametrize(("kw", "channel", "now", "expected"), [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_resolve(kw: dict, channel: int | None, now: int, expected: int) -> None:
    if "members" not in kw:
        kw = {**kw, "members": [mem(U)]}
    got = perms(snap(**kw), U, channel, now)
    assert got == expected, f"extra {names(got & ~expected)} missing {names(expected & ~got)}"


def test_voice_set_is_the_documented_choice() -> None:
    assert resolver.NEEDS_CONNECT == VOICE_SET
    assert resolver.NEEDS_SEND == FOUR


def test_explain_steps() -> None:
    g = snap(
        roles=[role(MOD, name="Mods")],
        members=[mem(U, [MOD], until=PAST)],
        channels=[chan(VOICE, 2, ows=[ow(GUILD, deny=VIEW), ow(MOD, allow=VIEW)])],
    )
    r = resolve(g, U, VOICE, now_ms=NOW)
    assert [s.name for s in r.steps] == [
        "base",
        "administrator",
        "everyone_overwrite",
        "role_overwrites",
        "member_overwrite",
        "implicit_view",
        "implicit_send",
        "implicit_connect",
        "timeout",
    ]
    detail = {s.name: s.detail for s in r.steps}
    assert detail["everyone_overwrite"] == "@everyone overwrite: deny VIEW_CHANNEL"
    assert "@Mods" in detail["role_overwrites"]
    assert "allow VIEW_CHANNEL" in detail["role_overwrites"]
    assert "ended" in detail["timeout"]
    assert resolve(g, U, VOICE, now_ms=NOW, explain=False).steps == ()


def test_explain_owner_admin_and_blind() -> None:
    g = snap(
        roles=[role(MOD, ADMIN)],
        members=[mem(U, [MOD]), mem(51)],
        channels=[chan(TEXT, ows=[ow(51, deny=VIEW, kind=1)]), chan(THREAD, 11, parent=TEXT)],
    )
    assert [s.name for s in resolve(g, OWNER, TEXT, now_ms=NOW).steps] == ["owner"]
    assert [s.name for s in resolve(g, U, TEXT, now_ms=NOW).steps] == ["base", "administrator"]
    blind = resolve(g, 51, THREAD, now_ms=NOW)
    assert blind.steps[-1].name == "implicit_view"
    assert blind.permissions == 0
    assert "thread_parent" in [s.name for s in blind.steps]


def test_unknown_member_and_channel() -> None:
    g = snap(members=[mem(U)], channels=[chan(TEXT), chan(THREAD, 11, parent=TEXT)])
    with pytest.raises(UnknownMember, match="member 77 is not in the snapshot"):
        resolve(g, 77, None, now_ms=NOW)
    with pytest.raises(UnknownChannel, match="channel 78 is not in the snapshot"):
        resolve(g, U, 78, now_ms=NOW, explain=False)
    with pytest.raises(UnknownChannel):  # checked before the owner's early return
        resolve(g, OWNER, 78, now_ms=NOW)
    assert isinstance(UnknownMember("x"), KeyError)
    assert isinstance(UnknownChannel("x"), KeyError)


def test_thread_with_missing_parent() -> None:
    d = data(members=[mem(U)], channels=[chan(THREAD, 11, parent=999)])
    g = GuildSnapshot.from_rest(d)
    with pytest.raises(UnknownChannel, match="parent channel 999"):
        resolve(g, U, THREAD, now_ms=NOW)


# --- hierarchy -----------------------------------------------------------------------------------

A, B, C = 21, 22, 23  # ids: A < B < C


def _h(actor_roles: list[int], extra: list[dict] = ()) -> GuildSnapshot:  # type: ignore[assignment]
    return snap(
        roles=[role(A, pos=5), role(B, pos=5), role(C, pos=2), role(MOD, ADMIN, pos=1), *extra],
        members=[mem(U, actor_roles)],
    )


@pytest.mark.parametrize(
    ("actor_roles", "target", "ok", "why"),
    [
        pytest.param([A], C, True, "above", id="above"),
        pytest.param([C], A, False, "below", id="below"),
        pytest.param([A], B, True, "lower id ranks higher", id="tie: lower id wins"),
        pytest.param([B], A, False, "lower id ranks higher", id="tie: higher id loses"),
        pytest.param([C], C, False, "strictly above", id="equal: own top role"),
        pytest.param([MOD], C, False, "ADMINISTRATOR does not bypass", id="admin does not bypass"),
        pytest.param([], C, False, "no role above @everyone", id="no roles"),
        pytest.param([A], GUILD, False, "@everyone", id="@everyone never"),
    ],
)
def test_can_manage_role(actor_roles: list[int], target: int, ok: bool, why: str) -> None:
    got, reason = can_manage_role(_h(actor_roles), U, target)
    assert got is ok
    assert why in reason


def test_owner_manages_any_role_but_not_everyone_or_managed() -> None:
    g = _h([], [role(99, pos=50, managed=True)])
    assert can_manage_role(g, OWNER, A) == (
        True,
        "u1 owns the server: the owner may manage every role",
    )
    assert can_manage_role(g, OWNER, GUILD)[0] is False
    ok, why = can_manage_role(g, OWNER, 99)
    assert not ok
    assert "integration" in why


def test_ranks() -> None:
    g = _h([C, A])
    assert role_rank(g, GUILD) == 0
    assert role_rank(g, MOD) < role_rank(g, C) < role_rank(g, B) < role_rank(g, A)
    assert top_rank(g, U) == role_rank(g, A)
    assert top_rank(g, OWNER) == 0
    # @everyone stays lowest even against a role at position 0 with a larger id.
    g0 = snap(roles=[role(GUILD + 1, pos=0)], members=[mem(U, [GUILD + 1])])
    assert role_rank(g0, GUILD) < role_rank(g0, GUILD + 1)
    with pytest.raises(UnknownRole):
        role_rank(g, 12345)
    with pytest.raises(UnknownMember):
        top_rank(g, 12345)
    with pytest.raises(UnknownMember):
        can_manage_role(g, 12345, A)


# --- parsing -------------------------------------------------------------------------------------


def _break(path: str, value: Any) -> dict:
    """A good snapshot with one value replaced (or removed, for ``...``) at a dotted path."""
    d = data(
        roles=[role(MOD)],
        members=[mem(U, [MOD])],
        channels=[chan(TEXT, ows=[ow(GUILD, deny=VIEW)])],
    )
    d = copy.deepcopy(d)
    *parents, last = path.split(".")
    node: Any = d
    for p in parents:
        node = node[int(p)] if p.isdigit() else node[p]
    if value is ...:
        del node[int(last) if last.isdigit() else last]
    else:
        node[int(last) if last.isdigit() else last] = value
    return d


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("guild", ..., "guild: missing"),
        ("guild.roles", ..., "guild.roles: missing"),
        ("guild.roles", "x", "guild.roles: not a list: 'x'"),
        ("guild.id", "abc", "guild.id: not a snowflake: 'abc'"),
        ("guild.owner_id", None, "guild.owner_id: missing"),
        (
            "guild.roles.1.permissions",
            "12x",
            "guild.roles[1].permissions: not a permission value: '12x'",
        ),
        ("guild.roles.1.permissions", -1, "guild.roles[1].permissions: not a permission value: -1"),
        ("guild.roles.1.position", "3", "guild.roles[1].position: not an integer: '3'"),
        ("guild.roles.1.id", str(GUILD), f"guild.roles[1].id: duplicate role id {GUILD}"),
        ("channels.0.type", ..., "channels[0].type: missing"),
        (
            "channels.0.permission_overwrites.0.type",
            2,
            "channels[0].permission_overwrites[0].type: not 0 (role) or 1",
        ),
        (
            "channels.0.permission_overwrites.0.deny",
            "1.5",
            "channels[0].permission_overwrites[0].deny: not a permission",
        ),
        ("channels.0.parent_id", "0", "channels[0].parent_id: not a snowflake: '0'"),
        ("members.1.roles.0", "abc", "members[1].roles[0]: not a snowflake: 'abc'"),
        ("members.1.user", ..., "members[1].user: missing"),
        ("members.1.user.id", "²", "members[1].user.id: not a snowflake"),
        (
            "members.1.communication_disabled_until",
            "soon",
            "members[1].communication_disabled_until: not an ISO 8601",
        ),
        ("members.1.user.id", str(OWNER), f"members[1].user.id: duplicate member id {OWNER}"),
        ("members", {}, "members: not a list: {}"),
    ],
)
def test_bad_snapshot(path: str, value: Any, message: str) -> None:
    with pytest.raises(SnapshotError) as err:
        GuildSnapshot.from_rest(_break(path, value))
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_bad_snapshot_top_level_and_threads() -> None:
    with pytest.raises(SnapshotError, match="^snapshot: not an object"):
        GuildSnapshot.from_rest([])
    with pytest.raises(SnapshotError, match=r"channels\[0\].parent_id: missing"):
        GuildSnapshot.from_rest(data(channels=[chan(THREAD, 11)]))
    d = data(channels=[chan(TEXT, ows=[ow(GUILD), ow(GUILD, deny=VIEW)])])
    with pytest.raises(SnapshotError, match=r"permission_overwrites\[1\].id: duplicate overwrite id"):
        GuildSnapshot.from_rest(d)


def test_parse_fields() -> None:
    d = data(
        roles=[role(MOD, 1 << 60)],
        channels=[chan(TEXT, ows=[ow(MOD, 1, 2, "role"), ow(U, 4, 8, "member")])],
        members=[
            mem(U, [MOD, 999], nick="Nick", user={"global_name": "Global"}),
            mem(51, user={"global_name": "Global"}),
            mem(52),
            {
                "user": {"id": "53", "username": "z"},
                "roles": [],
                "communication_disabled_until": "2024-01-01T00:00:00Z",
            },
            {
                "user": {"id": "54", "username": "z"},
                "roles": [],
                "communication_disabled_until": "2024-01-01T01:00:00.500000+01:00",
            },
        ],
    )
    d["unexpected"] = {"whatever": True}
    del d["members"][0]["communication_disabled_until"]
    g = GuildSnapshot.from_rest(d)
    assert (g.id, g.name, g.owner_id) == (GUILD, "G", OWNER)
    assert g.roles[MOD].permissions == 1 << 60
    assert [g.members[i].name for i in (U, 51, 52)] == ["Nick", "Global", "u52"]
    assert g.members[U].roles == (MOD, 999)  # the lagging role id is kept
    ows = g.channels[TEXT].overwrites
    assert (ows[MOD].type, ows[MOD].allow, ows[MOD].deny, ows[U].type) == (0, 1, 2, 1)
    assert g.members[53].timeout_until_ms == 1_704_067_200_000
    assert g.members[54].timeout_until_ms == 1_704_067_200_500
    assert g.members[OWNER].timeout_until_ms is None
    assert g.everyone.permissions == EVERYDAY
    assert GuildSnapshot.from_rest(data(everyone=None)).everyone.permissions == 0
    # Channels and members may be absent.
    empty = GuildSnapshot.from_rest({"guild": d["guild"]})
    assert empty.channels == {}
    assert empty.members == {}


def test_names() -> None:
    assert names(F("VIEW_CHANNEL", "ADMINISTRATOR") | 1 << 55) == ["ADMINISTRATOR", "VIEW_CHANNEL"]
    assert len(names(ALL)) == 52


# --- random guilds against a reference -----------------------------------------------------------
#
# Written straight from permissions.mdx's compute_base_permissions / compute_overwrites (with the
# pseudocode's slip fixed: overwrites are the channel's, keyed by id), plus the implicit rules, the
# thread rule and the timeout as console/policy/resolver.py's docstring states them. It reads the raw JSON.


def ref_base(d: dict, uid: int) -> int:
    g = d["guild"]
    if uid == int(g["owner_id"]):
        return ALL
    roles = {int(r["id"]): int(r["permissions"]) for r in g["roles"]}
    member = next(m for m in d["members"] if int(m["user"]["id"]) == uid)
    permissions = roles.get(int(g["id"]), 0)
    for rid in member["roles"]:
        permissions |= roles.get(int(rid), 0)
    if permissions & ADMIN == ADMIN:
        return ALL
    return permissions


def ref_overwrites(d: dict, base: int, uid: int, channel: dict) -> int:
    if base & ADMIN == ADMIN:
        return ALL
    gid = int(d["guild"]["id"])
    known = {int(r["id"]) for r in d["guild"]["roles"]}
    member = next(m for m in d["members"] if int(m["user"]["id"]) == uid)
    kind = {0: 0, 1: 1, "role": 0, "member": 1}
    overwrites = {(kind[o["type"]], int(o["id"])): o for o in channel["permission_overwrites"]}
    permissions = base
    everyone = overwrites.get((0, gid))
    if everyone:
        permissions &= ~int(everyone["deny"])
        permissions |= int(everyone["allow"])
    allow = deny = 0
    for rid in member["roles"]:
        o = overwrites.get((0, int(rid)))
        if o and int(rid) in known:
            allow |= int(o["allow"])
            deny |= int(o["deny"])
    permissions &= ~deny
    permissions |= allow
    o = overwrites.get((1, uid))
    if o:
        permissions &= ~int(o["deny"])
        permissions |= int(o["allow"])
    return permissions


def ref_resolve(d: dict, uid: int, cid: int | None, now: int) -> int:
    base = ref_base(d, uid)
    if base == ALL:  # owner or ADMINISTRATOR: nothing below applies
        return ALL
    p = base
    if cid is not None:
        channels = {int(c["id"]): c for c in d["channels"]}
        channel = channels[cid]
        thread = channel["type"] in (10, 11, 12)
        p = ref_overwrites(d, base, uid, channels[int(channel["parent_id"])] if thread else channel)
        if not p & VIEW:
            p = 0
        if thread and not p & SMIT:
            p &= ~SEND
        if not p & SEND:
            p &= ~FOUR
        if channel["type"] in (2, 13) and not p & CONNECT:
            p &= ~VOICE_SET
    member = next(m for m in d["members"] if int(m["user"]["id"]) == uid)
    until = member["communication_disabled_until"]
    if until is not None and dt.datetime.fromisoformat(until).timestamp() * 1000 > now:
        p &= VIEW | RMH
    return p


UNKNOWN_BITS = (1 << 47) | (((1 << 64) - 1) << 53)


@st.composite
def permission_ints(draw: st.DrawFn) -> int:
    documented = draw(st.integers(0, ALL)) & ALL & ~ADMIN
    if draw(st.integers(0, 15)) == 0:
        documented |= ADMIN
    if draw(st.booleans()):
        documented |= draw(st.sampled_from([VIEW, SEND, CONNECT, SMIT, VIEW | SEND | CONNECT]))
    unknown = draw(st.integers(0, (1 << 64) - 1)) & UNKNOWN_BITS if draw(st.booleans()) else 0
    return documented | unknown


@st.composite
def guilds(draw: st.DrawFn) -> tuple[dict, int]:
    role_ids = list(range(GUILD + 1, GUILD + 1 + draw(st.integers(0, 6))))
    member_ids = list(range(2000, 2000 + draw(st.integers(1, 4))))
    roles = [role(rid, draw(permission_ints()), draw(st.integers(0, 4))) for rid in role_ids]
    members = []
    for uid in member_ids:
        rs = draw(st.lists(st.sampled_from([*role_ids, 9999]), unique=True)) if role_ids else []
        until = draw(st.sampled_from([None, PAST, FUTURE, NOW]))
        members.append(mem(uid, rs, until))
    overwrite_ids = [
        (GUILD, 0),
        (9999, 0),
        *((r, 0) for r in role_ids),
        *((u, 1) for u in member_ids),
    ]
    channels = []
    for i, ctype in enumerate(
        draw(st.lists(st.sampled_from([0, 2, 4, 5, 13, 15, 10, 11, 12]), min_size=1, max_size=4))
    ):
        cid = 3000 + i
        if ctype in (10, 11, 12):
            ctype, parent = (ctype, 2999)  # threads hang off the text channel 2999 below
        else:
            parent = 2998 if ctype != 4 and draw(st.booleans()) else None
        chosen = draw(st.lists(st.sampled_from(overwrite_ids), unique=True))
        ows = [
            ow(
                oid,
                draw(permission_ints()),
                draw(permission_ints()),
                draw(st.sampled_from([kind, ("role", "member")[kind]])),
            )
            for oid, kind in chosen
        ]
        channels.append(chan(cid, ctype, ows, parent))
    parent_ows = [
        ow(oid, draw(permission_ints()), draw(permission_ints()), kind)
        for oid, kind in draw(st.lists(st.sampled_from(overwrite_ids), unique=True))
    ]
    channels += [chan(2999, 0, parent_ows, 2998), chan(2998, 4, [ow(GUILD, deny=ALL)])]
    everyone = draw(st.none() | permission_ints())
    d = data(
        roles=roles,
        channels=channels,
        members=members,
        everyone=everyone,
        owner=draw(st.sampled_from([*member_ids, OWNER])),
    )
    return d, draw(st.sampled_from(member_ids))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(guilds())
def test_matches_reference(case: tuple[dict, int]) -> None:
    d, uid = case
    g = GuildSnapshot.from_rest(d)
    for cid in [None, *(int(c["id"]) for c in d["channels"])]:
        want = ref_resolve(d, uid, cid, NOW)
        for explain in (False, True):
            got = resolve(g, uid, cid, now_ms=NOW, explain=explain)
            assert got.permissions == want, (cid, explain, names(got.permissions ^ want))
            if explain:
                assert got.steps
                assert got.steps[-1].permissions == want


def test_flag_table_is_the_documented_one() -> None:
    assert len(FLAGS) == 52
    assert 47 not in FLAGS
    assert max(FLAGS) == 52
