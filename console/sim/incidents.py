"""Named scenarios over a running simulator: a raid, and a quiet stretch of ordinary moderation
for the same length of time. Alert rules must fire on the first and stay silent on the second.

Both are paced in wall time (seconds, not minutes: Discord's clock is the simulator's, and a
raid compressed into a few seconds is still "N in M minutes"). The slash-command part runs only
when a console has registered ``/audit`` (decisions need the console's policy).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from console.sim.guild import perms

if TYPE_CHECKING:
    from console.sim.server import SimServer

#: Ordinary background activity: message deletes, timeouts and nicknames, role updates on
#: members, voice moves, AutoMod blocks, the odd kick or ban. No bots, no permission changes.
QUIET_WEIGHTS: dict[int, float] = {72: 20, 24: 15, 25: 15, 26: 3, 27: 3, 74: 2, 75: 1, 143: 4, 20: 1, 22: 1}


@dataclass
class Played:
    """What a scenario did, for tests to compare with what the console raised."""

    entries: dict[str, list[int]] = field(default_factory=dict)  # kind -> entry ids
    answers: list[str] = field(default_factory=list)  # slash-command replies, in order

    def add(self, kind: str, entry: dict[str, Any]) -> None:
        self.entries.setdefault(kind, []).append(int(entry["id"]))


def _with_role(sim: SimServer, role: str) -> list[int]:
    rid = sim.guild.role_id(role)
    return [u for u in sim.guild.staff_ids() if rid in [int(r) for r in sim.guild.member_object(u)["roles"]]]


def _grant_options(member: int, role: int, reason: str) -> list[dict[str, Any]]:
    return [
        {
            "name": "role",
            "options": [
                {
                    "name": "grant",
                    "options": [
                        {"name": "member", "value": str(member)},
                        {"name": "role", "value": str(role)},
                        {"name": "reason", "value": reason},
                    ],
                }
            ],
        }
    ]


async def _command(sim: SimServer, played: Played, member: int, options: list[dict[str, Any]]) -> None:
    invocation = sim.invoke_command(member, "audit", options)
    answer = await invocation.wait_response(10)
    played.answers.append(str(answer.get("data", {}).get("content", "")))


def raid_actors(sim: SimServer) -> dict[str, int]:
    """Who does what in the raid: two moderators ban and kick, an admin breaks the glass, a
    helper keeps trying to grant roles, a moderator leans on an override."""
    mods = _with_role(sim, "Moderators")
    return {
        "mod_a": mods[0],
        "mod_b": mods[-1] if len(mods) > 1 else mods[0],
        "admin": _with_role(sim, "Admin")[0],
        "helper": _with_role(sim, "Helpers")[0],
    }


async def raid(
    sim: SimServer,
    *,
    bans: int = 9,
    kicks: int = 4,
    spacing_s: float = 0.05,
    denials: int = 5,
    override_grants: int = 3,
) -> Played:
    """A raid and its clean-up gone wrong, within a few seconds:

    - ``bans`` bans and ``kicks`` kicks by two moderators,
    - a bot added, ADMINISTRATOR granted to a role, MANAGE_ROLES allowed in a channel overwrite,
    - with ``/audit`` registered: the admin turns break-glass on and uses it, a helper is denied
      ``denials`` times, a moderator grants ``override_grants`` roles (an override in the policy
      makes them OVERRIDE_ALLOW).
    """
    played = Played()
    g = sim.guild
    who = raid_actors(sim)
    for n in range(bans + kicks):
        action = 22 if n % (bans + kicks) < bans else 20
        actor = who["mod_a"] if n % 3 else who["mod_b"]
        played.add("ban" if action == 22 else "kick", sim.emit(action, user_id=actor, reason="raid account"))
        await asyncio.sleep(spacing_s)
    played.add("bot", sim.emit(28))
    # A role no moderator holds: the raid's slash commands below must still meet the policy.
    staff_roles = {int(r) for u in g.staff_ids() for r in g.member_object(u)["roles"]}
    role = next(r for r in g.roles if r != g.guild_id and r not in staff_roles)
    old = int(g.roles[role]["permissions"])
    played.add(
        "admin",
        sim.emit(
            {
                "action_type": 31,
                "user_id": str(who["mod_b"]),
                "target_id": str(role),
                "changes": [
                    {"key": "permissions", "old_value": str(old), "new_value": str(old | perms("ADMINISTRATOR"))}
                ],
            }
        ),
    )
    channel = g.core_channels["general"]
    verified = g.role_id("Verified")
    played.add(
        "overwrite",
        sim.emit(
            {
                "action_type": 13,
                "user_id": str(who["mod_b"]),
                "target_id": str(channel),
                "options": {"id": str(verified), "type": "0", "role_name": g.roles[verified]["name"]},
                "changes": [
                    {"key": "id", "new_value": str(verified)},
                    {"key": "type", "new_value": 0},
                    {"key": "allow", "new_value": str(perms("MANAGE_ROLES") | perms("VIEW_CHANNEL"))},
                    {"key": "deny", "new_value": "0"},
                ],
            }
        ),
    )
    if sim.commands.by_name("audit") is None:
        return played
    targets = [u for u in g.regular_ids() if verified not in [int(r) for r in g.member_object(u)["roles"]]]
    await _command(
        sim,
        played,
        who["admin"],
        [{"name": "break-glass", "options": [{"name": "state", "value": "on"}, {"name": "minutes", "value": 10}]}],
    )
    await _command(sim, played, who["admin"], _grant_options(targets[0], verified, "raid: emergency verify"))
    for _ in range(denials):
        await _command(sim, played, who["helper"], _grant_options(targets[1], verified, "let me in"))
    for n in range(override_grants):
        await _command(sim, played, who["mod_a"], _grant_options(targets[2 + n], verified, "vouched"))
    return played


async def quiet(sim: SimServer, *, duration_s: float, rate_per_s: float = 3.0) -> Played:
    """Ordinary moderation for ``duration_s`` at ``rate_per_s`` entries a second (no bots, no
    permission changes, a ban now and then) and, with ``/audit`` registered, one routine grant by
    a moderator and one denied request by a helper."""
    from console.sim.scenario import ActivityStream

    played = Played()
    stream = ActivityStream(sim._rng_stream, sim.guild, QUIET_WEIGHTS)
    loop = asyncio.get_running_loop()
    end, n = loop.time() + duration_s, 0
    while loop.time() < end:
        entry = stream.next(sim.now_ms(), sim.bump_count)
        if entry is not None:
            played.add("entry", sim.emit(entry))
            n += 1
        await asyncio.sleep(1.0 / rate_per_s)
    if sim.commands.by_name("audit") is not None:
        who = raid_actors(sim)
        verified = sim.guild.role_id("Verified")
        member = next(
            u for u in sim.guild.regular_ids() if verified not in [int(r) for r in sim.guild.member_object(u)["roles"]]
        )
        await _command(sim, played, who["mod_a"], _grant_options(member, verified, "passed verification"))
        await _command(sim, played, who["helper"], _grant_options(member, verified, "can I?"))
    return played


def promotion(sim: SimServer) -> tuple[int, int, int]:
    """(moderator, helper, role): a moderator promotes a helper to Trial Mod. Staff on both ends,
    because the activity stream only ever targets ordinary members: nothing it does (a kick, a
    role taken) can get in the way of this one change."""
    g = sim.guild
    mods = _with_role(sim, "Moderators")
    trial = g.role_id("Trial Mod")
    helpers = [u for u in _with_role(sim, "Helpers") if trial not in [int(r) for r in g.member_object(u)["roles"]]]
    if not mods or not helpers:
        raise LookupError("no moderator, or no helper to promote, in this guild")
    return mods[-1], helpers[0], trial


async def retried_grant(sim: SimServer, *, drops: int = 2) -> Played:
    """A moderator grants a role with ``/audit role grant``; Discord answers the first ``drops``
    role calls for that change with 204 and applies nothing, so the console must look, retry and
    only then confirm. Needs ``/audit`` registered (a console connected with its policy)."""
    played = Played()
    moderator, helper, role = promotion(sim)
    sim.knobs.role_drops[(helper, role)] = drops
    await _command(sim, played, moderator, _grant_options(helper, role, "promotion: passed the helper trial"))
    return played
