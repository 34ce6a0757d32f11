"""The simulated guild: ground truth for the simulator, rendered exactly as Discord's REST does.

Everything is built from a ``random.Random`` and a "now" in milliseconds, so two guilds built
from the same seed and clock are identical (same ids, names, roles and members).

One module over ~500 lines on purpose: a third of it is the seed data (names, hostile strings),
and the rest is one object's state — roles, channels, members, bans and the audit log change
together in every mutation, and each mutation writes the audit entry Discord would.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from console.model.permissions import ALL as ALL_PERMISSIONS
from console.model.permissions import NAME_TO_BIT
from console.model.snowflake import DISCORD_EPOCH_MS, from_ms
from console.model.times import discord_iso
from console.sim.crowd import DAY_MS, Crowd, user_object

JSON = dict[str, Any]

#: Above this many members Discord marks a guild ``large`` and GUILD_CREATE carries only a few
#: of them (hikari identifies with the highest large_threshold, 250).
LARGE_THRESHOLD = 250


def perms(*names: str) -> int:
    """Permission bits from documented flag names (console.model.permissions spelling)."""
    value = 0
    for name in names:
        value |= 1 << NAME_TO_BIT[name]
    return value


class IdMaker:
    """Deterministic, unique snowflakes.

    ``make(ms)`` for "now" is strictly increasing, as Discord's ids are; ``make(ms, past=True)``
    back-dates an id (seeded history, old members) and only guarantees uniqueness.
    """

    def __init__(self, worker: int = 7) -> None:
        self._worker = worker & 0x1F
        self._counter = 0
        self._last = 0
        self._issued: set[int] = set()

    def make(self, ms: int, *, past: bool = False) -> int:
        self._counter += 1
        candidate = from_ms(ms) | (self._worker << 17) | (self._counter & 0x1FFFF)
        if not past and candidate <= self._last:
            candidate = self._last + 1
        while candidate in self._issued:
            candidate += 1
        self._issued.add(candidate)
        if not past:
            self._last = max(self._last, candidate)
        return candidate


_ADMINISTRATOR = perms("ADMINISTRATOR")
#: What a timed-out member keeps (owner and administrators are exempt from timeouts).
_TIMEOUT_KEEPS = perms("VIEW_CHANNEL", "READ_MESSAGE_HISTORY")

# Role layout, lowest first: (name, permissions, color, hoist, kind). ``kind`` marks roles
# the scenario treats specially. Bits above 31 (threads, polls, pins) appear on purpose.
_EVERYONE = perms(
    "CREATE_INSTANT_INVITE",
    "ADD_REACTIONS",
    "STREAM",
    "VIEW_CHANNEL",
    "SEND_MESSAGES",
    "EMBED_LINKS",
    "ATTACH_FILES",
    "READ_MESSAGE_HISTORY",
    "USE_EXTERNAL_EMOJIS",
    "CONNECT",
    "SPEAK",
    "USE_VAD",
    "CHANGE_NICKNAME",
    "USE_APPLICATION_COMMANDS",
    "REQUEST_TO_SPEAK",
    "CREATE_PUBLIC_THREADS",
    "SEND_MESSAGES_IN_THREADS",
    "USE_EXTERNAL_STICKERS",
    "USE_EMBEDDED_ACTIVITIES",
    "SEND_VOICE_MESSAGES",
    "SEND_POLLS",
    "USE_EXTERNAL_APPS",
)
_MOD = perms(
    "KICK_MEMBERS",
    "BAN_MEMBERS",
    "VIEW_AUDIT_LOG",
    "MANAGE_MESSAGES",
    "MUTE_MEMBERS",
    "DEAFEN_MEMBERS",
    "MOVE_MEMBERS",
    "MANAGE_NICKNAMES",
    "MANAGE_ROLES",
    "MANAGE_THREADS",
    "MODERATE_MEMBERS",
    "PIN_MESSAGES",
    "BYPASS_SLOWMODE",
)
ROLE_LAYOUT: tuple[tuple[str, int, int, bool, str], ...] = (
    ("@everyone", _EVERYONE, 0, False, "everyone"),
    ("Muted", 0, 0x546E7A, False, "muted"),
    ("Members", 0, 0x99AAB5, False, "plain"),
    ("Verified", perms("ATTACH_FILES", "EMBED_LINKS"), 0x2ECC71, False, "plain"),
    (
        "Event Hosts",
        perms("MANAGE_EVENTS", "CREATE_EVENTS", "PRIORITY_SPEAKER"),
        0xE67E22,
        True,
        "plain",
    ),
    ("Server Booster", 0, 0xF47FFF, True, "booster"),
    ("Carl-bot", perms("MANAGE_ROLES", "MANAGE_MESSAGES", "VIEW_AUDIT_LOG"), 0, False, "bot"),
    ("Helpers", perms("MANAGE_MESSAGES", "MOVE_MEMBERS", "PIN_MESSAGES"), 0x3498DB, True, "staff"),
    (
        "Trial Mod",
        perms("KICK_MEMBERS", "MODERATE_MEMBERS", "MANAGE_MESSAGES", "VIEW_AUDIT_LOG"),
        0x1ABC9C,
        True,
        "staff",
    ),
    ("Moderators", _MOD, 0x9B59B6, True, "staff"),
    (
        "Audit Console",
        perms(
            "VIEW_AUDIT_LOG",
            "MANAGE_ROLES",
            "VIEW_CHANNEL",
            "SEND_MESSAGES",
            "MODERATE_MEMBERS",
            "READ_MESSAGE_HISTORY",
        ),
        0,
        False,
        "self",
    ),
    ("Admin", perms("ADMINISTRATOR"), 0xE74C3C, True, "staff"),
)

_ADJ = (
    "quiet",
    "lucky",
    "brave",
    "sleepy",
    "fuzzy",
    "rapid",
    "cosmic",
    "mellow",
    "pixel",
    "neon",
    "salty",
    "frosty",
    "golden",
    "hidden",
    "noisy",
    "swift",
)
_NOUN = (
    "otter",
    "falcon",
    "maple",
    "comet",
    "badger",
    "lynx",
    "pebble",
    "raven",
    "tofu",
    "walrus",
    "cactus",
    "ember",
    "koala",
    "moth",
    "nebula",
    "panda",
)
# Hostile-but-real display names: terminal escapes, bidi overrides, markup. The console must show
# them safely; the simulator simply reports what users chose.
_TRICKY_GLOBAL_NAMES = (
    "[@click=app.quit]free nitro[/]",
    "evil\u202eresu",
    "\x1b]0;pwned\x07title",
    "Zoë ✨",
    "𝓯𝓪𝓷𝓬𝔂",
    "李小龙",
)


class SimGuild:
    """One guild with roles, channels, members, bans, messages and the full audit log."""

    def __init__(
        self,
        rng: random.Random,
        now_ms: int,
        *,
        name: str = "Sim Moderation HQ",
        member_count: int = 40,
        crowd: int = 0,
        crowd_seed: str = "crowd",
        ids: IdMaker | None = None,
        bot_user: JSON | None = None,
    ) -> None:
        """``ids`` and ``bot_user``: another guild of the same simulated Discord shares its id
        maker (snowflakes are unique across guilds) and its bot (one bot in many guilds)."""
        self.ids = ids or IdMaker()
        self.name = name
        created_ms = now_ms - rng.randint(700, 1400) * DAY_MS
        self.created_ms = created_ms
        self.guild_id: int = self.ids.make(created_ms, past=True)
        self.users: dict[int, JSON] = {}
        """Every user ever seen (members, departed members, banned users, bots)."""
        self.members: dict[int, JSON] = {}
        """Current members by user id: the member state (roles as int ids, nick, timeout …)."""
        self.roles: dict[int, JSON] = {}
        self.channels: dict[int, JSON] = {}
        self.bans: dict[int, str | None] = {}
        self.audit_log: list[dict[str, Any]] = []
        """Every entry ever created, Discord's entry shape WITHOUT guild_id, in creation order."""
        self.entries_by_id: dict[int, dict[str, Any]] = {}
        self.messages: list[JSON] = []
        """Messages POSTed through REST, as returned to the poster."""
        self.role_kinds: dict[int, str] = {}
        """Role id -> everyone/muted/plain/booster/bot/staff/self/created (scenario uses it)."""
        self._core_roles: dict[str, int] = {}
        self.core_channels: dict[str, int] = {}
        """Channel ids by original name (``general``, ``mod-log`` …), stable across renames."""
        self.created_channels: set[int] = set()
        """Channels the activity stream created (the only ones it deletes)."""
        self._usernames: set[str] = set()

        # The simulator's own bot user and application (the token encodes this id).
        if bot_user is None:
            self.bot_id = self.ids.make(created_ms + rng.randint(1, 300) * DAY_MS, past=True)
            self.users[self.bot_id] = self._user(self.bot_id, "audit-console", "Audit Console", bot=True)
        else:
            self.bot_id = int(bot_user["id"])
            self.users[self.bot_id] = dict(bot_user)
            self._usernames.add(bot_user["username"])
        self.application_id = self.bot_id
        self.carl_id = self.ids.make(created_ms + rng.randint(1, 30) * DAY_MS, past=True)
        self.users[self.carl_id] = self._user(self.carl_id, "carl-bot", "Carl-bot", bot=True)

        self._build_roles(rng, created_ms)
        self._build_channels(rng, created_ms)
        self._build_members(rng, created_ms, now_ms, member_count)
        # Made after everything else and from its own seed: the rest of the world is the same
        # with or without a crowd.
        self.crowd = Crowd(crowd_seed, crowd, created_ms + DAY_MS, now_ms, _ADJ, _NOUN)

    # ------------------------------------------------------------------ construction

    def _user(self, uid: int, username: str, global_name: str | None, *, bot: bool = False) -> JSON:
        self._usernames.add(username)
        user: JSON = user_object(uid, username, global_name)
        if bot:
            user["bot"] = True
        return user

    def _build_roles(self, rng: random.Random, created_ms: int) -> None:
        for position, (rname, permissions, color, hoist, kind) in enumerate(ROLE_LAYOUT):
            if kind == "everyone":
                rid = self.guild_id
            else:
                rid = self.ids.make(created_ms + rng.randint(0, 200) * DAY_MS, past=True)
            tags: JSON | None = None
            if kind == "bot":
                tags = {"bot_id": str(self.carl_id)}
            elif kind == "self":
                tags = {"bot_id": str(self.bot_id)}
            elif kind == "booster":
                tags = {"premium_subscriber": None}
            self.roles[rid] = self.make_role(rid, rname, permissions, color, hoist, position, tags)
            self._core_roles[rname] = rid
            self.role_kinds[rid] = kind

    def make_role(
        self,
        rid: int,
        name: str,
        permissions: int,
        color: int,
        hoist: bool,
        position: int,
        tags: JSON | None = None,
    ) -> JSON:
        role: JSON = {
            "id": str(rid),
            "name": name,
            "description": None,
            "permissions": str(permissions),
            "position": position,
            "color": color,
            "colors": {"primary_color": color, "secondary_color": None, "tertiary_color": None},
            "hoist": hoist,
            "managed": tags is not None,  # bot and booster roles are managed by Discord
            "mentionable": False,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }
        if tags is not None:
            role["tags"] = tags
        return role

    def role_id(self, name: str) -> int:
        """A core role's id by its layout name (stable even if the role is renamed later)."""
        return self._core_roles[name]

    def _build_channels(self, rng: random.Random, created_ms: int) -> None:
        everyone = self.guild_id
        mods, trial, helpers = (
            self.role_id("Moderators"),
            self.role_id("Trial Mod"),
            self.role_id("Helpers"),
        )
        muted = self.role_id("Muted")
        view, send = perms("VIEW_CHANNEL"), perms("SEND_MESSAGES")
        muted_deny = perms(
            "SEND_MESSAGES",
            "ADD_REACTIONS",
            "SPEAK",
            "SEND_MESSAGES_IN_THREADS",
            "CREATE_PUBLIC_THREADS",
        )

        def ow(target: int, kind: int, allow: int, deny: int) -> JSON:
            return {"id": str(target), "type": kind, "allow": str(allow), "deny": str(deny)}

        def mk(name: str, ctype: int, parent: int | None, overwrites: list[JSON], **extra: Any) -> int:
            cid = self.ids.make(created_ms + rng.randint(0, 100) * DAY_MS, past=True)
            channel: JSON = {
                "id": str(cid),
                "type": ctype,
                "guild_id": str(self.guild_id),
                "name": name,
                "position": len(self.channels),
                "parent_id": str(parent) if parent else None,
                "permission_overwrites": overwrites,
                "flags": 0,
                "nsfw": False,
            }
            if ctype in (0, 5):
                channel.update(
                    topic=None,
                    last_message_id=None,
                    rate_limit_per_user=0,
                    default_auto_archive_duration=1440,
                    last_pin_timestamp=None,
                )
            if ctype in (2, 13):
                channel.update(
                    bitrate=64000,
                    user_limit=0,
                    rtc_region=None,
                    video_quality_mode=1,
                    last_message_id=None,
                    rate_limit_per_user=0,
                )
            channel.update(extra)
            self.channels[cid] = channel
            self.core_channels[name] = cid
            return cid

        staff_only = [
            ow(everyone, 0, 0, view),
            ow(mods, 0, view | send, 0),
            ow(trial, 0, view, 0),
            ow(helpers, 0, view, 0),
        ]
        moderation = mk("Moderation", 4, None, staff_only)
        community = mk("Community", 4, None, [ow(muted, 0, 0, muted_deny)])
        mk("rules", 0, community, [ow(everyone, 0, 0, send)], topic="Read before posting.")
        mk("announcements", 5, community, [ow(everyone, 0, 0, send)], topic="News from the staff")
        mk("general", 0, community, [ow(muted, 0, 0, muted_deny)], topic="Say hi 👋")
        mk("off-topic", 0, community, [ow(muted, 0, 0, muted_deny)], rate_limit_per_user=5)
        mk("mod-log", 0, moderation, [*staff_only, ow(self.bot_id, 1, view | send, 0)])
        mk("mod-chat", 0, moderation, staff_only)
        mk("Lounge", 2, community, [ow(muted, 0, 0, muted_deny)])
        mk("Town Hall", 13, community, [ow(everyone, 0, 0, perms("REQUEST_TO_SPEAK"))])
        mk("AFK", 2, None, [])

    def _build_members(self, rng: random.Random, created_ms: int, now_ms: int, count: int) -> None:
        r = self.role_id
        staff_plan = [
            "Admin",
            "Admin",
            "Moderators",
            "Moderators",
            "Moderators",
            "Moderators",
            "Trial Mod",
            "Trial Mod",
            "Helpers",
            "Helpers",
            "Helpers",
            "Event Hosts",
        ]
        tricky = list(_TRICKY_GLOBAL_NAMES)
        for i in range(count):
            joined = rng.randint(created_ms, now_ms - DAY_MS)
            uid = self.ids.make(joined - rng.randint(0, 400) * DAY_MS, past=True)
            global_name: str | None
            if i >= 12 and tricky and rng.random() < 0.25:
                global_name = tricky.pop(0)
            else:
                global_name = None if rng.random() < 0.3 else self._display(rng)
            username = self._username(rng)
            self.users[uid] = self._user(uid, username, global_name)
            roles = [r("Members")]
            if i < len(staff_plan):
                roles.append(r(staff_plan[i]))
            elif rng.random() < 0.5:
                roles.append(r("Verified"))
            if i >= len(staff_plan) and rng.random() < 0.08:
                roles.append(r("Muted"))
            if rng.random() < 0.1:
                roles.append(r("Server Booster"))
            timeout = None
            if i >= len(staff_plan) and rng.random() < 0.08:
                timeout = discord_iso(now_ms + rng.randint(10, 600) * 60_000)
            self.members[uid] = self._member_state(
                uid, joined, roles, timeout, nick=self._display(rng) if rng.random() < 0.2 else None
            )
        self.owner_id = next(iter(self.members))  # the first Admin founded the server
        # Bots join as members with their managed roles.
        self.members[self.carl_id] = self._member_state(self.carl_id, created_ms + DAY_MS, [r("Carl-bot")], None)
        self.members[self.bot_id] = self._member_state(self.bot_id, now_ms - 30 * DAY_MS, [r("Audit Console")], None)

    def _member_state(
        self,
        uid: int,
        joined_ms: int,
        roles: list[int],
        timeout: str | None,
        nick: str | None = None,
    ) -> JSON:
        return {
            "user_id": uid,
            "roles": roles,
            "joined_at": discord_iso(joined_ms),
            "nick": nick,
            "communication_disabled_until": timeout,
            "deaf": False,
            "mute": False,
        }

    def _username(self, rng: random.Random) -> str:
        while True:
            name = f"{rng.choice(_ADJ)}_{rng.choice(_NOUN)}{rng.randint(1, 99)}"
            if name not in self._usernames:
                return name

    def _display(self, rng: random.Random) -> str:
        return f"{rng.choice(_ADJ).title()} {rng.choice(_NOUN).title()}"

    def add_new_member(self, rng: random.Random, now_ms: int) -> int:
        """A newcomer joins (keeps a long-running driver from emptying the guild)."""
        uid = self.ids.make(now_ms - rng.randint(1, 900) * DAY_MS, past=True)
        self.users[uid] = self._user(uid, self._username(rng), self._display(rng) if rng.random() < 0.7 else None)
        self.members[uid] = self._member_state(uid, now_ms, [self.role_id("Members")], None)
        return uid

    def crowd_member(self, i: int) -> int:
        """The id of the crowd's ``i``-th member (a member Discord knows, built only when asked)."""
        if not 0 <= i < self.crowd.size:
            raise IndexError(f"the crowd has {self.crowd.size} members")
        return self.crowd.uid(i)

    def is_member(self, uid: int) -> bool:
        return uid in self.members or uid in self.crowd

    def member_total(self) -> int:
        return len(self.members) + len(self.crowd)

    def materialize(self, uid: int) -> JSON | None:
        """The member's state, a crowd member taken out of the crowd first (to be changed);
        None for someone who is not a member."""
        member = self.members.get(uid)
        if member is None and uid in self.crowd:
            self.users[uid] = self.crowd.user(uid)
            self._usernames.add(self.users[uid]["username"])
            member = self.members[uid] = self.crowd.member(uid, self.role_id("Members"), self.role_id("Verified"))
            self.crowd.taken.add(uid)
        return member

    def add_bot_member(self, uid: int, now_ms: int, name: str) -> None:
        """A bot invited by a moderator (BOT_ADD): a bot user joins as a member."""
        if uid not in self.users:
            self.users[uid] = self._user(uid, name.lower().replace(" ", "-"), name, bot=True)
        self.members.setdefault(uid, self._member_state(uid, now_ms, [], None))

    # ------------------------------------------------------------------ queries

    @property
    def everyone_role_id(self) -> int:
        return self.guild_id

    def role_position(self, rid: int) -> int:
        return int(self.roles[rid]["position"])

    def top_position(self, uid: int) -> int:
        member = self.members.get(uid)
        if member is None:
            return -1
        return max([0, *(self.role_position(r) for r in member["roles"] if r in self.roles)])

    def staff_ids(self) -> list[int]:
        """Human members holding a staff role: the moderators who act in the audit log."""
        staff = {rid for rid, kind in self.role_kinds.items() if kind == "staff"}
        return [
            uid for uid, m in self.members.items() if not self.users[uid].get("bot") and staff.intersection(m["roles"])
        ]

    def regular_ids(self) -> list[int]:
        staff = set(self.staff_ids())
        return [
            uid for uid in self.members if uid not in staff and not self.users[uid].get("bot") and uid != self.owner_id
        ]

    def assignable_role_ids(self, actor: int | None = None) -> list[int]:
        """Roles ``actor`` (default: the bot) may grant: below its top role, unmanaged."""
        top = self.top_position(self.bot_id if actor is None else actor)
        if actor == self.owner_id:
            top = 10**6
        return [
            rid
            for rid, role in self.roles.items()
            if rid != self.guild_id and not role["managed"] and role["position"] < top
        ]

    def channel_ids(self, *types: int) -> list[int]:
        return [cid for cid, ch in self.channels.items() if not types or ch["type"] in types]

    def base_permissions(self, uid: int) -> int:
        """Guild-level permissions (Discord's algorithm): the owner and ADMINISTRATOR get all,
        everyone else the OR of @everyone and their roles. 0 for non-members."""
        member = self.members.get(uid)
        if member is None:
            return 0
        if uid == self.owner_id:
            return ALL_PERMISSIONS
        value = int(self.roles[self.guild_id]["permissions"])
        for rid in member["roles"]:
            if rid in self.roles:
                value |= int(self.roles[rid]["permissions"])
        return ALL_PERMISSIONS if value & _ADMINISTRATOR else value

    def channel_permissions(self, uid: int, cid: int, now_ms: int | None = None) -> int:
        """Permissions in a channel: base, then the @everyone, role and member overwrites.

        A member timed out at ``now_ms`` keeps only VIEW_CHANNEL and READ_MESSAGE_HISTORY
        (owner and administrators are exempt): the value Discord puts in interaction payloads.
        """
        if uid not in self.members:
            return 0
        base = self.base_permissions(uid)
        if base & _ADMINISTRATOR:  # owner and administrators: overwrites and timeouts don't apply
            return base
        overwrites = {int(o["id"]): o for o in self.channels.get(cid, {}).get("permission_overwrites", [])}

        def apply(value: int, allow: int, deny: int) -> int:
            return (value & ~deny) | allow

        value = base
        if (everyone := overwrites.get(self.guild_id)) is not None:
            value = apply(value, int(everyone["allow"]), int(everyone["deny"]))
        allow = deny = 0
        for rid in self.members[uid]["roles"]:
            if (ow := overwrites.get(rid)) is not None and ow["type"] == 0:
                allow, deny = allow | int(ow["allow"]), deny | int(ow["deny"])
        value = apply(value, allow, deny)
        if (own := overwrites.get(uid)) is not None and own["type"] == 1:
            value = apply(value, int(own["allow"]), int(own["deny"]))
        if now_ms is not None and self.timed_out(uid, now_ms):
            value &= _TIMEOUT_KEEPS
        return value

    def timed_out(self, uid: int, now_ms: int) -> bool:
        until = self.members[uid]["communication_disabled_until"]
        return until is not None and dt.datetime.fromisoformat(until).timestamp() * 1000 > now_ms

    def partial_role(self, rid: int) -> JSON:
        return {
            "id": str(rid),
            "name": self.roles[rid]["name"] if rid in self.roles else "deleted-role",
        }

    # ------------------------------------------------------------ state changes (ground truth)

    def add_member_role(self, uid: int, rid: int) -> bool:
        """Give ``uid`` the role; False when nothing changed (not a member, or already has it)."""
        member = self.materialize(uid)
        if member is None or rid in member["roles"] or rid not in self.roles:
            return False
        member["roles"].append(rid)
        return True

    def remove_member_role(self, uid: int, rid: int) -> bool:
        member = self.materialize(uid)
        if member is None or rid not in member["roles"]:
            return False
        member["roles"].remove(rid)
        return True

    def remove_member(self, uid: int) -> bool:
        self.materialize(uid)
        return self.members.pop(uid, None) is not None

    def record(self, entry: dict[str, Any]) -> None:
        """Append an entry to the ground-truth audit log."""
        self.audit_log.append(entry)
        self.entries_by_id[int(entry["id"])] = entry

    # ------------------------------------------------------------------ REST renderers

    def user_object(self, uid: int) -> JSON:
        user = self.users.get(uid)
        return dict(user) if user is not None else self.crowd.user(uid)

    def member_object(self, uid: int, *, with_guild_id: bool = False) -> JSON:
        m = self.members.get(uid)
        if m is None:  # a crowd member: rendered, not kept
            m = self.crowd.member(uid, self.role_id("Members"), self.role_id("Verified"))
        obj: JSON = {
            "user": self.user_object(uid),
            "nick": m["nick"],
            "avatar": None,
            "banner": None,
            "roles": [str(r) for r in m["roles"]],
            "joined_at": m["joined_at"],
            "premium_since": None,
            "deaf": m["deaf"],
            "mute": m["mute"],
            "flags": 0,
            "pending": False,
            "communication_disabled_until": m["communication_disabled_until"],
            "avatar_decoration_data": None,
        }
        if with_guild_id:
            obj["guild_id"] = str(self.guild_id)
        return obj

    def role_objects(self) -> list[JSON]:
        return sorted((dict(r) for r in self.roles.values()), key=lambda r: (r["position"], int(r["id"])))

    def channel_objects(self) -> list[JSON]:
        return [dict(c) for c in self.channels.values()]

    def guild_object(self) -> JSON:
        """GET /guilds/{id}: the guild with roles, emojis and stickers."""
        system, rules = self.core_channels.get("general"), self.core_channels.get("rules")
        afk, modlog = self.core_channels.get("AFK"), self.core_channels.get("mod-log")
        # A deleted channel is no longer the guild's system/rules/afk channel.
        system, rules, afk, modlog = (c if c in self.channels else None for c in (system, rules, afk, modlog))
        return {
            "id": str(self.guild_id),
            "name": self.name,
            "icon": None,
            "icon_hash": None,
            "splash": None,
            "discovery_splash": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": str(afk) if afk else None,
            "afk_timeout": 300,
            "widget_enabled": False,
            "widget_channel_id": None,
            "verification_level": 2,
            "default_message_notifications": 1,
            "explicit_content_filter": 2,
            "roles": self.role_objects(),
            "emojis": [],
            "stickers": [],
            "features": [
                "COMMUNITY",
                "NEWS",
                "AUTO_MODERATION",
                "MEMBER_VERIFICATION_GATE_ENABLED",
            ],
            "mfa_level": 1,
            "application_id": None,
            "system_channel_id": str(system) if system else None,
            "system_channel_flags": 0,
            "rules_channel_id": str(rules) if rules else None,
            "max_presences": None,
            "max_members": 500000,
            "vanity_url_code": None,
            "description": "A simulated server for Audit Console",
            "banner": None,
            "premium_tier": 1,
            "premium_subscription_count": 3,
            "preferred_locale": "en-US",
            "public_updates_channel_id": str(modlog) if modlog else None,
            "max_video_channel_users": 25,
            "max_stage_video_channel_users": 50,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "safety_alerts_channel_id": None,
            "incidents_data": None,
        }

    def gateway_guild_object(self) -> JSON:
        """GUILD_CREATE: the REST guild plus members, channels and the gateway-only fields."""
        obj = self.guild_object()
        total = self.member_total()
        # A large guild's GUILD_CREATE carries the bot's own member (and those in voice: none
        # here), never the member list.
        large = total > LARGE_THRESHOLD
        obj.update(
            joined_at=self.members[self.bot_id]["joined_at"],
            large=large,
            unavailable=False,
            member_count=total,
            members=[
                self.member_object(uid)
                for uid in ([self.bot_id] if large else [*self.members, *self.crowd.ids_after(0)])
            ],
            channels=self.channel_objects(),
            threads=[],
            presences=[],
            voice_states=[],
            stage_instances=[],
            guild_scheduled_events=[],
            soundboard_sounds=[],
        )
        return obj

    def entry_ms(self, entry: dict[str, Any]) -> int:
        return (int(entry["id"]) >> 22) + DISCORD_EPOCH_MS
