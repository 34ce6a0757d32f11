"""Entries for guild-wide settings and features: the guild itself (1), AutoMod rules and actions
(140–146), monetization (150–151), onboarding (163–167), home settings (190–191), voice channel
status (192–193), and the shape used for types Discord has not documented yet."""

from __future__ import annotations

from console.sim.builders.base import Builder, Ctx, Draft, chg

_AUTOMOD_RULES = (
    ("Block invite links", "1"),
    ("Anti-spam", "3"),
    ("Slurs preset", "4"),
    ("Mass mentions", "5"),
    ("Profile filter", "6"),
)


def guild_update(c: Ctx, d: Draft) -> None:
    g = c.g
    d.target, d.actor = g.guild_id, g.owner_id
    d.changes = c.rng.choice(
        [
            [chg("name", g.name + " ✨", g.name)],
            [chg("verification_level", 3, 2)],
            [chg("afk_timeout", 900, 300)],
            [chg("system_channel_id", str(c.channel(0)), str(c.channel(0)))],
            [chg("explicit_content_filter", 2, 1), chg("mfa_level", 1, 0)],
        ]
    )


def automod_rule(c: Ctx, d: Draft) -> None:
    rng, g = c.rng, c.g
    d.target = c.sid()
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
    # All three are built whatever the type (the update's pick draws from the rng every time).
    d.changes = {
        140: [chg(k, v) for k, v in rule.items()],
        141: rng.choice(
            [
                [chg("enabled", False, True)],
                [{"key": "$add_keyword_filter", "new_value": ["scam.link"]}],
                [chg("exempt_roles", [str(g.role_id("Admin"))], rule["exempt_roles"])],
            ]
        ),
        142: [chg(k, None, v) for k, v in rule.items()],
    }[d.at]


def automod_action(c: Ctx, d: Draft) -> None:
    """A message blocked, flagged or timed out (143–145), or a name blocked (146), by AutoMod."""
    d.target = target = c.victim()
    d.actor = target  # AutoMod entries carry the member whose message or profile was actioned
    name, trigger = c.rng.choice(_AUTOMOD_RULES[-1:] if d.at == 146 else _AUTOMOD_RULES[:-1])
    options = {"auto_moderation_rule_name": name, "auto_moderation_rule_trigger_type": trigger}
    if d.at != 146:
        options["channel_id"] = str(c.channel(0, 5))
    d.options = options
    d.reason = None


def monetization(c: Ctx, d: Draft) -> None:
    d.target, d.actor = None, c.g.owner_id


def onboarding_prompt(c: Ctx, d: Draft) -> None:
    rng = c.rng
    d.target = c.sid()
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
    d.changes = {
        163: [chg(k, v) if v is not False else {"key": k, "new_value": v} for k, v in prompt.items()],
        164: [chg("required", True, False)],
        165: [{"key": k, "old_value": v} for k, v in prompt.items()],
    }[d.at]


def onboarding(c: Ctx, d: Draft) -> None:
    d.target = c.g.guild_id
    channels = [str(cid) for cid in c.g.channel_ids(0)[:3]]
    d.changes = (
        [chg("enabled", True), chg("default_channel_ids", channels), chg("mode", 0)]
        if d.at == 166
        else [chg("enabled", False, True)]
    )


def home_settings(c: Ctx, d: Draft) -> None:
    d.target = c.g.guild_id
    welcome = {"author_ids": [str(c.g.owner_id)], "message": "Welcome to the server!"}
    d.changes = (
        [chg("welcome_message", welcome), chg("enabled", True)]
        if d.at == 190
        else [chg("welcome_message", {**welcome, "message": "Welcome! Read #rules."}, welcome)]
    )


def voice_channel_status(c: Ctx, d: Draft) -> None:
    """A voice channel's status set (192) or cleared (193), by a moderator or a member."""
    rng = c.rng
    cid = c.channel(2)
    d.target = cid
    d.actor = rng.choice([d.actor, c.victim()])
    options = {"channel_id": str(cid)}
    if d.at == 192:
        options["status"] = rng.choice(["🎮 ranked grind", "study session", "movie night 🍿"])
    d.options = options
    d.reason = None


def undocumented(c: Ctx, d: Draft) -> None:
    """An undocumented (future) type: a generic shape, WITH options (so hikari 2.7.0 drops it)."""
    d.target = c.sid()
    d.changes = [chg("future_setting", True, False)]
    d.options = {"future_option": "1", "channel_id": str(c.channel(0))}


BUILDERS: dict[int, Builder] = {
    1: guild_update,
    **dict.fromkeys((140, 141, 142), automod_rule),
    **dict.fromkeys((143, 144, 145, 146), automod_action),
    **dict.fromkeys((150, 151), monetization),
    **dict.fromkeys((163, 164, 165), onboarding_prompt),
    **dict.fromkeys((166, 167), onboarding),
    **dict.fromkeys((190, 191), home_settings),
    **dict.fromkeys((192, 193), voice_channel_status),
}
