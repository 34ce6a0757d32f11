"""What ``doctor`` checks, and the invite URL's permissions. Pure: given what Discord answered
(:class:`Facts`, gathered by console.discord.probe), a list of :class:`Check` results, each one
line with the fix when it fails. Permissions are computed with the console's own resolver, so
``doctor`` and the policy's Discord gate can never disagree about what the bot holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from console.model.permissions import flag_value
from console.model.sanitize import safe_text
from console.policy.guild import GuildSnapshot, SnapshotError
from console.policy.resolver import (
    ADMINISTRATOR,
    UnknownChannel,
    UnknownMember,
    can_manage_role,
    resolve,
    role_rank,
    top_rank,
)

#: The permissions the console uses, each with what for: the invite asks for exactly these.
PERMISSIONS: Final[tuple[tuple[str, str], ...]] = (
    ("VIEW_AUDIT_LOG", "read the audit log (the feed, backfills)"),
    ("MANAGE_ROLES", "grant and revoke roles for moderators"),
    ("VIEW_CHANNEL", "see the audit channel"),
    ("SEND_MESSAGES", "post role changes, alerts and reports to the audit channel"),
)
INVITE_PERMISSIONS: Final = sum(flag_value(name) for name, _ in PERMISSIONS)
SCOPES: Final = ("bot", "applications.commands")

#: Application flags (application.mdx): the Server Members Intent toggle, on for an app in
#: under 100 servers (GATEWAY_GUILD_MEMBERS_LIMITED) or a verified one (GATEWAY_GUILD_MEMBERS).
GATEWAY_GUILD_MEMBERS: Final = 1 << 14
GATEWAY_GUILD_MEMBERS_LIMITED: Final = 1 << 15

TOKEN_REJECTED: Final = "the token was rejected: reset it in the Developer Portal"
INTENT_OFF: Final = "enable Server Members Intent under Bot → Privileged Gateway Intents"

_VIEW, _SEND = flag_value("VIEW_CHANNEL"), flag_value("SEND_MESSAGES")
_MANAGE_ROLES = flag_value("MANAGE_ROLES")
_SHOWN_ROLES = 8  # names listed in a line before "…and N more"


def invite_url(application_id: int) -> str:
    scopes = "%20".join(SCOPES)
    return (
        f"https://discord.com/oauth2/authorize?client_id={application_id}"
        f"&scope={scopes}&permissions={INVITE_PERMISSIONS}"
    )


@dataclass(frozen=True, slots=True)
class Check:
    ok: bool
    text: str

    def line(self) -> str:
        return f"{'✓' if self.ok else '✗'} {self.text}"


@dataclass(frozen=True, slots=True)
class GuildFacts:
    """One guild as the bot sees it over REST."""

    guild_id: int
    #: ``{"guild", "channels", "members": [the bot's member]}`` as REST returns them; None when
    #: the bot is not in the guild.
    state: Mapping[str, Any] | None
    #: Why the guild could not be read (Discord's answer), when ``state`` is None.
    missing: str = ""
    #: None when the guild's commands could be read (so they can be registered), else Discord's
    #: answer (403 Missing Access: the bot was added without the applications.commands scope).
    commands_error: str | None = None
    #: Channels the console posts to in this guild: (what, channel id), e.g. ("the audit
    #: channel", 123).
    postings: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Facts:
    token_ok: bool
    application: Mapping[str, Any] = field(default_factory=dict)
    bot_id: int = 0
    guilds: Sequence[GuildFacts] = ()
    #: Channels not tied to one guild (the config's alerts or reports channel): checked in the
    #: guild that has them.
    shared_postings: tuple[tuple[str, int], ...] = ()


def run_checks(facts: Facts, *, now_ms: int) -> list[Check]:
    """Every check, in order. A rejected token stops there (nothing else can be asked)."""
    if not facts.token_ok:
        return [Check(False, TOKEN_REJECTED)]
    app_name = safe_text(facts.application.get("name") or "?", 100)
    out = [Check(True, f"the token is accepted (application {app_name}, id {facts.application.get('id')})")]
    out.append(intent_check(facts.application))
    if not facts.guilds:
        out.append(Check(False, "the bot is in no guild: add it with the URL `audit-console invite-url` prints"))
    shared = list(facts.shared_postings)
    for g in facts.guilds:
        out.extend(guild_checks(g, facts.bot_id, now_ms=now_ms, shared=shared))
    for what, channel_id in shared:  # left over: in none of the guilds checked
        out.append(Check(False, f"{what} {channel_id} is in none of the guilds checked: set an existing channel"))
    return out


def intent_check(application: Mapping[str, Any]) -> Check:
    flags = application.get("flags")
    flags = flags if isinstance(flags, int) and not isinstance(flags, bool) else 0
    if flags & (GATEWAY_GUILD_MEMBERS | GATEWAY_GUILD_MEMBERS_LIMITED):
        return Check(True, "the Server Members Intent is enabled")
    return Check(False, f"the Server Members Intent is off: {INTENT_OFF}")


def guild_checks(g: GuildFacts, bot_id: int, *, now_ms: int, shared: list[tuple[str, int]]) -> list[Check]:
    """The checks of one guild; ``shared`` postings found in this guild are checked and removed."""
    if g.state is None:
        why = f" ({g.missing})" if g.missing else ""
        return [
            Check(
                False,
                f"guild {g.guild_id}: the bot is not in it{why}: add it with the URL `audit-console invite-url` prints",
            )
        ]
    try:
        snap = GuildSnapshot.from_rest(dict(g.state))
    except SnapshotError as e:
        return [Check(False, f"guild {g.guild_id}: Discord's answer could not be read: {e}")]
    where = f"guild {safe_text(snap.name, 100) or g.guild_id}"
    if bot_id not in snap.members:
        return [
            Check(
                False,
                f"{where} ({g.guild_id}): the bot is not in it: add it with the URL `audit-console invite-url` prints",
            )
        ]
    out = [Check(True, f"{where} ({g.guild_id}): the bot is in it")]
    held = resolve(snap, bot_id, now_ms=now_ms, explain=False).permissions
    for name in ("VIEW_AUDIT_LOG", "MANAGE_ROLES"):
        out.append(_permission_check(snap, bot_id, held, name, where))
    out.append(_hierarchy_check(snap, bot_id, where))
    if g.commands_error is None:
        out.append(Check(True, f"{where}: slash commands can be registered"))
    else:
        out.append(
            Check(
                False,
                f"{where}: slash commands cannot be registered ({g.commands_error}): add the bot again "
                "with the URL `audit-console invite-url` prints (scope applications.commands)",
            )
        )
    postings = list(g.postings) + [p for p in shared if p[1] in snap.channels]
    for p in postings:
        if p in shared:
            shared.remove(p)
        out.append(_channel_check(snap, bot_id, p[0], p[1], where, now_ms))
    return out


def _role(snap: GuildSnapshot, role_id: int) -> str:
    role = snap.roles.get(role_id)
    if role is None or not role.name:
        return f"role {role_id}"
    name = safe_text(role.name, 100)
    return name if name.startswith("@") else f"@{name}"


def _bot_roles(snap: GuildSnapshot, bot_id: int) -> list[int]:
    known = [r for r in snap.members[bot_id].roles if r in snap.roles and r != snap.id]
    return sorted(known, key=lambda r: role_rank(snap, r), reverse=True)


def _permission_check(snap: GuildSnapshot, bot_id: int, held: int, name: str, where: str) -> Check:
    bit = flag_value(name)
    roles = _bot_roles(snap, bot_id)
    givers = [r for r in [snap.id, *roles] if snap.roles.get(r) and snap.roles[r].permissions & (bit | ADMINISTRATOR)]
    if held & bit:
        if bot_id == snap.owner_id:
            return Check(True, f"{where}: {name} (the bot owns the server)")
        via = ", ".join(
            _role(snap, r) + ("" if snap.roles[r].permissions & bit else " (ADMINISTRATOR)") for r in givers
        )
        return Check(True, f"{where}: {name} from {via}")
    mine = ", ".join(_role(snap, r) for r in roles) or "only @everyone"
    target = _role(snap, roles[0]) if roles else "a role of the bot"
    return Check(
        False,
        f"{where}: the bot lacks {name} (none of its roles gives it: {mine}): "
        f"give {target} {name} under Server Settings → Roles, or add the bot again with "
        "the URL `audit-console invite-url` prints",
    )


def _names(snap: GuildSnapshot, role_ids: list[int]) -> str:
    shown = ", ".join(_role(snap, r) for r in role_ids[:_SHOWN_ROLES])
    more = len(role_ids) - _SHOWN_ROLES
    return shown + (f" …and {more} more" if more > 0 else "")


def _hierarchy_check(snap: GuildSnapshot, bot_id: int, where: str) -> Check:
    """Which roles the bot can grant. The roles it should be able to grant are those people can
    grant through it: below the highest role that gives MANAGE_ROLES (or ADMINISTRATOR) to
    people (integration roles belong to bots and are left out); it fails when one is out of
    the bot's reach."""
    others = sorted((r for r in snap.roles if r != snap.id), key=lambda r: role_rank(snap, r), reverse=True)
    managers = [
        r for r in others if not snap.roles[r].managed and snap.roles[r].permissions & (_MANAGE_ROLES | ADMINISTRATOR)
    ]
    ceiling = role_rank(snap, managers[0]) if managers else 0
    can: list[int] = []
    cannot: list[int] = []
    managed: list[int] = []
    for r in others:
        if snap.roles[r].managed:
            managed.append(r)
        elif can_manage_role(snap, bot_id, r)[0]:
            can.append(r)
        else:
            cannot.append(r)
    should = [r for r in cannot if role_rank(snap, r) < ceiling]
    top = top_rank(snap, bot_id)
    top_role = next((r for r in others if role_rank(snap, r) == top), None)
    mine = f"{_role(snap, top_role)} (position {snap.roles[top_role].position})" if top_role else "@everyone"
    if should:
        return Check(
            False,
            f"{where}: the bot cannot grant {_names(snap, should)} (roles moderators can grant): its highest "
            f"role {mine} is not above them: drag {_role(snap, top_role) if top_role else 'its role'} above "
            "them under Server Settings → Roles",
        )
    text = f"{where}: the bot can grant {len(can)} roles below its highest role {mine}"
    if can:
        text += f": {_names(snap, can)}"
    above = [r for r in cannot if r not in should]
    notes: list[str] = []
    if above:
        notes.append(f"not {_names(snap, above)} (not below it)")
    if managed:
        notes.append(f"nor {_names(snap, managed)} (managed by an integration)")
    if notes:
        text += "; " + ", ".join(notes)
    return Check(True, text)


def _channel_check(snap: GuildSnapshot, bot_id: int, what: str, channel_id: int, where: str, now_ms: int) -> Check:
    channel = snap.channels.get(channel_id)
    if channel is None:
        return Check(False, f"{where}: {what} {channel_id} does not exist there: set an existing channel")
    name = f"#{safe_text(channel.name, 100)}" if channel.name else f"channel {channel_id}"
    try:
        p = resolve(snap, bot_id, channel_id, now_ms=now_ms, explain=False).permissions
    except (UnknownChannel, UnknownMember) as e:
        return Check(False, f"{where}: {what} {name} cannot be checked: {e}")
    lacking = [n for n, bit in (("VIEW_CHANNEL", _VIEW), ("SEND_MESSAGES", _SEND)) if not p & bit]
    if not lacking:
        return Check(True, f"{where}: {what} {name} is writable")
    return Check(
        False,
        f"{where}: {what} {name} is not writable: the bot lacks {' and '.join(lacking)} there: "
        f"allow View Channel and Send Messages for the bot in {name}'s permissions",
    )
