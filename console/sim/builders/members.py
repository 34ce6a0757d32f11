"""Entries for members (20–28), roles (30–32) and messages (72–75): most of a moderated guild's log."""

from __future__ import annotations

from console.model.times import discord_iso
from console.sim.builders.base import Builder, Ctx, Draft, chg, random_reason
from console.sim.guild import perms


def member_removal(c: Ctx, d: Draft) -> None:
    """A kick (20), ban (22) or unban (23); a kick may be an integration's."""
    d.target = c.victim()
    d.reason = random_reason(c.rng, 0.8)
    if d.at == 20 and d.integration:
        d.actor, d.options = c.g.carl_id, {"integration_type": "discord"}


def member_prune(c: Ctx, d: Draft) -> None:
    d.options = {
        "delete_member_days": str(c.rng.choice([1, 7, 30])),
        "members_removed": str(c.rng.randint(0, 40)),
    }


def member_update(c: Ctx, d: Draft) -> None:
    """A timeout set or lifted, a nickname, or a voice mute/deafen."""
    rng = c.rng
    d.target = target = c.victim()
    current = c.g.members.get(target, {})
    roll = rng.random()
    if roll < 0.55:  # timeout set: only new_value
        minutes = rng.choice([1, 5, 10, 60, 1440, 10080])
        d.changes = [chg("communication_disabled_until", discord_iso(c.now + minutes * 60_000))]
        d.reason = random_reason(rng, 0.85)
    elif roll < 0.75:  # timeout lifted: only old_value
        d.changes = [
            chg(
                "communication_disabled_until",
                None,
                current.get("communication_disabled_until") or discord_iso(c.now + 3_600_000),
            )
        ]
    elif roll < 0.9:
        old_nick = current.get("nick")
        new_nick = None if old_nick and rng.random() < 0.5 else rng.choice(["Moderated Nickname", "user", "💤"])
        d.changes = [chg("nick", new_nick, old_nick)] if (new_nick or old_nick) else [chg("nick", "user")]
    else:
        d.changes = [chg(rng.choice(["mute", "deaf"]), True, False)]


def member_roles(c: Ctx, d: Draft) -> None:
    rng, g = c.rng, c.g
    d.target = target = c.victim()
    have = set(g.members.get(target, {}).get("roles", []))
    pool = g.assignable_role_ids(g.owner_id)
    if rng.random() > 0.03:  # promotions to staff are rare; most changes are Muted/Verified/…
        pool = [r for r in pool if g.role_kinds.get(r) != "staff"]
    addable = [r for r in pool if r not in have]
    removable = [r for r in pool if r in have]
    changes = []
    if addable and (not removable or rng.random() < 0.65):
        changes.append(chg("$add", [g.partial_role(rng.choice(addable))]))
    if removable and (not changes or rng.random() < 0.15):
        changes.append(chg("$remove", [g.partial_role(rng.choice(removable))]))
    if not changes:
        changes.append(chg("$add", [g.partial_role(c.role(assignable=True))]))
    d.changes = changes
    if d.integration:
        d.actor, d.options = g.carl_id, {"integration_type": "discord"}


def member_move(c: Ctx, d: Draft) -> None:
    d.options = {"channel_id": str(c.channel(2, 13)), "count": str(c.rng.randint(1, 4))}


def member_disconnect(c: Ctx, d: Draft) -> None:
    d.options = {"count": str(c.rng.randint(1, 3))}


def bot_add(c: Ctx, d: Draft) -> None:
    d.target, d.actor = c.sid(), c.g.owner_id


def _admin_actor(c: Ctx, d: Draft) -> None:
    """Role entries are made by an admin (the owner when no staff member holds Admin)."""
    admin = c.g.role_id("Admin")
    d.actor = c.rng.choice([uid for uid in c.g.staff_ids() if admin in c.g.members[uid]["roles"]] or [c.g.owner_id])


