"""Members as a stored guild state lists them (``{"members": [{"user": {"id"}, "roles"}]}``), read
leniently: a member with a malformed id is skipped, not an error (the state is only a hint here;
the policy's strict parse is :meth:`console.policy.guild.GuildSnapshot.from_rest`)."""

from collections.abc import Mapping
from typing import Any


def holding(snapshot: Mapping[str, Any], role_ids: frozenset[int]) -> set[int]:
    """The ids of the members holding any of ``role_ids``."""
    found: set[int] = set()
    for m in snapshot.get("members") or []:
        roles = {int(r) for r in m.get("roles") or [] if str(r).isdigit()}
        user = m.get("user") or {}
        if roles & role_ids and str(user.get("id", "")).isdigit():
            found.add(int(user["id"]))
    return found


def bots(snapshot: Mapping[str, Any]) -> set[int]:
    """The ids of the members whose user Discord flags as a bot (apps and integrations act in the
    log through their bot user; webhooks never act there)."""
    found: set[int] = set()
    for m in snapshot.get("members") or []:
        user = m.get("user") or {}
        if user.get("bot") is True and str(user.get("id", "")).isdigit():
            found.add(int(user["id"]))
    return found
