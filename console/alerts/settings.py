"""Alert rules' settings: the defaults shipped in code and the ``[alerts]`` table of the config
file. Every bad value is one line naming the key (the CLI turns it into exit 2)."""

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from console.model import permissions, snowflake


class AlertSettingsError(ValueError):
    """A bad ``[alerts]`` value; console.config re-raises it as a ConfigError (one line)."""


class Rule(NamedTuple):
    """One rule: on/off and, for the counting rules, ``count`` records within ``minutes``."""

    enabled: bool = True
    # Named as the config key; it shadows tuple.count, which nothing calls on a rule.
    count: int = 1  # type: ignore[assignment]
    minutes: float = 0.0


#: Rule names as used in the config file, the store and the alerts list.
RULES: tuple[str, ...] = (
    "ban_wave",
    "dangerous_permission",
    "bot_added",
    "break_glass",
    "deny_burst",
    "first_use",
    "override_repeat",
)

#: The defaults: tight enough to catch a raid, loose enough that a busy evening of ordinary
#: moderation (a ban every few minutes) stays quiet.
DEFAULT_RULES: Mapping[str, Rule] = {
    "ban_wave": Rule(count=5, minutes=2),  # bans + kicks per guild
    "dangerous_permission": Rule(),
    "bot_added": Rule(),
    "break_glass": Rule(),
    "deny_burst": Rule(count=5, minutes=5),  # DENY decisions for one person
    "first_use": Rule(),  # learning period: learning_days
    "override_repeat": Rule(count=3, minutes=60),  # OVERRIDE_ALLOW decisions for one person
}


class AlertSettings(NamedTuple):
    """The ``[alerts]`` settings: rules, dangerous flags, cooldowns, bell and channels."""

    rules: Mapping[str, Rule] = MappingProxyType(DEFAULT_RULES)
    #: Flags that raise ``dangerous_permission`` when granted to a role or in a channel overwrite.
    dangerous: frozenset[str] = permissions.DANGEROUS
    #: ``first_use`` stays silent until the guild has this many days of stored decisions.
    learning_days: float = 14.0
    #: After an alert, the same rule for the same guild and person stays silent while records keep
    #: coming less than this apart: one raid wave is one alert, not one per ban.
    cooldown_minutes: float = 10.0
    #: Entries older than this when they arrive (a backfill of old history) raise nothing.
    max_age_minutes: float = 60.0
    bell: bool = False
    #: Where alerts are posted: one channel for every guild, and/or per guild.
    channel: int | None = None
    channels: Mapping[int, int] = MappingProxyType({})

    def rule(self, name: str) -> Rule:
        return self.rules.get(name, Rule(enabled=False))

    def channel_for(self, guild_id: int) -> int | None:
        return self.channels.get(guild_id, self.channel)


def _id(value: Any, where: str) -> int:
    text = value.strip() if isinstance(value, str) else value
    if isinstance(text, bool) or not (isinstance(text, int) or (isinstance(text, str) and text.isdigit())):
        raise AlertSettingsError(f"{where}: expected a Discord id (digits), got {value!r}")
    n = snowflake.parse(text)
    if n is None:
        raise AlertSettingsError(f"{where}: {value!r} is not a Discord id")
    return n


def _number(value: Any, where: str, *, low: float, high: float, integer: bool = False) -> float:
    ok_type = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not ok_type or not low <= value <= high:
        kind = "a whole number" if integer else "a number"
        raise AlertSettingsError(f"{where} must be {kind} from {low:g} to {high:g}, got {value!r}")
    return value


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise AlertSettingsError(f"{where} must be true or false, got {value!r}")
    return value


def parse(data: Any, where: str) -> AlertSettings:
    """The ``[alerts]`` table → settings over the defaults. Raises AlertSettingsError."""
    if not isinstance(data, Mapping):
        raise AlertSettingsError(f"{where}: alerts must be a table ([alerts])")
    s = AlertSettings()
    rules = dict(s.rules)
    out: dict[str, Any] = {}
    top = {"bell", "channel", "cooldown_minutes", "max_age_minutes", "learning_days", "dangerous_permissions"}
    for key, value in data.items():
        w = f"{where}: alerts.{key}"
        if key in RULES:
            rules[key] = _rule(key, value, rules[key], w)
        elif key not in top:
            raise AlertSettingsError(f"{where}: unknown alerts setting {key!r} (rules: {', '.join(RULES)})")
        elif key == "bell":
            out["bell"] = _bool(value, w)
        elif key == "channel":
            if isinstance(value, Mapping):
                out["channels"] = {_id(g, f"{w} (guild)"): _id(c, f"{w}.{g}") for g, c in value.items()}
            else:
                out["channel"] = _id(value, w)
        elif key == "cooldown_minutes":
            out["cooldown_minutes"] = float(_number(value, w, low=0, high=1440))
        elif key == "max_age_minutes":
            out["max_age_minutes"] = float(_number(value, w, low=1, high=60 * 24 * 45))
        elif key == "learning_days":
            out["learning_days"] = float(_number(value, w, low=0, high=365))
        elif key == "dangerous_permissions":
            if not isinstance(value, list) or not value:
                raise AlertSettingsError(f"{w} must be a non-empty list of permission names")
            names = set()
            for name in value:
                if not isinstance(name, str) or name.strip().upper() not in permissions.NAME_TO_BIT:
                    raise AlertSettingsError(f"{w}: unknown permission {name!r}")
                names.add(name.strip().upper())
            out["dangerous"] = frozenset(names)
    return s._replace(rules=rules, **out)


def _rule(name: str, value: Any, default: Rule, where: str) -> Rule:
    if isinstance(value, bool):  # `bot_added = false` as a shorthand
        return default._replace(enabled=value)
    if not isinstance(value, Mapping):
        raise AlertSettingsError(f"{where} must be true, false or a table")
    counting = default.minutes > 0
    allowed = {"enabled", "count", "minutes"} if counting else {"enabled"}
    rule = default
    for key, v in value.items():
        w = f"{where}.{key}"
        if key not in allowed:
            raise AlertSettingsError(f"{where}: unknown setting {key!r} (known: {', '.join(sorted(allowed))})")
        if key == "enabled":
            rule = rule._replace(enabled=_bool(v, w))
        elif key == "count":
            rule = rule._replace(count=int(_number(v, w, low=1, high=10_000, integer=True)))
        else:
            rule = rule._replace(minutes=float(_number(v, w, low=0.1, high=60 * 24 * 7)))
    return rule
