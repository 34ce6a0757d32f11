"""Realistic audit-log entries for every action type, and a seeded stream of moderator activity.

Entries look as Discord sends them: its change keys and value types (permissions as decimal
strings, ``$add``/``$remove`` role lists, timeouts as ISO strings, ``options`` values as strings),
and a ``target_id`` naming what Discord's API docs say it names for each action type. Every random
choice comes from the ``random.Random`` passed in, so a seed and a clock fix the whole stream.
Each type's builder lives in :mod:`console.sim.builders`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from console.model.actions import ACTION_TYPES, AGGREGATED_ACTIONS
from console.sim.builders import Ctx, Draft, builder_for, random_reason
from console.sim.guild import SimGuild

Entry = dict[str, Any]

#: An action type Discord has not documented (yet); it comes WITH options so hikari drops it.
FUTURE_ACTION_TYPE = 250

#: Entries hikari 2.7.0 cannot deserialise (options on a type without an options converter).
HIKARI_DROPPED: frozenset[int] = frozenset({83, 84, 85, 121, 143, 144, 145, 146, FUTURE_ACTION_TYPE})

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


def _build(c: Ctx, at: int, *, integration: bool = False) -> Entry:
    """Target, actor, changes, options and reason for one entry of ``at``."""
    # The actor and reason are drawn before the type's builder runs, whatever the type.
    actor = c.mod()
    draft = Draft(at, integration, actor=actor, reason=random_reason(c.rng, 0.3))
    builder_for(at)(c, draft)
    entry: Entry = {
        "id": "",  # filled by make_entry
        "user_id": str(draft.actor) if draft.actor is not None else None,
        "target_id": str(draft.target) if draft.target is not None else None,
        "action_type": at,
    }
    if draft.changes:
        entry["changes"] = draft.changes
    if draft.options is not None:
        entry["options"] = draft.options
    if draft.reason is not None:
        entry["reason"] = draft.reason
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
    entry = _build(Ctx(rng, guild, now_ms), action_type, integration=integration)
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
