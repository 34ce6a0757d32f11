"""Display names from gateway and REST payloads, for the names cache (users, roles, channels).

A person has two names: kind "user" is the username (unique, what ``actor:`` queries match) and
kind "member" the name the guild shows (nick, else global name, else username), learnt only from
member payloads, which alone carry the nick. How the two are shown together is decided in one
place, console/model/naming.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from console.model.snowflake import parse as parse_id


def user_name(user: Mapping[str, Any]) -> str | None:
    """The handle people search for: ``username`` (Discord's unique name)."""
    name = user.get("username")
    return name if isinstance(name, str) else None


def member_name(member: Mapping[str, Any]) -> str | None:
    """The name the guild shows for a member: nick, else global name, else username (the order
    Discord's client uses, and the policy engine's for a decision's actor)."""
    given = member.get("user")
    user: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    for name in (member.get("nick"), user.get("global_name"), user.get("username")):
        if isinstance(name, str) and name.strip():
            return name
    return None


def _member_pairs(members: list[Any]) -> list[tuple[int, str]]:
    return _pairs(
        [
            {**m, "id": m["user"].get("id")}
            for m in members
            if isinstance(m, Mapping) and isinstance(m.get("user"), Mapping)
        ],
        member_name,
    )


def _storable(name: str) -> bool:
    """False for a name with a lone surrogate (a payload read leniently): SQLite cannot bind it,
    and a names cache can do without it (the entry keeps the raw payload)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _pairs(items: Any, name_of: Any) -> list[tuple[int, str]]:
    out = []
    if isinstance(items, list):
        for item in items:
            if isinstance(item, Mapping):
                i, n = parse_id(item.get("id")), name_of(item)
                if i is not None and isinstance(n, str) and _storable(n):
                    out.append((i, n))
    return out


def _name(item: Mapping[str, Any]) -> Any:
    return item.get("name")


def names_from_audit_page(page: Mapping[str, Any]) -> dict[str, list[tuple[int, str]]]:
    out: dict[str, list[tuple[int, str]]] = {"user": _pairs(page.get("users"), user_name)}
    out["channel"] = _pairs(page.get("threads"), _name)
    # Webhooks act as users in entries.
    out["user"] += _pairs(page.get("webhooks"), _name)
    return out


def names_from_guild(guild: Mapping[str, Any]) -> dict[str, list[tuple[int, str]]]:
    """GUILD_CREATE (or a REST guild + channels + members)."""
    given = guild.get("members")
    members = given if isinstance(given, list) else []
    users = [m.get("user") for m in members if isinstance(m, Mapping) and isinstance(m.get("user"), Mapping)]
    return {
        "guild": [(i, n) for i, n in [(parse_id(guild.get("id")), guild.get("name"))] if i and isinstance(n, str)],
        "role": _pairs(guild.get("roles"), _name),
        "channel": _pairs(guild.get("channels"), _name) + _pairs(guild.get("threads"), _name),
        "user": _pairs(users, user_name),
        "member": _member_pairs(members),
    }


def names_from_dispatch(name: str, payload: Mapping[str, Any]) -> dict[str, list[tuple[int, str]]]:
    """Names carried by one gateway dispatch (member, role, channel events)."""
    if name in ("GUILD_MEMBER_ADD", "GUILD_MEMBER_UPDATE") and isinstance(payload.get("user"), Mapping):
        return {"user": _pairs([payload["user"]], user_name), "member": _member_pairs([payload])}
    if name in ("GUILD_ROLE_CREATE", "GUILD_ROLE_UPDATE") and isinstance(payload.get("role"), Mapping):
        return {"role": _pairs([payload["role"]], _name)}
    if name in ("CHANNEL_CREATE", "CHANNEL_UPDATE", "THREAD_CREATE", "THREAD_UPDATE"):
        return {"channel": _pairs([payload], _name)}
    if name == "GUILD_UPDATE":
        return {"guild": _pairs([payload], _name)}
    return {}