def role_create(c: Ctx, d: Draft) -> None:
    _admin_actor(c, d)
    rng = c.rng
    d.target = c.sid()
    color = rng.choice([0, 0x1ABC9C, 0xE91E63, 0xF1C40F])
    d.changes = [
        chg("name", rng.choice(["Giveaway Winner", "Level 10", "Artist", "new role"])),
        chg("permissions", str(perms("VIEW_CHANNEL", "SEND_MESSAGES", "SEND_POLLS"))),
        {"key": "color", "new_value": color},
        {"key": "hoist", "new_value": False},
        {"key": "mentionable", "new_value": False},
        chg(
            "colors",
            {"primary_color": color, "secondary_color": None, "tertiary_color": None},
        ),
    ]


def role_update(c: Ctx, d: Draft) -> None:
    """A permission flipped (sometimes ADMINISTRATOR, sometimes an undocumented bit), maybe a rename."""
    _admin_actor(c, d)
    rng, g = c.rng, c.g
    rid = c.role()
    d.target = rid
    old = int(g.roles[rid]["permissions"])
    roll = rng.random()
    if roll < 0.3:
        new = old | perms("ADMINISTRATOR") if not old & perms("ADMINISTRATOR") else old & ~perms("ADMINISTRATOR")
    elif roll < 0.9:
        new = old ^ perms(
            rng.choice(
                [
                    "MANAGE_ROLES",
                    "BAN_MEMBERS",
                    "MODERATE_MEMBERS",
                    "MENTION_EVERYONE",
                    "MANAGE_THREADS",
                    "PIN_MESSAGES",
                    "BYPASS_SLOWMODE",
                    "MANAGE_WEBHOOKS",
                    "SEND_POLLS",
                    "USE_EXTERNAL_APPS",
                    "VIEW_AUDIT_LOG",
                ]
            )
        )
    else:
        new = old | (1 << 53)  # an undocumented future bit: must survive as a big integer
    d.changes = [chg("permissions", str(new), str(old))]
    if g.role_kinds.get(rid) == "created" and rng.random() < 0.3:
        old_name = g.roles[rid]["name"]
        new_name = rng.choice([n for n in ("Giveaway Winner", "Level 10", "Artist", "Regular") if n != old_name])
        d.changes.append(chg("name", new_name, old_name))


def role_delete(c: Ctx, d: Draft) -> None:
    _admin_actor(c, d)
    rng, g = c.rng, c.g
    # Delete a role the stream created when there is one (core roles stay); otherwise a role
    # that predates the simulation.
    created = [rid for rid, kind in g.role_kinds.items() if kind == "created"]
    if created:
        role = g.roles[rng.choice(created)]
        d.target = int(role["id"])
        name, permissions, color = role["name"], role["permissions"], role["color"]
    else:
        d.target = c.sid()
        name = rng.choice(["Old Event", "Level 5", "temp"])
        permissions, color = str(perms("VIEW_CHANNEL", "SEND_MESSAGES")), 0x95A5A6
    d.changes = [
        chg("name", None, name),
        chg("permissions", None, permissions),
        {"key": "color", "old_value": color},
        {"key": "hoist", "old_value": False},
        {"key": "mentionable", "old_value": False},
    ]


def message_delete(c: Ctx, d: Draft) -> None:
    d.target = c.victim()
    d.options = {"channel_id": str(c.channel(0, 5)), "count": "1"}


def message_bulk_delete(c: Ctx, d: Draft) -> None:
    d.target = c.channel(0, 5)
    d.options = {"count": str(c.rng.randint(2, 100))}


def message_pin(c: Ctx, d: Draft) -> None:
    """A message pinned (74) or unpinned (75)."""
    d.target = c.victim()
    d.options = {"channel_id": str(c.channel(0, 5)), "message_id": c.sid()}


BUILDERS: dict[int, Builder] = {
    20: member_removal,
    21: member_prune,
    22: member_removal,
    23: member_removal,
    24: member_update,
    25: member_roles,
    26: member_move,
    27: member_disconnect,
    28: bot_add,
    30: role_create,
    31: role_update,
    32: role_delete,
    72: message_delete,
    73: message_bulk_delete,
    74: message_pin,
    75: message_pin,
}
