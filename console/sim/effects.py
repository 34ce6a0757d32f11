"""What an audit-log entry does to the guild, and the gateway dispatches Discord sends for it.

Kept apart from the entry builders so the ground truth (members, roles, channels, bans) stays
consistent with the log: a kicked member is gone (role PUT → 404 Unknown Member), a role
``$add`` shows up in GET member and in GUILD_MEMBER_UPDATE.
"""

from __future__ import annotations

from typing import Any

from console.sim.guild import JSON, SimGuild

Dispatch = tuple[str, JSON]


def _changes(entry: dict[str, Any]) -> dict[str, JSON]:
    return {c["key"]: c for c in entry.get("changes") or []}


def member_update(guild: SimGuild, uid: int) -> Dispatch:
    return "GUILD_MEMBER_UPDATE", guild.member_object(uid, with_guild_id=True)


def apply_entry(guild: SimGuild, entry: dict[str, Any]) -> list[Dispatch]:  # noqa: C901, PLR0912
    """Apply ``entry`` to the guild; return the dispatches it causes (besides its own event)."""
    at = int(entry["action_type"])
    gid = str(guild.guild_id)
    target = int(entry["target_id"]) if entry.get("target_id") else None
    ch = _changes(entry)
    out: list[Dispatch] = []

    if at in (20, 22) and target is not None:
        if at == 22:
            guild.bans[target] = entry.get("reason")
            if target in guild.users:
                out.append(("GUILD_BAN_ADD", {"guild_id": gid, "user": guild.user_object(target)}))
        if guild.remove_member(target):
            out.append(("GUILD_MEMBER_REMOVE", {"guild_id": gid, "user": guild.user_object(target)}))
    elif at == 23 and target is not None:
        guild.bans.pop(target, None)
        if target in guild.users:
            out.append(("GUILD_BAN_REMOVE", {"guild_id": gid, "user": guild.user_object(target)}))
    elif at == 24 and target in guild.members:
        member = guild.members[target]
        for key in ("communication_disabled_until", "nick", "mute", "deaf"):
            if key in ch:
                member[key] = ch[key].get("new_value")
        for key in ("mute", "deaf"):
            member[key] = bool(member[key])
        out.append(member_update(guild, target))
    elif at == 25 and target in guild.members:
        changed = False
        for role in (ch.get("$add") or {}).get("new_value") or []:
            changed |= guild.add_member_role(target, int(role["id"]))
        for role in (ch.get("$remove") or {}).get("new_value") or []:
            changed |= guild.remove_member_role(target, int(role["id"]))
        if changed:
            out.append(member_update(guild, target))
    elif at == 28 and target is not None and target not in guild.members:
        guild.add_bot_member(target, guild.entry_ms(entry), f"Bot {str(target)[-4:]}")
        out.append(("GUILD_MEMBER_ADD", guild.member_object(target, with_guild_id=True)))
    elif at == 30 and target is not None:
        role = guild.make_role(
            target,
            ch["name"]["new_value"],
            int(ch.get("permissions", {}).get("new_value", "0")),
            int(ch.get("color", {}).get("new_value") or 0),
            False,
            1,
        )
        guild.roles[target] = role
        guild.role_kinds[target] = "created"
        out.append(("GUILD_ROLE_CREATE", {"guild_id": gid, "role": dict(role)}))
    elif at == 31 and target in guild.roles:
        role = guild.roles[target]
        if "permissions" in ch:
            role["permissions"] = ch["permissions"]["new_value"]
        if "name" in ch:
            role["name"] = ch["name"]["new_value"]
        out.append(("GUILD_ROLE_UPDATE", {"guild_id": gid, "role": dict(role)}))
    elif at == 32 and target in guild.roles:
        del guild.roles[target]
        guild.role_kinds.pop(target, None)
        for member in guild.members.values():
            if target in member["roles"]:
                member["roles"].remove(target)
        out.append(("GUILD_ROLE_DELETE", {"guild_id": gid, "role_id": str(target)}))
    elif at == 10 and target is not None:
        ctype = int(ch["type"]["new_value"])
        channel: JSON = {
            "id": str(target),
            "type": ctype,
            "guild_id": gid,
            "name": ch["name"]["new_value"],
            "position": len(guild.channels),
            "parent_id": None,
            "permission_overwrites": ch.get("permission_overwrites", {}).get("new_value", []),
            "flags": 0,
            "nsfw": False,
            "last_message_id": None,
            "rate_limit_per_user": 0,
        }
        if ctype == 2:
            channel.update(bitrate=64000, user_limit=0, rtc_region=None, video_quality_mode=1)
        else:
            channel.update(topic=None, default_auto_archive_duration=1440, last_pin_timestamp=None)
        guild.channels[target] = channel
        guild.created_channels.add(target)
        out.append(("CHANNEL_CREATE", dict(channel)))
    elif at == 11 and target in guild.channels:
        channel = guild.channels[target]
        for key in ("name", "topic", "nsfw", "rate_limit_per_user"):
            if key in ch:
                channel[key] = ch[key].get("new_value", 0 if key == "rate_limit_per_user" else None)
        out.append(("CHANNEL_UPDATE", dict(channel)))
    elif at == 12 and target in guild.channels:
        channel = guild.channels.pop(target)
        guild.created_channels.discard(target)
        out.append(("CHANNEL_DELETE", channel))
    elif at in (13, 14, 15) and target in guild.channels:
        channel = guild.channels[target]
        opts = entry.get("options") or {}
        oid = opts.get("id")
        rest = [o for o in channel["permission_overwrites"] if o["id"] != oid]
        if at != 15:
            current = next(
                (o for o in channel["permission_overwrites"] if o["id"] == oid),
                {"id": oid, "type": int(opts.get("type", 0)), "allow": "0", "deny": "0"},
            )
            current = dict(current)
            for key in ("allow", "deny"):
                if key in ch and "new_value" in ch[key]:
                    current[key] = ch[key]["new_value"]
            rest.append(current)
        channel["permission_overwrites"] = rest
        out.append(("CHANNEL_UPDATE", dict(channel)))
    return out
