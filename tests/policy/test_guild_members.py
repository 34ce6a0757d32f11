"""The guild state's members: a bounded cache (least recently used out), kept current by member
dispatches, parsed member by member, and a snapshot that answers exactly as one parsed whole."""

from __future__ import annotations

from typing import Any

from console.ingest.guild_state import GuildStates
from console.policy.document import parse_policy
from console.policy.engine import Request, evaluate
from console.policy.guild import GuildSnapshot
from console.policy.resolver import resolve

from .guilds import GUILD, OWNER, member, role

MOD, PLAIN = 21, 22
ROLES = [role(GUILD, "@everyone", 0, "VIEW_CHANNEL"), role(MOD, "Mod", 5, "MANAGE_ROLES"), role(PLAIN, "Member", 1)]
CHANNEL = {
    "id": "31",
    "type": 0,
    "name": "mods",
    "permission_overwrites": [{"id": str(GUILD), "type": 0, "allow": "0", "deny": "1024"}],
}


def created(members: list[dict[str, Any]]) -> dict[str, Any]:
    """A GUILD_CREATE payload (the gateway's shape: channels and members inside the guild)."""
    return {
        "id": str(GUILD),
        "name": "g",
        "owner_id": str(OWNER),
        "roles": ROLES,
        "channels": [CHANNEL],
        "members": members,
    }


def states(limit: int, members: list[dict[str, Any]]) -> GuildStates:
    s = GuildStates(member_limit=limit)
    s.guild_created(GUILD, created(members))
    return s


def add(s: GuildStates, uid: int, *roles: int, name: str = "GUILD_MEMBER_ADD") -> int | None:
    return s.apply(name, {"guild_id": str(GUILD), **member(uid, *roles)})


def test_the_bound_evicts_the_oldest_member() -> None:
    s = states(3, [member(OWNER)])
    for uid in (101, 102, 103):
        add(s, uid, PLAIN)
    assert s.cached_members(GUILD) == 3
    assert s.member(GUILD, OWNER) is None, "the oldest went first"
    # A member refreshed by an update is the newest again: 102 goes next, not 101.
    add(s, 101, PLAIN, MOD, name="GUILD_MEMBER_UPDATE")
    add(s, 104, PLAIN)
    assert [u for u in (101, 102, 103, 104) if s.member(GUILD, u) is not None] == [101, 103, 104]
    snap = s.snapshot(GUILD)
    assert snap is not None
    assert sorted(snap.members) == [101, 103, 104]
    assert snap.members[101].roles == (PLAIN, MOD)


def test_a_removed_member_is_dropped_and_remembered_as_gone() -> None:
    s = states(10, [member(OWNER), member(101, MOD)])
    assert s.apply("GUILD_MEMBER_REMOVE", {"guild_id": str(GUILD), "user": {"id": "101"}}) == GUILD
    assert s.member(GUILD, 101) is None
    assert 101 not in s.snapshot(GUILD).members  # type: ignore[union-attr]
    # Joining again clears it.
    add(s, 101, PLAIN)
    assert s.member(GUILD, 101) is not None


def test_a_malformed_member_is_not_kept_and_does_not_spoil_the_state() -> None:
    s = states(10, [member(OWNER), {"user": {"id": "101"}, "roles": ["not-an-id"]}])
    assert s.member(GUILD, 101) is None
    snap = s.snapshot(GUILD)
    assert snap is not None
    assert sorted(snap.members) == [OWNER]


def test_only_what_is_read_is_kept_of_a_member() -> None:
    big = {**member(101, MOD), "avatar": "a" * 64, "flags": 0, "pending": False, "joined_at": "2024-01-01T00:00:00"}
    big["user"] = {**big["user"], "avatar": "b" * 64, "global_name": "Ann", "public_flags": 0}
    s = states(10, [big])
    kept = s.member(GUILD, 101)
    assert kept is not None
    assert set(kept) == {"user", "roles", "joined_at", "communication_disabled_until"}
    assert set(kept["user"]) == {"id", "username", "global_name"}


def test_a_snapshot_built_member_by_member_answers_as_one_parsed_whole() -> None:
    members = [member(OWNER), member(101, MOD), member(102, PLAIN), member(103, MOD, PLAIN)]
    s = states(10, members)
    whole = GuildSnapshot.from_rest({"guild": created([]), "channels": [CHANNEL], "members": members})
    policy = parse_policy(f'[[grants]]\nrole = "{MOD}"\ncapability = "roles.grant"\neffect = "ALLOW"\n'.encode(), "p")
    for _ in range(2):  # before and after a change that keeps roles and channels
        snap = s.snapshot(GUILD)
        assert snap is not None
        for uid in (OWNER, 101, 102, 103):
            for channel in (None, 31):
                assert resolve(snap, uid, channel, now_ms=0) == resolve(whole, uid, channel, now_ms=0)
            request = Request(uid, "roles.grant", "role", PLAIN, None, PLAIN)
            mine, theirs = evaluate(policy, snap, request, now_ms=0), evaluate(policy, whole, request, now_ms=0)
            assert (mine.reason_code, mine.path, mine.actor) == (theirs.reason_code, theirs.path, theirs.actor)
        add(s, 104, PLAIN)
        whole = GuildSnapshot.from_rest(
            {"guild": created([]), "channels": [CHANNEL], "members": [*members, member(104, PLAIN)]}
        )


def test_a_role_change_rebuilds_what_depends_on_roles() -> None:
    s = states(10, [member(OWNER), member(101, PLAIN)])
    assert not resolve(s.snapshot(GUILD), 101, now_ms=0).permissions & (1 << 28)  # type: ignore[arg-type]
    s.apply("GUILD_ROLE_UPDATE", {"guild_id": str(GUILD), "role": role(PLAIN, "Member", 1, "MANAGE_ROLES")})
    assert resolve(s.snapshot(GUILD), 101, now_ms=0).permissions & (1 << 28)  # type: ignore[arg-type]
