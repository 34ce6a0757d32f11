"""Small REST-shaped guilds for policy tests (the shape ``explain --state`` reads)."""

from __future__ import annotations

from typing import Any

from console.model.permissions import FLAGS
from console.policy.guild import GuildSnapshot

GUILD = 1_000_000_000_000_000_001
OWNER = 1_000_000_000_000_000_100
BITS = {name: 1 << bit for bit, name in FLAGS.items()}


def bits(*names: str) -> int:
    out = 0
    for n in names:
        out |= BITS[n]
    return out


def role(rid: int, name: str, position: int, *perms: str) -> dict[str, Any]:
    return {"id": str(rid), "name": name, "position": position, "permissions": str(bits(*perms))}


def member(uid: int, *roles: int, timeout: str | None = None) -> dict[str, Any]:
    return {
        "user": {"id": str(uid), "username": f"user{uid % 1000}"},
        "roles": [str(r) for r in roles],
        "communication_disabled_until": timeout,
    }


def guild(
    roles: list[dict[str, Any]],
    members: list[dict[str, Any]],
    channels: list[dict[str, Any]] | None = None,
    everyone: tuple[str, ...] = ("VIEW_CHANNEL", "SEND_MESSAGES"),
) -> GuildSnapshot:
    all_roles = [role(GUILD, "@everyone", 0, *everyone), *roles]
    return GuildSnapshot.from_rest(
        {
            "guild": {"id": str(GUILD), "name": "Test guild", "owner_id": str(OWNER), "roles": all_roles},
            "channels": channels or [],
            "members": [member(OWNER), *members],
        }
    )
