"""Discord permission flags in discord-api-docs spelling, decoding and diffs.

Values are decimal strings that may exceed 64 bits: everything here works on Python ints and
keeps unknown bits instead of dropping them. (hikari spells bits 17, 25 and 39 differently.)
"""

from typing import Final, NamedTuple

FLAGS: Final[dict[int, str]] = {
    0: "CREATE_INSTANT_INVITE",
    1: "KICK_MEMBERS",
    2: "BAN_MEMBERS",
    3: "ADMINISTRATOR",
    4: "MANAGE_CHANNELS",
    5: "MANAGE_GUILD",
    6: "ADD_REACTIONS",
    7: "VIEW_AUDIT_LOG",
    8: "PRIORITY_SPEAKER",
    9: "STREAM",
    10: "VIEW_CHANNEL",
    11: "SEND_MESSAGES",
    12: "SEND_TTS_MESSAGES",
    13: "MANAGE_MESSAGES",
    14: "EMBED_LINKS",
    15: "ATTACH_FILES",
    16: "READ_MESSAGE_HISTORY",
    17: "MENTION_EVERYONE",
    18: "USE_EXTERNAL_EMOJIS",
    19: "VIEW_GUILD_INSIGHTS",
    20: "CONNECT",
    21: "SPEAK",
    22: "MUTE_MEMBERS",
    23: "DEAFEN_MEMBERS",
    24: "MOVE_MEMBERS",
    25: "USE_VAD",
    26: "CHANGE_NICKNAME",
    27: "MANAGE_NICKNAMES",
    28: "MANAGE_ROLES",
    29: "MANAGE_WEBHOOKS",
    30: "MANAGE_GUILD_EXPRESSIONS",
    31: "USE_APPLICATION_COMMANDS",
    32: "REQUEST_TO_SPEAK",
    33: "MANAGE_EVENTS",
    34: "MANAGE_THREADS",
    35: "CREATE_PUBLIC_THREADS",
    36: "CREATE_PRIVATE_THREADS",
    37: "USE_EXTERNAL_STICKERS",
    38: "SEND_MESSAGES_IN_THREADS",
    39: "USE_EMBEDDED_ACTIVITIES",
    40: "MODERATE_MEMBERS",
    41: "VIEW_CREATOR_MONETIZATION_ANALYTICS",
    42: "USE_SOUNDBOARD",
    43: "CREATE_GUILD_EXPRESSIONS",
    44: "CREATE_EVENTS",
    45: "USE_EXTERNAL_SOUNDS",
    46: "SEND_VOICE_MESSAGES",
    48: "SET_VOICE_CHANNEL_STATUS",
    49: "SEND_POLLS",
    50: "USE_EXTERNAL_APPS",
    51: "PIN_MESSAGES",
    52: "BYPASS_SLOWMODE",
}

NAME_TO_BIT: Final[dict[str, int]] = {name: bit for bit, name in FLAGS.items()}

#: Every documented flag ORed together (equals hikari's Permissions.all_permissions()).
ALL: Final[int] = sum(1 << bit for bit in FLAGS)
assert ALL == 8866461766385663

#: Flags that let a person take over or damage a server; flagged wherever they appear.
DANGEROUS: Final[frozenset[str]] = frozenset(
    {
        "ADMINISTRATOR",
        "MANAGE_GUILD",
        "MANAGE_ROLES",
        "MANAGE_CHANNELS",
        "MANAGE_WEBHOOKS",
        "BAN_MEMBERS",
        "KICK_MEMBERS",
        "MODERATE_MEMBERS",
        "MANAGE_MESSAGES",
        "MENTION_EVERYONE",
        "MANAGE_NICKNAMES",
        "MANAGE_GUILD_EXPRESSIONS",
        "MANAGE_THREADS",
        "MANAGE_EVENTS",
        "VIEW_AUDIT_LOG",
    }
)


def flag_value(name: str) -> int:
    """The bit value of a documented flag name (any case). Raises ValueError."""
    bit = NAME_TO_BIT.get(name.strip().upper())
    if bit is None:
        raise ValueError(f"unknown permission {name!r}")
    return 1 << bit


def parse_bits(value: object) -> int | None:
    """A permission value as Discord sends it (decimal string, or int) → int; None if absent.

    Raises ValueError for anything that is not a non-negative integer.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"not a permission value: {value!r}")
    if isinstance(value, int):
        n = value
    elif isinstance(value, str) and value.strip().isdigit():
        n = int(value.strip())
    else:
        raise ValueError(f"not a permission value: {value!r}")
    if n < 0:
        raise ValueError(f"not a permission value: {value!r}")
    return n


def names(value: int) -> list[str]:
    """Documented flag names set in ``value``, sorted."""
    return sorted(FLAGS[bit] for bit in FLAGS if value >> bit & 1)


def unknown_bits(value: int) -> int:
    return value & ~ALL


def bits_list(value: int) -> list[int]:
    """Bit positions set in ``value`` (for showing unknown bits)."""
    out, bit = [], 0
    while value >> bit:
        if value >> bit & 1:
            out.append(bit)
        bit += 1
    return out


class PermissionDiff(NamedTuple):
    """What changed between two permission values (:func:`diff`); unknown bits are kept, never
    dropped."""

    added: list[str]
    removed: list[str]
    unknown_bits_added: list[int]
    unknown_bits_removed: list[int]

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.unknown_bits_added or self.unknown_bits_removed)

    def as_dict(self) -> dict[str, list[str] | list[int]]:
        return {
            "added": self.added,
            "removed": self.removed,
            "unknown_bits_added": self.unknown_bits_added,
            "unknown_bits_removed": self.unknown_bits_removed,
        }

    def summary(self) -> str:
        """``+ADMINISTRATOR −MENTION_EVERYONE +bit53`` — the feed's one-line form."""
        parts = [f"+{n}" for n in self.added] + [f"−{n}" for n in self.removed]
        parts += [f"+bit{b}" for b in self.unknown_bits_added]
        parts += [f"−bit{b}" for b in self.unknown_bits_removed]
        return " ".join(parts)


def diff(old: int | None, new: int | None) -> PermissionDiff:
    o, n = old or 0, new or 0
    gained, lost = n & ~o, o & ~n
    return PermissionDiff(
        added=names(gained & ALL),
        removed=names(lost & ALL),
        unknown_bits_added=bits_list(unknown_bits(gained)),
        unknown_bits_removed=bits_list(unknown_bits(lost)),
    )
