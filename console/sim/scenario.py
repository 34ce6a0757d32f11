"""Realistic audit-log entries for every action type, and a seeded stream of moderator activity.

Entries follow discord-protocol.md §2: change keys and value types as Discord sends them
(permissions as decimal strings, ``$add``/``$remove`` role lists, timeouts as ISO strings,
``options`` values as strings) and targets per the "Targets by action type" rules. Every random
choice comes from the ``random.Random`` passed in, so a seed and a clock fix the whole stream.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from console.model.actions import ACTION_TYPES, AGGREGATED_ACTIONS
from console.model.permissions import NAME_TO_BIT
from console.model.times import discord_iso
from console.sim.guild import JSON, SimGuild, perms

Entry = dict[str, Any]

#: An action type Discord has not documented (yet); it comes WITH options so hikari drops it.
FUTURE_ACTION_TYPE = 250

#: Entries hikari 2.7.0 cannot deserialise (options on a type without an options converter).
HIKARI_DROPPED: frozenset[int] = frozenset({83, 84, 85, 121, 143, 144, 145, 146, FUTURE_ACTION_TYPE})

_REASONS: tuple[str, ...] = (
    "spam",
    "Raid account",
    "Repeated slurs in #general after two warnings",
    "posting scam links (free nitro)",
    "Alt of a banned user",
    "Requested by the user",
    "NSFW avatar",
    "Timed out for flooding voice chat",
    "Verified via ticket #4821",
    "Promoted after 3 months as helper",
    "cleanup",
    "Ban appeal accepted ✅",
    "Doxxing — see mod-chat thread",
    "Règle 3 : pas de publicité",
    "荒らし行為のため",
    "⚠️ harassment in DMs (screenshots in #mod-log)",
    "[bold red]markup[/] should be shown as text",
    "[@click=app.grant('x')]View details[/]",
    "bidi \u202eevil\u202c text",
    "escape \x1b[31mred\x1b[0m attempt",
    "Automated: anti-spam (Carl-bot)",
    "x" * 512,
)

#: Relative frequencies of the random stream: bans, kicks, timeouts, role updates and message
#: deletes dominate, as in real moderated guilds.
STREAM_WEIGHTS: dict[int, float] = {
    72: 20,
    24: 18,
    25: 15,
    22: 8,
    20: 6,
    23: 2,
    73: 3,
    74: 2,
    75: 1,
    26: 3,
    27: 3,
    11: 4,
    31: 4,
    13: 2,
    14: 3,
    15: 1,
    10: 1,
    12: 1,
    30: 1,
    32: 1,
    40: 4,
    41: 0.2,
    42: 1,
    143: 4,
    144: 2,
    145: 2,
    146: 0.5,
    110: 2,
    111: 2,
    112: 1,
    1: 0.5,
    121: 0.5,
    28: 0.3,
    50: 0.5,
    51: 0.5,
    52: 0.3,
    60: 0.3,
    61: 0.2,
    62: 0.2,
    80: 0.2,
    81: 0.2,
    82: 0.2,
    83: 0.3,
    84: 0.2,
    85: 0.3,
    90: 0.2,
    91: 0.1,
    92: 0.1,
    100: 0.5,
    101: 0.4,
    102: 0.2,
    130: 0.2,
    131: 0.1,
    132: 0.1,
    140: 0.2,
    141: 0.3,
    142: 0.1,
    150: 0.05,
    151: 0.05,
    163: 0.1,
    164: 0.1,
    165: 0.05,
    166: 0.05,
    167: 0.1,
    190: 0.05,
    191: 0.05,
    192: 0.5,
    193: 0.4,
    21: 0.3,
    FUTURE_ACTION_TYPE: 0.05,
}

_AUTOMOD_RULES = (
    ("Block invite links", "1"),
    ("Anti-spam", "3"),
    ("Slurs preset", "4"),
    ("Mass mentions", "5"),
    ("Profile filter", "6"),
)


def _bit(name: str) -> int:
    return 1 << NAME_TO_BIT[name]


def random_reason(rng: random.Random, probability: float = 0.6) -> str | None:
    """A reason (1–512 chars, some unicode or hostile) or None, as moderators leave them."""
    return rng.choice(_REASONS) if rng.random() < probability else None


class _Ctx:
    """What an entry builder needs: the rng, the guild, the time and handy pickers."""

    def __init__(self, rng: random.Random, guild: SimGuild, now_ms: int) -> None:
        self.rng, self.g, self.now = rng, guild, now_ms

    def sid(self) -> str:
        """A fresh snowflake (for objects the entry creates: invites, webhooks, emojis …)."""
        return str(self.g.ids.make(self.now - self.rng.randint(0, 3_600_000), past=True))

    def mod(self) -> int:
        return self.rng.choice(self.g.staff_ids() or [self.g.owner_id])

    def victim(self) -> int:
        pool = self.g.regular_ids() or [uid for uid in self.g.users if uid != self.g.bot_id]
        return self.rng.choice(pool)

    def channel(self, *types: int) -> int:
        return self.rng.choice(self.g.channel_ids(*types) or self.g.channel_ids())

    def role(self, *, assignable: bool = False) -> int:
        if assignable:
            return self.rng.choice(self.g.assignable_role_ids(self.g.owner_id))
        return self.rng.choice([r for r in self.g.roles if r != self.g.guild_id])


def _chg(key: str, new: Any = None, old: Any = None) -> JSON:
    """A change object; a missing side is omitted, as Discord does (new only = was null)."""
    change: JSON = {"key": key}
    if new is not None:
        change["new_value"] = new
    if old is not None:
        change["old_value"] = old
    return change


def _ow_changes(
    action_type: int, target: int, kind: int, allow: int, deny: int, old_allow: int, old_deny: int
) -> list[JSON]:
    if action_type == 13:
        return [
            _chg("id", str(target)),
            _chg("type", kind),
            _chg("allow", str(allow)),
            _chg("deny", str(deny)),
        ]
    if action_type == 14:
        changes = []
        if allow != old_allow:
            changes.append(_chg("allow", str(allow), str(old_allow)))
        if deny != old_deny:
            changes.append(_chg("deny", str(deny), str(old_deny)))
        return changes or [_chg("allow", str(allow | _bit("ATTACH_FILES")), str(old_allow))]
    return [
        _chg("id", None, str(target)),
        _chg("type", None, kind),
        _chg("allow", None, str(old_allow)),
        _chg("deny", None, str(old_deny)),
    ]


def _toggle_archive(name: str) -> str:
    """Rename back and forth (a long-running stream must not grow names forever)."""
    return name.removesuffix("-archive") if name.endswith("-archive") else name + "-archive"


def _overwrite_entry(c: _Ctx, at: int) -> tuple[int | None, int, list[JSON], JSON]:
    cid = c.channel(0, 2, 4, 5, 13)
    channel = c.g.channels[cid]
    existing = {int(o["id"]): o for o in channel["permission_overwrites"]}
    if at == 13 or not existing:
        # A new overwrite is for a role or member the channel has none for yet.
        member_target = c.rng.random() < 0.25
        target = c.victim() if member_target else c.role()
        if target in existing:
            target = c.victim()
            member_target = target not in c.g.roles
        kind = 1 if member_target else 0
        old_allow = old_deny = 0
    else:
        target = c.rng.choice(sorted(existing))
        kind = int(existing[target]["type"])
        old_allow, old_deny = int(existing[target]["allow"]), int(existing[target]["deny"])
    picks = (
        "VIEW_CHANNEL",
        "SEND_MESSAGES",
        "ATTACH_FILES",
        "MANAGE_MESSAGES",
        "CONNECT",
        "SEND_MESSAGES_IN_THREADS",
        "CREATE_PUBLIC_THREADS",
        "PIN_MESSAGES",
        "USE_EXTERNAL_APPS",
    )
    allow = old_allow ^ _bit(c.rng.choice(picks))
    deny = (old_deny ^ _bit(c.rng.choice(picks))) & ~allow
    options: JSON = {"id": str(target), "type": str(kind)}
    if kind == 0 and target in c.g.roles:
        options["role_name"] = c.g.roles[target]["name"]
    return cid, c.mod(), _ow_changes(at, target, kind, allow, deny, old_allow, old_deny), options


def _build(c: _Ctx, at: int, *, integration: bool = False) -> Entry:  # noqa: C901, PLR0912, PLR0915
    """Target, actor, changes, options and reason for one entry of ``at``."""
    rng, g = c.rng, c.g
    target: int | str | None = None
    actor: int | None = c.mod()
    changes: list[JSON] | None = None
    options: JSON | None = None
    reason = random_reason(rng, 0.3)

    if at == 1:
        target, actor = g.guild_id, g.owner_id
        changes = rng.choice(
            [
                [_chg("name", g.name + " ✨", g.name)],
                [_chg("verification_level", 3, 2)],
                [_chg("afk_timeout", 900, 300)],
                [_chg("system_channel_id", str(c.channel(0)), str(c.channel(0)))],
                [_chg("explicit_content_filter", 2, 1), _chg("mfa_level", 1, 0)],
            ]
        )
    elif at in (10, 11, 12):
        if at == 10:
            target = c.sid()
            changes = [
                _chg("name", rng.choice(["ticket-0042", "events", "memes", "staff-vc"])),
                _chg("type", rng.choice([0, 0, 2])),
                _chg(
                    "permission_overwrites",
                    [
                        {
                            "id": str(g.guild_id),
                            "type": 0,
                            "allow": "0",
                            "deny": str(_bit("VIEW_CHANNEL")),
                        }
                    ],
                ),
                _chg("nsfw", False),
                _chg("rate_limit_per_user", 0),
                _chg("flags", 0),
            ]
        elif at == 11:
            cid = c.channel(0, 5)
            target, ch = cid, g.channels[cid]
            changes = rng.choice(
                [
                    [
                        _chg(
                            "rate_limit_per_user",
                            rng.choice([5, 30, 120]),
                            ch.get("rate_limit_per_user") or None,
                        )
                    ],
                    [_chg("topic", "Be nice. Rules in #rules", ch.get("topic"))],
                    [_chg("name", _toggle_archive(ch["name"]), ch["name"])],
                    [_chg("nsfw", True, False)],
                ]
            )
        else:
            created = sorted(cid for cid in g.created_channels if cid in g.channels)
            if created:
                ch = g.channels[rng.choice(created)]
                target, cname, ctype = int(ch["id"]), ch["name"], ch["type"]
            else:
                target, cname, ctype = (
                    c.sid(),
                    rng.choice(["ticket-0041", "old-memes", "temp-vc"]),
                    0,
                )
            changes = [
                _chg("name", None, cname),
                {"key": "type", "old_value": ctype},
                _chg("permission_overwrites", None, []),
                _chg("nsfw", None, False),
                _chg("rate_limit_per_user", None, 0),
                _chg("flags", None, 0),
            ]
    elif at in (13, 14, 15):
        target, actor, changes, options = _overwrite_entry(c, at)
    elif at in (20, 22, 23):
        target = c.victim()
        reason = random_reason(rng, 0.8)
        if at == 20 and integration:
            actor, options = g.carl_id, {"integration_type": "discord"}
    elif at == 21:
        options = {
            "delete_member_days": str(rng.choice([1, 7, 30])),
            "members_removed": str(rng.randint(0, 40)),
        }
    elif at == 24:
        target = c.victim()
        current = g.members.get(target, {})
        roll = rng.random()
        if roll < 0.55:  # timeout set: only new_value
            minutes = rng.choice([1, 5, 10, 60, 1440, 10080])
            changes = [
                _chg(
                    "communication_disabled_until",
                    discord_iso(c.now + minutes * 60_000),
                    current.get("communication_disabled_until"),
                )
            ]
            changes[0].pop("old_value", None)
            reason = random_reason(rng, 0.85)
        elif roll < 0.75:  # timeout lifted: only old_value
            changes = [
                _chg(
                    "communication_disabled_until",
                    None,
                    current.get("communication_disabled_until") or discord_iso(c.now + 3_600_000),
                )
            ]
        elif roll < 0.9:
            old_nick = current.get("nick")
            new_nick = None if old_nick and rng.random() < 0.5 else rng.choice(["Moderated Nickname", "user", "💤"])
            changes = [_chg("nick", new_nick, old_nick)] if (new_nick or old_nick) else [_chg("nick", "user")]
        else:
            changes = [_chg(rng.choice(["mute", "deaf"]), True, False)]
    elif at == 25:
        target = c.victim()
        have = set(g.members.get(target, {}).get("roles", []))
        pool = g.assignable_role_ids(g.owner_id)
        if rng.random() > 0.03:  # promotions to staff are rare; most changes are Muted/Verified/…
            pool = [r for r in pool if g.role_kinds.get(r) != "staff"]
        addable = [r for r in pool if r not in have]
        removable = [r for r in pool if r in have]
        changes = []
        if addable and (not removable or rng.random() < 0.65):
            changes.append(_chg("$add", [g.partial_role(rng.choice(addable))]))
        if removable and (not changes or rng.random() < 0.15):
            changes.append(_chg("$remove", [g.partial_role(rng.choice(removable))]))
        if not changes:
            changes.append(_chg("$add", [g.partial_role(c.role(assignable=True))]))
        if integration:
            actor, options = g.carl_id, {"integration_type": "discord"}
    elif at == 26:
        options = {"channel_id": str(c.channel(2, 13)), "count": str(rng.randint(1, 4))}
    elif at == 27:
        options = {"count": str(rng.randint(1, 3))}
    elif at == 28:
        target, actor = c.sid(), g.owner_id
    elif at in (30, 31, 32):
        admin = g.role_id("Admin")
        actor = rng.choice([uid for uid in g.staff_ids() if admin in g.members[uid]["roles"]] or [g.owner_id])
        if at == 30:
            target = c.sid()
            color = rng.choice([0, 0x1ABC9C, 0xE91E63, 0xF1C40F])
            changes = [
                _chg("name", rng.choice(["Giveaway Winner", "Level 10", "Artist", "new role"])),
                _chg("permissions", str(perms("VIEW_CHANNEL", "SEND_MESSAGES", "SEND_POLLS"))),
                {"key": "color", "new_value": color},
                {"key": "hoist", "new_value": False},
                {"key": "mentionable", "new_value": False},
                _chg(
                    "colors",
                    {"primary_color": color, "secondary_color": None, "tertiary_color": None},
                ),
            ]
        elif at == 31:
            rid = c.role()
            target = rid
            old = int(g.roles[rid]["permissions"])
            roll = rng.random()
            if roll < 0.3:
                new = old | _bit("ADMINISTRATOR") if not old & _bit("ADMINISTRATOR") else old & ~_bit("ADMINISTRATOR")
            elif roll < 0.9:
                new = old ^ _bit(
                    rng.choice(
                        [
                            "MANAGE_ROLES",
                            "BAN_MEMBERS",
                            "MODERATE_MEMBERS",
                            "MENTION_EVERYONE",
                            "MANAGE_THREADS",
                            "PIN_MESSAGES",
                            "BYPASS_SLOWMODE",
                            "MANAGE_WEBHOOKS",
                            "SEND_POLLS",
                            "USE_EXTERNAL_APPS",
                            "VIEW_AUDIT_LOG",
                        ]
                    )
                )
            else:
                new = old | (1 << 53)  # an undocumented future bit: must survive as a big integer
            changes = [_chg("permissions", str(new), str(old))]
            if g.role_kinds.get(rid) == "created" and rng.random() < 0.3:
                old_name = g.roles[rid]["name"]
                new_name = rng.choice(
                    [n for n in ("Giveaway Winner", "Level 10", "Artist", "Regular") if n != old_name]
                )
                changes.append(_chg("name", new_name, old_name))
        else:
            # Delete a role the stream created when there is one (core roles stay); otherwise a
            # role that predates the simulation.
            created = [rid for rid, kind in g.role_kinds.items() if kind == "created"]
            if created:
                role = g.roles[rng.choice(created)]
                target = int(role["id"])
                name, permissions, color = role["name"], role["permissions"], role["color"]
            else:
                target = c.sid()
                name = rng.choice(["Old Event", "Level 5", "temp"])
                permissions, color = str(perms("VIEW_CHANNEL", "SEND_MESSAGES")), 0x95A5A6
            changes = [
                _chg("name", None, name),
                _chg("permissions", None, permissions),
                {"key": "color", "old_value": color},
                {"key": "hoist", "old_value": False},
                {"key": "mentionable", "old_value": False},
            ]
    elif at in (40, 41, 42):
        code = "".join(rng.choice("abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(8))
        fields = {
            "code": code,
            "channel_id": str(c.channel(0)),
            "inviter_id": str(actor),
            "uses": 0,
            "max_uses": rng.choice([0, 1, 10]),
            "max_age": rng.choice([0, 3600, 86400, 604800]),
            "temporary": False,
            "flags": 0,
        }
        if at == 40:
            changes = [{"key": k, "new_value": v} for k, v in fields.items()]
        elif at == 41:
            changes = [_chg("max_uses", 25, fields["max_uses"] or None)]
        else:
            fields["uses"] = rng.randint(0, 30)
            changes = [{"key": k, "old_value": v} for k, v in fields.items()]
    elif at in (50, 51, 52):
        target = c.sid()
        hook = {
            "name": rng.choice(["GitHub", "Twitter feed", "Captain Hook"]),
            "type": 1,
            "channel_id": str(c.channel(0, 5)),
            "avatar_hash": None,
            "application_id": None,
        }
        if at == 50:
            changes = [_chg(k, v) for k, v in hook.items() if v is not None]
        elif at == 51:
            changes = [
                _chg("avatar_hash", "a1b2c3d4e5f60718293a4b5c6d7e8f90", None),
                _chg("name", "Release Notes", hook["name"]),
            ]
        else:
            changes = [_chg(k, None, v) for k, v in hook.items() if v is not None]
    elif at in (60, 61, 62):
        target = c.sid()
        name = rng.choice(["pepega", "catjam", "ban_hammer", "kekw"])
        changes = {
            60: [_chg("name", name)],
            61: [_chg("name", name + "2", name)],
            62: [_chg("name", None, name)],
        }[at]
    elif at == 72:
        target = c.victim()
        options = {"channel_id": str(c.channel(0, 5)), "count": "1"}
    elif at == 73:
        target = c.channel(0, 5)
        options = {"count": str(rng.randint(2, 100))}
    elif at in (74, 75):
        target = c.victim()
        options = {"channel_id": str(c.channel(0, 5)), "message_id": c.sid()}
    elif at in (80, 81, 82):
        target = c.sid()
        base = {
            "name": rng.choice(["Carl-bot", "Twitch", "YouTube"]),
            "type": rng.choice(["discord", "twitch"]),
        }
        if at == 80:
            changes = [_chg(k, v) for k, v in base.items()]
        elif at == 81:
            changes = [_chg("expire_behavior", 1, 0), _chg("expire_grace_period", 7, 1)]
        else:
            changes = [_chg(k, None, v) for k, v in base.items()]
    elif at in (83, 84, 85):
        stage = c.channel(13)
        target = c.sid()
        topic = rng.choice(["Town hall: Q3 rules update", "AMA with the devs", "Movie night 🎬"])
        changes = {
            83: [_chg("topic", topic), _chg("privacy_level", 2)],
            84: [_chg("topic", topic + " (part 2)", topic)],
            85: [_chg("topic", None, topic), _chg("privacy_level", None, 2)],
        }[at]
        options = {"channel_id": str(stage)}
    elif at in (90, 91, 92):
        target = c.sid()
        sticker = {
            "name": rng.choice(["wave", "gg", "nope"]),
            "tags": "👋",
            "description": "a sticker",
            "format_type": 1,
            "available": True,
            "asset": "",
            "guild_id": str(g.guild_id),
            "id": str(target),
        }
        changes = {
            90: [_chg(k, v) for k, v in sticker.items()],
            91: [_chg("description", "an updated sticker", "a sticker")],
            92: [_chg(k, None, v) for k, v in sticker.items()],
        }[at]
    elif at in (100, 101, 102):
        target = c.sid()
        event = {
            "name": rng.choice(["Movie Night", "Game Tournament", "Town Hall"]),
            "description": "Join us!",
            "privacy_level": 2,
            "status": 1,
            "entity_type": 2,
            "channel_id": str(c.channel(2, 13)),
        }
        changes = {
            100: [_chg(k, v) for k, v in event.items()],
            101: [_chg("status", 2, 1)],
            102: [_chg(k, None, v) for k, v in event.items()],
        }[at]
    elif at in (110, 111, 112):
        target = c.sid()
        actor = rng.choice([actor, c.victim()]) if at == 110 else actor
        thread = {
            "name": rng.choice(["bug report", "appeal: spam ban", "event ideas"]),
            "type": 11,
            "archived": False,
            "locked": False,
            "auto_archive_duration": 1440,
            "rate_limit_per_user": 0,
            "flags": 0,
            "invitable": True,
        }
        changes = {
            110: [_chg(k, v) if v not in (False, 0) else {"key": k, "new_value": v} for k, v in thread.items()],
            111: [_chg("archived", True, False), _chg("locked", True, False)],
            112: [{"key": k, "old_value": v} for k, v in thread.items()],
        }[at]
    elif at == 121:
        app_id = str(g.carl_id)
        all_commands = rng.random() < 0.4
        target = app_id if all_commands else c.sid()
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
        options = {"application_id": app_id}
    elif at in (130, 131, 132):
        target = c.sid()
        sound = {
            "name": rng.choice(["airhorn", "bruh", "sad trombone"]),
            "volume": 1.0,
            "emoji_name": "📯",
            "sound_id": str(target),
            "id": str(target),
        }
        changes = {
            130: [_chg(k, v) for k, v in sound.items()],
            131: [_chg("volume", 0.5, 1.0)],
            132: [_chg(k, None, v) for k, v in sound.items()],
        }[at]
    elif at in (140, 141, 142):
        target = c.sid()
        name, trigger = rng.choice(_AUTOMOD_RULES)
        rule = {
            "name": name,
            "event_type": 1,
            "trigger_type": int(trigger),
            "trigger_metadata": {
                "keyword_filter": ["discord.gg/*", "free nitro"],
                "regex_patterns": [],
                "allow_list": [],
            },
            "actions": [{"type": 1, "metadata": {"custom_message": "Blocked by AutoMod"}}],
            "enabled": True,
            "exempt_roles": [str(g.role_id("Moderators"))],
            "exempt_channels": [],
        }
        changes = {
            140: [_chg(k, v) for k, v in rule.items()],
            141: rng.choice(
                [
                    [_chg("enabled", False, True)],
                    [{"key": "$add_keyword_filter", "new_value": ["scam.link"]}],
                    [_chg("exempt_roles", [str(g.role_id("Admin"))], rule["exempt_roles"])],
                ]
            ),
            142: [_chg(k, None, v) for k, v in rule.items()],
        }[at]
    elif at in (143, 144, 145, 146):
        target = c.victim()
        actor = target  # AutoMod entries carry the member whose message or profile was actioned
        name, trigger = rng.choice(_AUTOMOD_RULES[-1:] if at == 146 else _AUTOMOD_RULES[:-1])
        options = {"auto_moderation_rule_name": name, "auto_moderation_rule_trigger_type": trigger}
        if at != 146:
            options["channel_id"] = str(c.channel(0, 5))
        reason = None
    elif at in (150, 151):
        target, actor = None, g.owner_id
    elif at in (163, 164, 165):
        target = c.sid()
        prompt = {
            "title": rng.choice(["What brings you here?", "Pick your games"]),
            "single_select": False,
            "required": False,
            "in_onboarding": True,
            "type": 0,
            "options": [
                {
                    "id": c.sid(),
                    "title": "Gaming",
                    "role_ids": [str(c.role(assignable=True))],
                    "channel_ids": [],
                }
            ],
        }
        changes = {
            163: [_chg(k, v) if v is not False else {"key": k, "new_value": v} for k, v in prompt.items()],
            164: [_chg("required", True, False)],
            165: [{"key": k, "old_value": v} for k, v in prompt.items()],
        }[at]
    elif at in (166, 167):
        target = g.guild_id
        channels = [str(cid) for cid in g.channel_ids(0)[:3]]
        changes = (
            [_chg("enabled", True), _chg("default_channel_ids", channels), _chg("mode", 0)]
            if at == 166
            else [_chg("enabled", False, True)]
        )
    elif at in (190, 191):
        target = g.guild_id
        welcome = {"author_ids": [str(g.owner_id)], "message": "Welcome to the server!"}
        changes = (
            [_chg("welcome_message", welcome), _chg("enabled", True)]
            if at == 190
            else [_chg("welcome_message", {**welcome, "message": "Welcome! Read #rules."}, welcome)]
        )
    elif at in (192, 193):
        cid = c.channel(2)
        target = cid
        actor = rng.choice([actor, c.victim()])
        options = {"channel_id": str(cid)}
        if at == 192:
            options["status"] = rng.choice(["🎮 ranked grind", "study session", "movie night 🍿"])
        reason = None
    else:  # an undocumented (future) type: keep the shape generic, WITH options
        target = c.sid()
        changes = [_chg("future_setting", True, False)]
        options = {"future_option": "1", "channel_id": str(c.channel(0))}

    entry: Entry = {
        "id": "",  # filled by make_entry
        "user_id": str(actor) if actor is not None else None,
        "target_id": str(target) if target is not None else None,
        "action_type": at,
    }
    if changes:
        entry["changes"] = changes
    if options is not None:
        entry["options"] = options
    if reason is not None:
        entry["reason"] = reason
    return entry


def make_entry(
    action_type: int,
    rng: random.Random,
    guild: SimGuild,
    now_ms: int,
    *,
    integration: bool = False,
    past: bool = False,
) -> Entry:
    """A realistic entry of ``action_type`` made at ``now_ms`` (Discord's shape, no guild_id).

    ``integration`` makes 20/25 look performed by an integration (``options.integration_type``,
    which hikari 2.7.0 drops). ``past`` back-dates the id without moving the live id sequence.
    Key order is id, user_id, target_id, action_type, changes, options, reason.
    """
    entry = _build(_Ctx(rng, guild, now_ms), action_type, integration=integration)
    entry["id"] = str(guild.ids.make(now_ms, past=past))
    return entry


def all_type_entries(rng: random.Random, guild: SimGuild, now_ms: int) -> list[Entry]:
    """One entry per documented type, plus integration-performed 20 and 25 and the future type.

    146 and 83–85, 121, 143–145 always carry their options, so hikari 2.7.0 drops them.
    """
    entries = [make_entry(at, rng, guild, now_ms) for at in ACTION_TYPES]
    entries.append(make_entry(20, rng, guild, now_ms, integration=True))
    entries.append(make_entry(25, rng, guild, now_ms, integration=True))
    entries.append(make_entry(FUTURE_ACTION_TYPE, rng, guild, now_ms))
    return entries


class ActivityStream:
    """The weighted random stream: new entries, and sometimes an in-place count bump.

    Discord aggregates MESSAGE_DELETE, MEMBER_MOVE and MEMBER_DISCONNECT by the same moderator
    into one entry whose ``options.count`` grows (no new gateway event), so the stream bumps a
    recent aggregated entry about a third of the time it picks one of those types.
    """

    def __init__(self, rng: random.Random, guild: SimGuild, weights: dict[int, float] | None = None) -> None:
        self.rng = rng
        self.guild = guild
        w = weights or STREAM_WEIGHTS
        self._types = list(w)
        self._weights = [w[t] for t in self._types]

    def next(self, now_ms: int, bump: Callable[[int], Entry | None]) -> Entry | None:
        """The next new entry, or None when this step only bumped an aggregated entry."""
        at = self.rng.choices(self._types, self._weights)[0]
        if at in AGGREGATED_ACTIONS and self.rng.random() < 0.35:
            recent = [e for e in self.guild.audit_log[-50:] if e["action_type"] == at]
            if recent:
                bump(int(self.rng.choice(recent)["id"]))
                return None
        integration = at in (20, 25) and self.rng.random() < 0.05
        return make_entry(at, self.rng, self.guild, now_ms, integration=integration)
