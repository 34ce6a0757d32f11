"""A simulated guild set up wrongly, the ways a real first setup goes wrong: for ``doctor``'s
tests and for ``audit-console sim --misconfigure …`` (see its ✗ lines without a real server).

Applied before the simulator starts (nothing is dispatched: the guild was like this all along).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from console.sim.guild import perms
from console.sim.server import SimServer

#: What each misconfiguration is, as ``sim --misconfigure`` lists them.
MISCONFIGURATIONS: Final[dict[str, str]] = {
    "intent": "the Server Members Intent is off in the Developer Portal",
    "perms": "the bot's role lacks VIEW_AUDIT_LOG and MANAGE_ROLES",
    "hierarchy": "the bot's role sits at the bottom, below the roles it should grant",
    "commands": "the bot was added without the applications.commands scope",
    "channel": "the bot may not send messages in #mod-log (the audit channel)",
}


def misconfigure(sim: SimServer, kinds: Iterable[str]) -> None:
    """Set the guild up wrongly in each way named (keys of :data:`MISCONFIGURATIONS`)."""
    g = sim.guild
    bot_role = g.role_id("Audit Console")
    for kind in kinds:
        if kind == "intent":
            sim.knobs.members_intent = False
            sim.knobs.identify_close_code = 4014  # what Discord then answers a connect asking for it
        elif kind == "commands":
            sim.knobs.commands_scope = False
        elif kind == "perms":
            role = g.roles[bot_role]
            role["permissions"] = str(int(role["permissions"]) & ~perms("VIEW_AUDIT_LOG", "MANAGE_ROLES"))
            sim.knobs.audit_log_forbidden.add(g.guild_id)  # the audit log answers 403 50013 then
        elif kind == "hierarchy":
            # Dragged to just above @everyone: every other role moves up one place.
            old = g.role_position(bot_role)
            for rid, role in g.roles.items():
                if rid != g.guild_id and rid != bot_role and 1 <= role["position"] < old:
                    role["position"] += 1
            g.roles[bot_role]["position"] = 1
        elif kind == "channel":
            channel = g.channels[g.core_channels["mod-log"]]
            for ow in channel["permission_overwrites"]:
                if ow["id"] == str(g.bot_id):
                    ow["allow"], ow["deny"] = str(perms("VIEW_CHANNEL")), str(perms("SEND_MESSAGES"))
        else:
            raise ValueError(f"unknown misconfiguration {kind!r} (one of: {', '.join(MISCONFIGURATIONS)})")
