"""Fixed records for the detail-drawer tests: no clock reads, fixed ids and times."""

from __future__ import annotations

import io
from typing import Any

import orjson
from rich.console import Console, RenderableType

from console.model.records import Attempt, Decision, Gap, RoleChange
from console.model.snowflake import from_ms
from console.model.stored import StoredEntry
from console.ui import details

GUILD = 111_111_111_111_111_111
ALICE, BOB, MALLORY = 2001, 2002, 2003
HELPERS, MUTED, MODS = 3001, 3002, 3003
GENERAL, VOICE = 4001, 4002
T0 = 1_714_566_896_789  # 2024-05-01 12:34:56.789 UTC
NOW = T0 + 5_000

HOSTILE = "[@click=app.quit]x[/] [bold]B[/bold] \x1b]52;c;SGVsbG8=\x07 \x9b2J \u202egnp.exe \u200bz"

NAMES: dict[tuple[str, int], str] = {
    ("user", ALICE): "Alice",
    ("user", BOB): "Bob",
    ("user", MALLORY): HOSTILE,
    ("role", HELPERS): "Helpers",
    ("role", MUTED): "Muted",
    ("role", MODS): "Moderators",
    ("channel", GENERAL): "general",
    ("channel", VOICE): "Voice Lounge",
    ("guild", GUILD): "Test Guild",
}

#: Theme-like styles (hex colours, as console.ui.theming produces).
STYLES: dict[str, str] = {
    "action-role": "#c678dd",
    "action-permission": "#ff9e64",
    "action-moderation": "#ff7b72",
    "action-member": "#61afef",
    "action-unknown": "#c0c0c0",
    "decision-allow": "#7fbf7f",
    "decision-deny": "#ff5f5f",
    "danger": "#ff5f5f",
    "diff-added": "#7fbf7f",
    "diff-removed": "#ff7b72",
    "muted": "#7a8291",
    "gap": "#e5a54b",
}


def name_of(kind: str, ident: int | None) -> str | None:
    return None if ident is None else NAMES.get((kind, ident))


def entry_id(offset_ms: int = 0, low: int = 0) -> int:
    return from_ms(T0 + offset_ms, low)


def stored(
    action_type: int,
    *,
    changes: list[dict[str, Any]] | None = None,
    options: dict[str, Any] | None = None,
    target_id: str | None = None,
    actor_id: int | None = ALICE,
    reason: str | None = None,
    offset_ms: int = 0,
    source: str = "gateway",
    revision: int = 0,
) -> StoredEntry:
    eid = entry_id(offset_ms)
    raw: dict[str, Any] = {
        "id": str(eid),
        "action_type": action_type,
        "user_id": None if actor_id is None else str(actor_id),
        "target_id": target_id,
    }
    if changes is not None:
        raw["changes"] = changes
    if options is not None:
        raw["options"] = options
    if reason is not None:
        raw["reason"] = reason
    return StoredEntry(
        id=eid,
        guild_id=GUILD,
        action_type=action_type,
        actor_id=actor_id,
        target_id=int(target_id) if target_id and target_id.isdigit() else None,
        reason=reason,
        created_at=T0 + offset_ms,
        received_at=T0 + offset_ms + 120,
        source=source,
        raw_json=orjson.dumps(raw).decode(),
        revision=revision,
    )


def perm(*bits: int) -> str:
    return str(sum(1 << b for b in bits))


# -- the records the snapshots show ---------------------------------------------------------------


def role_update() -> StoredEntry:
    # old: VIEW_CHANNEL, SEND_MESSAGES, MENTION_EVERYONE; new: + ADMINISTRATOR, MANAGE_ROLES, bit 53
    return stored(
        31,
        target_id=str(MODS),
        reason="promote for the event",
        changes=[
            {
                "key": "permissions",
                "old_value": perm(10, 11, 17),
                "new_value": perm(3, 10, 11, 28, 53),
            },
            {"key": "name", "old_value": "Mods", "new_value": "Moderators"},
            {"key": "color", "old_value": 0, "new_value": 0xC678DD},
            {"key": "hoist", "old_value": False, "new_value": True},
        ],
    )


def overwrite_update() -> StoredEntry:
    return stored(
        14,
        target_id=str(GENERAL),
        options={"id": str(HELPERS), "type": "0", "role_name": "Helpers"},
        changes=[
            {"key": "allow", "old_value": perm(10), "new_value": perm(10, 11, 13)},
            {"key": "deny", "old_value": perm(17), "new_value": "0"},
        ],
    )


