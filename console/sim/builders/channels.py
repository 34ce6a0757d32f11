"""Entries for channels (10–12) and their permission overwrites (13–15)."""

from __future__ import annotations

from console.sim.builders.base import Builder, Ctx, Draft, chg
from console.sim.guild import JSON, perms


def _toggle_archive(name: str) -> str:
    """Rename back and forth (a long-running stream must not grow names forever)."""
    return name.removesuffix("-archive") if name.endswith("-archive") else name + "-archive"


def channel_create(c: Ctx, d: Draft) -> None:
    d.target = c.sid()
    d.changes = [
        chg("name", c.rng.choice(["ticket-0042", "events", "memes", "staff-vc"])),
        chg("type", c.rng.choice([0, 0, 2])),
        chg(
            "permission_overwrites",
            [
                {
                    "id": str(c.g.guild_id),
                    "type": 0,
                    "allow": "0",
                    "deny": str(perms("VIEW_CHANNEL")),
                }
            ],
        ),
        chg("nsfw", False),
        chg("rate_limit_per_user", 0),
        chg("flags", 0),
    ]


def channel_update(c: Ctx, d: Draft) -> None:
    rng = c.rng
    cid = c.channel(0, 5)
    d.target, ch = cid, c.g.channels[cid]
    d.changes = rng.choice(
        [
            [
                chg(
                    "rate_limit_per_user",
                    rng.choice([5, 30, 120]),
                    ch.get("rate_limit_per_user") or None,
                )
            ],
            [chg("topic", "Be nice. Rules in #rules", ch.get("topic"))],
            [chg("name", _toggle_archive(ch["name"]), ch["name"])],
            [chg("nsfw", True, False)],
        ]
    )


def channel_delete(c: Ctx, d: Draft) -> None:
    rng, g = c.rng, c.g
    created = sorted(cid for cid in g.created_channels if cid in g.channels)
    if created:
        ch = g.channels[rng.choice(created)]
        d.target, cname, ctype = int(ch["id"]), ch["name"], ch["type"]
    else:
        d.target, cname, ctype = (
            c.sid(),
            rng.choice(["ticket-0041", "old-memes", "temp-vc"]),
            0,
        )
    d.changes = [
        chg("name", None, cname),
        {"key": "type", "old_value": ctype},
        chg("permission_overwrites", None, []),
        chg("nsfw", None, False),
        chg("rate_limit_per_user", None, 0),
        chg("flags", None, 0),
    ]


def _ow_changes(
    action_type: int, target: int, kind: int, allow: int, deny: int, old_allow: int, old_deny: int
) -> list[JSON]:
    if action_type == 13:
        return [
            chg("id", str(target)),
            chg("type", kind),
            chg("allow", str(allow)),
            chg("deny", str(deny)),
        ]
    if action_type == 14:
        changes = []
        if allow != old_allow:
            changes.append(chg("allow", str(allow), str(old_allow)))
        if deny != old_deny:
            changes.append(chg("deny", str(deny), str(old_deny)))
        return changes or [chg("allow", str(allow | perms("ATTACH_FILES")), str(old_allow))]
    return [
        chg("id", None, str(target)),
        chg("type", None, kind),
        chg("allow", None, str(old_allow)),
        chg("deny", None, str(old_deny)),
    ]


def overwrite(c: Ctx, d: Draft) -> None:
    """An overwrite created (13), updated (14) or deleted (15) on a channel that can have one."""
    cid = c.channel(0, 2, 4, 5, 13)
    channel = c.g.channels[cid]
    existing = {int(o["id"]): o for o in channel["permission_overwrites"]}
    if d.at == 13 or not existing:
        # A new overwrite is for a role or member the channel has none for yet.
        member_target = c.rng.random() < 0.25
        target = c.victim() if member_target else c.role()
        if target in existing:
            target = c.victim()
            member_target = target not in c.g.roles
        kind = 1 if member_target else 0
        old_allow = old_deny = 0
    else:
        target = c.rng.choice(sorted(existing))
        kind = int(existing[target]["type"])
        old_allow, old_deny = int(existing[target]["allow"]), int(existing[target]["deny"])
    picks = (
        "VIEW_CHANNEL",
        "SEND_MESSAGES",
        "ATTACH_FILES",
        "MANAGE_MESSAGES",
        "CONNECT",
        "SEND_MESSAGES_IN_THREADS",
        "CREATE_PUBLIC_THREADS",
        "PIN_MESSAGES",
        "USE_EXTERNAL_APPS",
    )
    allow = old_allow ^ perms(c.rng.choice(picks))
    deny = (old_deny ^ perms(c.rng.choice(picks))) & ~allow
    options: JSON = {"id": str(target), "type": str(kind)}
    if kind == 0 and target in c.g.roles:
        options["role_name"] = c.g.roles[target]["name"]
    d.target, d.actor = cid, c.mod()
    d.changes = _ow_changes(d.at, target, kind, allow, deny, old_allow, old_deny)
    d.options = options


BUILDERS: dict[int, Builder] = {
    10: channel_create,
    11: channel_update,
    12: channel_delete,
    13: overwrite,
    14: overwrite,
    15: overwrite,
}
