"""Discord audit-log action types: the 69 documented values, their names and categories.

Names are discord-api-docs spelling (snapshot c98d64bc). Unknown values are shown as
``UNKNOWN (n)`` and never dropped.
"""

from __future__ import annotations

from typing import Final

#: value -> (documented name, category)
ACTION_TYPES: Final[dict[int, tuple[str, str]]] = {
    1: ("GUILD_UPDATE", "guild"),
    10: ("CHANNEL_CREATE", "channel"),
    11: ("CHANNEL_UPDATE", "channel"),
    12: ("CHANNEL_DELETE", "channel"),
    13: ("CHANNEL_OVERWRITE_CREATE", "permission"),
    14: ("CHANNEL_OVERWRITE_UPDATE", "permission"),
    15: ("CHANNEL_OVERWRITE_DELETE", "permission"),
    20: ("MEMBER_KICK", "moderation"),
    21: ("MEMBER_PRUNE", "moderation"),
    22: ("MEMBER_BAN_ADD", "moderation"),
    23: ("MEMBER_BAN_REMOVE", "moderation"),
    24: ("MEMBER_UPDATE", "member"),
    25: ("MEMBER_ROLE_UPDATE", "role"),
    26: ("MEMBER_MOVE", "voice"),
    27: ("MEMBER_DISCONNECT", "voice"),
    28: ("BOT_ADD", "integration"),
    30: ("ROLE_CREATE", "role"),
    31: ("ROLE_UPDATE", "role"),
    32: ("ROLE_DELETE", "role"),
    40: ("INVITE_CREATE", "invite"),
    41: ("INVITE_UPDATE", "invite"),
    42: ("INVITE_DELETE", "invite"),
    50: ("WEBHOOK_CREATE", "integration"),
    51: ("WEBHOOK_UPDATE", "integration"),
    52: ("WEBHOOK_DELETE", "integration"),
    60: ("EMOJI_CREATE", "expression"),
    61: ("EMOJI_UPDATE", "expression"),
    62: ("EMOJI_DELETE", "expression"),
    72: ("MESSAGE_DELETE", "message"),
    73: ("MESSAGE_BULK_DELETE", "message"),
    74: ("MESSAGE_PIN", "message"),
    75: ("MESSAGE_UNPIN", "message"),
    80: ("INTEGRATION_CREATE", "integration"),
    81: ("INTEGRATION_UPDATE", "integration"),
    82: ("INTEGRATION_DELETE", "integration"),
    83: ("STAGE_INSTANCE_CREATE", "voice"),
    84: ("STAGE_INSTANCE_UPDATE", "voice"),
    85: ("STAGE_INSTANCE_DELETE", "voice"),
    90: ("STICKER_CREATE", "expression"),
    91: ("STICKER_UPDATE", "expression"),
    92: ("STICKER_DELETE", "expression"),
    100: ("GUILD_SCHEDULED_EVENT_CREATE", "event"),
    101: ("GUILD_SCHEDULED_EVENT_UPDATE", "event"),
    102: ("GUILD_SCHEDULED_EVENT_DELETE", "event"),
    110: ("THREAD_CREATE", "channel"),
    111: ("THREAD_UPDATE", "channel"),
    112: ("THREAD_DELETE", "channel"),
    121: ("APPLICATION_COMMAND_PERMISSION_UPDATE", "permission"),
    130: ("SOUNDBOARD_SOUND_CREATE", "expression"),
    131: ("SOUNDBOARD_SOUND_UPDATE", "expression"),
    132: ("SOUNDBOARD_SOUND_DELETE", "expression"),
    140: ("AUTO_MODERATION_RULE_CREATE", "automod"),
    141: ("AUTO_MODERATION_RULE_UPDATE", "automod"),
    142: ("AUTO_MODERATION_RULE_DELETE", "automod"),
    143: ("AUTO_MODERATION_BLOCK_MESSAGE", "automod"),
    144: ("AUTO_MODERATION_FLAG_TO_CHANNEL", "automod"),
    145: ("AUTO_MODERATION_USER_COMMUNICATION_DISABLED", "automod"),
    146: ("AUTO_MODERATION_QUARANTINE_USER", "automod"),
    150: ("CREATOR_MONETIZATION_REQUEST_CREATED", "guild"),
    151: ("CREATOR_MONETIZATION_TERMS_ACCEPTED", "guild"),
    163: ("ONBOARDING_PROMPT_CREATE", "guild"),
    164: ("ONBOARDING_PROMPT_UPDATE", "guild"),
    165: ("ONBOARDING_PROMPT_DELETE", "guild"),
    166: ("ONBOARDING_CREATE", "guild"),
    167: ("ONBOARDING_UPDATE", "guild"),
    190: ("HOME_SETTINGS_CREATE", "guild"),
    191: ("HOME_SETTINGS_UPDATE", "guild"),
    192: ("VOICE_CHANNEL_STATUS_CREATE", "voice"),
    193: ("VOICE_CHANNEL_STATUS_DELETE", "voice"),
}

#: Every category an action can fall in; ``unknown`` is for undocumented values.
CATEGORIES: Final[tuple[str, ...]] = (
    "moderation",
    "member",
    "role",
    "permission",
    "channel",
    "guild",
    "message",
    "voice",
    "invite",
    "integration",
    "expression",
    "event",
    "automod",
    "unknown",
)

NAME_TO_VALUE: Final[dict[str, int]] = {name: value for value, (name, _) in ACTION_TYPES.items()}

#: Entries whose counts Discord updates in place (the gateway fires only once).
AGGREGATED_ACTIONS: Final[frozenset[int]] = frozenset({26, 27, 72})


def action_name(value: int) -> str:
    """The documented name, or ``UNKNOWN (n)`` for a value Discord has not documented."""
    known = ACTION_TYPES.get(value)
    return known[0] if known else f"UNKNOWN ({value})"


def target_kind(value: int) -> str | None:
    """What an entry's ``target_id`` names: ``guild``, ``channel``, ``role`` or ``user`` — or None
    where it varies (webhooks, invites, emoji …), as Discord's API docs list it for each action type
    (Audit Log Events)."""
    if value == 1:
        return "guild"
    if 10 <= value <= 15 or 110 <= value <= 112 or value in (73, 192, 193):
        return "channel"
    if 30 <= value <= 32:
        return "role"
    if 20 <= value <= 28 or value in (72, 74, 75) or 143 <= value <= 146:
        return "user"
    return None


def target_name_kinds(value: int) -> tuple[str, ...]:
    """Where to look a target's name up: the kind the action's target names first, then the
    others in turn (for types whose target varies)."""
    first = target_kind(value)
    rest = tuple(k for k in ("user", "role", "channel") if k != first)
    return (first, *rest) if first else rest


def documented_name(value: int) -> str | None:
    """The documented name, or None (the export contract's ``action`` field)."""
    known = ACTION_TYPES.get(value)
    return known[0] if known else None


def action_category(value: int) -> str:
    known = ACTION_TYPES.get(value)
    return known[1] if known else "unknown"


def parse_action(text: str) -> int:
    """An action type from its documented name (any case), ``UNKNOWN (n)`` or a number.

    Raises ValueError with a message fit for one line of output.
    """
    t = text.strip()
    if t.isdigit():
        return int(t)
    upper = t.upper()
    if upper in NAME_TO_VALUE:
        return NAME_TO_VALUE[upper]
    if upper.startswith("UNKNOWN (") and upper.endswith(")") and upper[9:-1].isdigit():
        return int(upper[9:-1])
    raise ValueError(f"unknown action {text!r} (use a documented name such as MEMBER_BAN_ADD, or a number)")