def member_role_update() -> StoredEntry:
    return stored(
        25,
        target_id=str(BOB),
        reason="verified",
        changes=[
            {"key": "$add", "new_value": [{"id": str(HELPERS), "name": "Helpers"}]},
            {"key": "$remove", "new_value": [{"id": str(MUTED), "name": "Muted"}]},
        ],
    )


def timeout_set() -> StoredEntry:
    return stored(
        24,
        target_id=str(BOB),
        reason="spamming links",
        changes=[{"key": "communication_disabled_until", "new_value": "2024-05-02T12:00:00.000000+00:00"}],
    )


def timeout_lifted() -> StoredEntry:
    return stored(
        24,
        target_id=str(BOB),
        changes=[{"key": "communication_disabled_until", "old_value": "2024-05-02T12:00:00.000000+00:00"}],
    )


def decision() -> Decision:
    return Decision(
        id=entry_id(1_000, 0x3E0001),
        guild_id=GUILD,
        created_at=T0 + 1_000,
        actor_id=ALICE,
        actor_name="Alice",
        actor_roles=[HELPERS, MODS],
        actor_admin=False,
        actor_owner=False,
        capability="roles.grant",
        resource_type="role",
        resource_id=MODS,
        source="TUI",
        result="DENY",
        reason_code="DISCORD_GATE_DENIED",
        path=[
            {"step": "break_glass", "found": False},
            {"step": "admin_bypass", "found": False},
            {
                "step": "rbac_grant",
                "found": "grant roles.grant to @Moderators",
                "rule": "grants[2]",
            },
            {
                "step": "discord_gate",
                "found": "missing MANAGE_ROLES",
                "decided": True,
                "needs": "MANAGE_ROLES",
            },
        ],
        policy_version="2024-04-30.1",
    )


def role_change() -> RoleChange:
    rc_id = entry_id(2_000, 0x3E0002)
    return RoleChange(
        id=rc_id,
        guild_id=GUILD,
        member_id=BOB,
        role_id=HELPERS,
        op="grant",
        reason="new helper",
        requested_by=ALICE,
        source="TUI",
        decision_id=entry_id(1_500, 0x3E0003),
        state="pending",
        created_at=T0 - 60_000,
        updated_at=T0 - 8_000,
        next_attempt_at=T0 + 9_000,
        deadline_at=T0 + 540_000,
        attempts=3,
        observed_at=None,
        error="204 but the role is not on the member yet",
        linked_entry_id=None,
        message_id=None,
        cancelled_by=None,
    )


def attempts() -> list[Attempt]:
    rc = role_change().id
    return [
        Attempt(1, rc, T0 - 59_800, 204, 132, "not observed", None),
        Attempt(2, rc, T0 - 30_000, 429, 41, None, "rate limited, retry after 1.2 s"),
        Attempt(3, rc, T0 - 8_000, 204, 97, "GUILD_MEMBER_UPDATE without the role", None),
    ]


def gap() -> Gap:
    return Gap(
        id=entry_id(3_000, 0x3E0004),
        guild_id=GUILD,
        reason="disconnected",
        from_id=from_ms(T0 - 50 * 86_400_000),
        started_at=T0 - 50 * 86_400_000,
        detected_at=T0,
        ended_at=T0 + 62_000,
        status="closed",
        recovered=1234,
        refreshed=5,
        beyond_retention_ms=5 * 86_400_000 + 43_200_000,
    )


# -- rendering helpers ----------------------------------------------------------------------------


def render(record: object, **kw: Any) -> RenderableType:
    kw.setdefault("name_of", name_of)
    kw.setdefault("styles", STYLES)
    kw.setdefault("now_ms", NOW)
    return details.render_record(record, **kw)


def plain(record: object, width: int = 160, **kw: Any) -> str:
    console = Console(record=True, width=width, file=io.StringIO(), color_system=None)
    console.print(render(record, **kw))
    return console.export_text()


def terminal_bytes(record: object, width: int = 120, **kw: Any) -> str:
    """What a real terminal would receive (ANSI codes included)."""
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, color_system="truecolor", width=width)
    console.print(render(record, **kw))
    return out.getvalue()
