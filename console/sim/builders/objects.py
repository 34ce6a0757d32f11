"""Entries for the objects a guild holds: invites, webhooks, emojis, integrations, stage
instances, stickers, scheduled events, threads, command permissions and soundboard sounds.

Most come in create/update/delete triples built from one object, so one builder serves the triple.
"""

from __future__ import annotations

from console.sim.builders.base import Builder, Ctx, Draft, chg
from console.sim.guild import JSON


def invite(c: Ctx, d: Draft) -> None:
    rng = c.rng
    code = "".join(rng.choice("abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(8))
    fields = {
        "code": code,
        "channel_id": str(c.channel(0)),
        "inviter_id": str(d.actor),
        "uses": 0,
        "max_uses": rng.choice([0, 1, 10]),
        "max_age": rng.choice([0, 3600, 86400, 604800]),
        "temporary": False,
        "flags": 0,
    }
    if d.at == 40:
        d.changes = [{"key": k, "new_value": v} for k, v in fields.items()]
    elif d.at == 41:
        d.changes = [chg("max_uses", 25, fields["max_uses"] or None)]
    else:
        fields["uses"] = rng.randint(0, 30)
        d.changes = [{"key": k, "old_value": v} for k, v in fields.items()]


def webhook(c: Ctx, d: Draft) -> None:
    d.target = c.sid()
    hook = {
        "name": c.rng.choice(["GitHub", "Twitter feed", "Captain Hook"]),
        "type": 1,
        "channel_id": str(c.channel(0, 5)),
        "avatar_hash": None,
        "application_id": None,
    }
    if d.at == 50:
        d.changes = [chg(k, v) for k, v in hook.items() if v is not None]
    elif d.at == 51:
        d.changes = [
            chg("avatar_hash", "a1b2c3d4e5f60718293a4b5c6d7e8f90", None),
            chg("name", "Release Notes", hook["name"]),
        ]
    else:
        d.changes = [chg(k, None, v) for k, v in hook.items() if v is not None]


def emoji(c: Ctx, d: Draft) -> None:
    d.target = c.sid()
    name = c.rng.choice(["pepega", "catjam", "ban_hammer", "kekw"])
    d.changes = {
        60: [chg("name", name)],
        61: [chg("name", name + "2", name)],
        62: [chg("name", None, name)],
    }[d.at]


def integration(c: Ctx, d: Draft) -> None:
    d.target = c.sid()
    base = {
        "name": c.rng.choice(["Carl-bot", "Twitch", "YouTube"]),
        "type": c.rng.choice(["discord", "twitch"]),
    }
    if d.at == 80:
        d.changes = [chg(k, v) for k, v in base.items()]
    elif d.at == 81:
        d.changes = [chg("expire_behavior", 1, 0), chg("expire_grace_period", 7, 1)]
    else:
        d.changes = [chg(k, None, v) for k, v in base.items()]


def stage_instance(c: Ctx, d: Draft) -> None:
    stage = c.channel(13)
    d.target = c.sid()
    topic = c.rng.choice(["Town hall: Q3 rules update", "AMA with the devs", "Movie night 🎬"])
    d.changes = {
        83: [chg("topic", topic), chg("privacy_level", 2)],
        84: [chg("topic", topic + " (part 2)", topic)],
        85: [chg("topic", None, topic), chg("privacy_level", None, 2)],
    }[d.at]
    d.options = {"channel_id": str(stage)}


def sticker(c: Ctx, d: Draft) -> None:
    d.target = target = c.sid()
    fields = {
        "name": c.rng.choice(["wave", "gg", "nope"]),
        "tags": "👋",
        "description": "a sticker",
        "format_type": 1,
        "available": True,
        "asset": "",
        "guild_id": str(c.g.guild_id),
        "id": str(target),
    }
    d.changes = {
        90: [chg(k, v) for k, v in fields.items()],
        91: [chg("description", "an updated sticker", "a sticker")],
        92: [chg(k, None, v) for k, v in fields.items()],
    }[d.at]


def scheduled_event(c: Ctx, d: Draft) -> None:
    d.target = c.sid()
    event = {
        "name": c.rng.choice(["Movie Night", "Game Tournament", "Town Hall"]),
        "description": "Join us!",
        "privacy_level": 2,
        "status": 1,
        "entity_type": 2,
        "channel_id": str(c.channel(2, 13)),
    }
    d.changes = {
        100: [chg(k, v) for k, v in event.items()],
        101: [chg("status", 2, 1)],
        102: [chg(k, None, v) for k, v in event.items()],
    }[d.at]


def thread(c: Ctx, d: Draft) -> None:
    """A thread created (110, by a moderator or a member), updated (111) or deleted (112)."""
    d.target = c.sid()
    d.actor = c.rng.choice([d.actor, c.victim()]) if d.at == 110 else d.actor
    fields: JSON = {
        "name": c.rng.choice(["bug report", "appeal: spam ban", "event ideas"]),
        "type": 11,
        "archived": False,
        "locked": False,
        "auto_archive_duration": 1440,
        "rate_limit_per_user": 0,
        "flags": 0,
        "invitable": True,
    }
    d.changes = {
        110: [chg(k, v) if v not in (False, 0) else {"key": k, "new_value": v} for k, v in fields.items()],
        111: [chg("archived", True, False), chg("locked", True, False)],
        112: [{"key": k, "old_value": v} for k, v in fields.items()],
    }[d.at]


def command_permissions(c: Ctx, d: Draft) -> None:
    """121: per-command (or app-wide) permissions keyed by role, channel and @everyone ids."""
    rng, g = c.rng, c.g
    app_id = str(g.carl_id)
    all_commands = rng.random() < 0.4
    d.target = app_id if all_commands else c.sid()
    rid = c.role()
    changes = [{"key": str(rid), "new_value": {"id": str(rid), "type": 1, "permission": True}}]
    if rng.random() < 0.5:
        cid = str(g.guild_id - 1)  # "all channels" constant
        changes.append(
            {
                "key": cid,
                "old_value": {"id": cid, "type": 3, "permission": True},
                "new_value": {"id": cid, "type": 3, "permission": False},
            }
        )
    if rng.random() < 0.3:
        everyone = str(g.guild_id)
        changes.append({"key": everyone, "old_value": {"id": everyone, "type": 1, "permission": True}})
    d.changes = changes
    d.options = {"application_id": app_id}


def soundboard_sound(c: Ctx, d: Draft) -> None:
    d.target = target = c.sid()
    sound = {
        "name": c.rng.choice(["airhorn", "bruh", "sad trombone"]),
        "volume": 1.0,
        "emoji_name": "📯",
        "sound_id": str(target),
        "id": str(target),
    }
    d.changes = {
        130: [chg(k, v) for k, v in sound.items()],
        131: [chg("volume", 0.5, 1.0)],
        132: [chg(k, None, v) for k, v in sound.items()],
    }[d.at]


BUILDERS: dict[int, Builder] = {
    **dict.fromkeys((40, 41, 42), invite),
    **dict.fromkeys((50, 51, 52), webhook),
    **dict.fromkeys((60, 61, 62), emoji),
    **dict.fromkeys((80, 81, 82), integration),
    **dict.fromkeys((83, 84, 85), stage_instance),
    **dict.fromkeys((90, 91, 92), sticker),
    **dict.fromkeys((100, 101, 102), scheduled_event),
    **dict.fromkeys((110, 111, 112), thread),
    121: command_permissions,
    **dict.fromkeys((130, 131, 132), soundboard_sound),
}
