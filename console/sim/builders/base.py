"""What every entry builder shares: the context it picks from, the draft it fills in, and small
helpers for change objects, permission bits and moderators' reasons."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from console.sim.guild import JSON, SimGuild

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


def random_reason(rng: random.Random, probability: float = 0.6) -> str | None:
    """A reason (1–512 chars, some unicode or hostile) or None, as moderators leave them."""
    return rng.choice(_REASONS) if rng.random() < probability else None


class Ctx:
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


@dataclass
class Draft:
    """One entry being built. It starts with a moderator as actor and maybe a reason (both drawn
    before the builder runs, so every builder sees the same random sequence); the builder sets
    the target, changes and options, and may replace the actor or the reason."""

    at: int
    integration: bool
    actor: int | None
    reason: str | None
    target: int | str | None = None
    changes: list[JSON] | None = None
    options: JSON | None = None


#: Fills in a draft for its action type (or group of types), drawing from the context's rng.
Builder = Callable[[Ctx, Draft], None]


def chg(key: str, new: Any = None, old: Any = None) -> JSON:
    """A change object; a missing side is omitted, as Discord does (new only = was null)."""
    change: JSON = {"key": key}
    if new is not None:
        change["new_value"] = new
    if old is not None:
        change["old_value"] = old
    return change
