"""The demo's policy, written for the simulated guild's role ids: moderators may grant and revoke,
trial mods are allowed by the policy but lack MANAGE_ROLES in Discord (the gate says no), helpers
have no grant. The demo's operator is a moderator."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from console.sim.server import SimServer

GRANTS = [
    ("Moderators", "roles.grant", "ALLOW", 10),
    ("Moderators", "roles.revoke", "ALLOW", 10),
    ("Moderators", "console.export", "ALLOW", 10),
    ("Moderators", "notes.write", "ALLOW", 10),
    ("Trial Mod", "roles.grant", "ALLOW", 10),
    ("Trial Mod", "roles.revoke", "DENY", 20),
    ("Admin", "policy.break_glass", "ALLOW", 10),
    ("Admin", "audit.configure", "ALLOW", 10),
]


def demo_policy_text(sim: SimServer) -> str:
    g = sim.guild
    lines = [
        "# Written by `audit-console demo` for the simulated guild.",
        "admin_bypass = true",
        "",
        "[break_glass]",
        "max_minutes = 15",
        "",
    ]
    for role, capability, effect, priority in GRANTS:
        lines += [
            "[[grants]]",
            f'role = "{g.role_id(role)}"  # {role}',
            f'capability = "{capability}"',
            f'effect = "{effect}"',
            f"priority = {priority}",
            "",
        ]
    return "\n".join(lines)


def demo_operator(sim: SimServer) -> int:
    moderators = sim.guild.role_id("Moderators")
    return next(u for u in sim.guild.staff_ids() if moderators in [int(r) for r in sim.guild.member_object(u)["roles"]])


def write_demo_policy(sim: SimServer, path: Path) -> tuple[Path, int]:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(demo_policy_text(sim), encoding="utf-8")
    return path, demo_operator(sim)
