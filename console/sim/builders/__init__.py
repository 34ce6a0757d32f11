"""How the simulator builds an audit-log entry of each action type: a table from action type to
a small builder (one per type, or one per create/update/delete group), split by what the entries
are about. A type not in the table gets the generic shape of an undocumented (future) type."""

from __future__ import annotations

from console.sim.builders import channels, features, members, objects
from console.sim.builders.base import Builder, Ctx, Draft, random_reason

BUILDERS: dict[int, Builder] = {**features.BUILDERS, **channels.BUILDERS, **members.BUILDERS, **objects.BUILDERS}


def builder_for(action_type: int) -> Builder:
    return BUILDERS.get(action_type, features.undocumented)


__all__ = ["BUILDERS", "Builder", "Ctx", "Draft", "builder_for", "random_reason"]
