"""details.render_record: every kind of change, decisions, role changes, gaps, hostile text."""

from __future__ import annotations

import re

import pytest
from details_helpers import (
    ALICE,
    BOB,
    GENERAL,
    GUILD,
    HELPERS,
    HOSTILE,
    MALLORY,
    MODS,
    MUTED,
    T0,
    VOICE,
    attempts,
    decision,
    gap,
    member_role_update,
    overwrite_update,
    perm,
    plain,
    render,
    role_change,
    role_update,
    stored,
    terminal_bytes,
    timeout_lifted,
    timeout_set,
)
from rich.console import Group
from rich.text import Text

from console.model.records import Gap


def row(text: str, key: str) -> str:
    """The first rendered line that starts with ``key`` (tables pad cells with spaces)."""
    for line in text.splitlines():
        if line.strip().startswith(key):
            return re.sub(r"\s+", " ", line.strip())
    raise AssertionError(f"no line starting with {key!r} in:\n{text}")


# -- header --------------------------------------------------------------------------------------


def test_header_names_action_time_actor_target_reason_source() -> None:
    out = plain(stored(31, target_id=str(MODS), reason="why not", source="backfill", revision=2))
    assert out.splitlines()[0].startswith("ROLE_UPDATE  role  entry ")
    # Exact UTC time with milliseconds from the snowflake, and the local time (TZ=UTC in tests).
    assert row(out, "Time") == "Time 2024-05-01 12:34:56.789 UTC (5s ago)"
    assert row(out, "Local") == "Local 2024-05-01 12:34:56 UTC"
    assert row(out, "Actor") == f"Actor Alice ({ALICE})"
    assert row(out, "Target") == f"Target @Moderators ({MODS})"
    assert row(out, "Reason") == "Reason why not"
    assert row(out, "Source").startswith("Source backfill received 2024-05-01 12:34:56.909 UTC")
    assert "revision 2" in out


def test_revision_zero_is_not_shown_and_names_fall_back_to_ids() -> None:
    out = plain(stored(22, target_id="987654321", actor_id=55555))
    assert "revision" not in out
    assert row(out, "Actor") == "Actor 55555"
    assert row(out, "Target") == "Target 987654321"


def test_unknown_action_null_target_and_null_reason() -> None:
    out = plain(stored(250, target_id=None, actor_id=None))
    assert out.splitlines()[0].startswith("UNKNOWN (250)  unknown")
    assert row(out, "Target") == "Target — none"
    assert row(out, "Actor") == "Actor — none"
    assert row(out, "Reason") == "Reason no reason given"
    assert "No changes recorded." in out


def test_action_name_is_styled_by_category() -> None:
    rendered = render(role_update())
    assert isinstance(rendered, Group)
    head = rendered.renderables[0]
    assert isinstance(head, Text)
    assert head.plain.startswith("ROLE_UPDATE")
    ansi = terminal_bytes(role_update())
    # action-role #c678dd → 198;120;221, bold
    assert re.search(r"\x1b\[1;38;2;198;120;221mROLE_UPDATE", ansi)


# -- permissions ---------------------------------------------------------------------------------


def test_permission_diff_names_flags_marks_danger_and_keeps_unknown_bits() -> None:
    out = plain(role_update())
    lines = [re.sub(r"\s+", " ", line.strip()) for line in out.splitlines()]
    assert "permissions −MENTION_EVERYONE ⚠ +ADMINISTRATOR ⚠" in lines
    assert "+MANAGE_ROLES ⚠" in lines
    assert "+bit 53" in lines
    # Flags that did not change are not listed.
    assert "VIEW_CHANNEL" not in out
    assert "SEND_MESSAGES" not in out


def test_dangerous_flags_use_the_danger_style() -> None:
    ansi = terminal_bytes(role_update())
    # danger colour #ff5f5f → 255;95;95 right before ADMINISTRATOR
    assert re.search(r"\x1b\[[0-9;]*38;2;255;95;95[0-9;]*m\+ADMINISTRATOR ⚠", ansi)


def test_permission_values_over_64_bits_and_non_numbers() -> None:
    big = str(1 << 70 | 1 << 3)
    out = plain(stored(31, changes=[{"key": "permissions", "old_value": "0", "new_value": big}]))
    assert "+ADMINISTRATOR ⚠" in out
    assert "+bit 70" in out
    out = plain(stored(31, changes=[{"key": "permissions", "old_value": "x", "new_value": "8"}]))
    assert row(out, "permissions") == "permissions x 8"


def test_permissions_on_create_are_all_added() -> None:
    out = plain(stored(30, changes=[{"key": "permissions", "new_value": perm(10, 11)}]))
    assert row(out, "permissions") == "permissions +SEND_MESSAGES"
    assert "+VIEW_CHANNEL" in out


def test_unchanged_permissions_say_so() -> None:
    out = plain(stored(31, changes=[{"key": "permissions", "old_value": "8", "new_value": "8"}]))
    assert row(out, "permissions") == "permissions no change no change"


# -- overwrites ----------------------------------------------------------------------------------


def test_channel_overwrite_entry_shows_target_and_allow_deny_diffs() -> None:
    out = plain(overwrite_update())
    assert out.splitlines()[0].startswith("CHANNEL_OVERWRITE_UPDATE  permission")
    assert row(out, "Target") == f"Target #general ({GENERAL})"
    assert row(out, "Overwrite") == f"Overwrite @Helpers ({HELPERS}) role overwrite"
    assert row(out, "allow") == "allow +MANAGE_MESSAGES ⚠"
    assert "+SEND_MESSAGES" in out
    assert row(out, "deny") == "deny −MENTION_EVERYONE ⚠"
    assert row(out, "role_name") == "role_name Helpers"
    assert row(out, "type") == "type 0 role"


def test_member_overwrite_uses_the_member_name() -> None:
    entry = stored(
        13,
        target_id=str(GENERAL),
        options={"id": str(BOB), "type": "1"},
        changes=[
            {"key": "id", "new_value": str(BOB)},
            {"key": "type", "new_value": 1},
            {"key": "allow", "new_value": perm(10)},
            {"key": "deny", "new_value": "0"},
        ],
    )
    out = plain(entry)
    assert row(out, "Overwrite") == f"Overwrite member Bob ({BOB}) member overwrite"
    assert row(out, "id") == f"id ∅ (created) Bob ({BOB})"
    assert row(out, "type") == "type ∅ (created) 1 member"
    assert row(out, "allow") == "allow +VIEW_CHANNEL"
    assert row(out, "deny") == "deny no change no change"


def test_overwrite_delete_removes_everything() -> None:
    entry = stored(
        15,
        target_id=str(GENERAL),
        options={"id": str(MUTED), "type": "0", "role_name": "Muted"},
        changes=[{"key": "deny", "old_value": perm(11)}, {"key": "allow", "old_value": "0"}],
    )
    out = plain(entry)
    assert row(out, "deny") == "deny −SEND_MESSAGES"
    assert row(out, "Overwrite").startswith(f"Overwrite @Muted ({MUTED})")


def test_channel_permission_overwrites_per_target() -> None:
    entry = stored(
        11,
        target_id=str(GENERAL),
        changes=[
            {
                "key": "permission_overwrites",
                "old_value": [
                    {"id": str(GUILD), "type": 0, "allow": "0", "deny": "0"},
                    {"id": str(MUTED), "type": 0, "allow": "0", "deny": perm(11)},
                ],
                "new_value": [
                    {"id": str(GUILD), "type": 0, "allow": "0", "deny": perm(11)},
                    {"id": str(BOB), "type": 1, "allow": perm(10, 13), "deny": "0"},
                ],
            }
        ],
    )
    out = plain(entry)
    assert row(out, f"overwrite @everyone ({GUILD}) deny") == (f"overwrite @everyone ({GUILD}) deny +SEND_MESSAGES")
    assert row(out, f"overwrite member Bob ({BOB}) allow") == (
        f"overwrite member Bob ({BOB}) allow (created) +MANAGE_MESSAGES ⚠"
    )
    assert "+VIEW_CHANNEL" in out
    assert row(out, f"overwrite @Muted ({MUTED}) deny") == (f"overwrite @Muted ({MUTED}) deny (removed) −SEND_MESSAGES")


# -- roles, timeouts, nick -------------------------------------------------------------------------


def test_member_role_update_names_roles_added_and_removed() -> None:
    out = plain(member_role_update())
    assert row(out, "$add") == f"$add roles added +@Helpers ({HELPERS})"
    assert row(out, "$remove") == f"$remove roles removed −@Muted ({MUTED})"
    assert row(out, "Target") == f"Target Bob ({BOB})"


def test_role_renamed_since_is_noted() -> None:
    entry = stored(
        25,
        target_id=str(BOB),
        changes=[{"key": "$add", "new_value": [{"id": str(MODS), "name": "Mods"}]}],
    )
    assert row(plain(entry), "$add") == f"$add roles added +@Mods ({MODS}) now @Moderators"


def test_timeout_set_and_lifted() -> None:
    out = plain(timeout_set())
    assert row(out, "communication_disabled_until") == (
        "communication_disabled_until ∅ not timed out timeout set until 2024-05-02 12:00:00 UTC"
    )
    out = plain(timeout_lifted())
    assert row(out, "communication_disabled_until") == (
        "communication_disabled_until 2024-05-02 12:00:00 UTC ∅ timeout lifted"
    )


def test_nick_set_changed_and_reset() -> None:
    entry = stored(
        24,
        target_id=str(BOB),
        changes=[{"key": "nick", "old_value": "Bobby"}],
    )
    assert row(plain(entry), "nick") == "nick Bobby ∅ reset"
    entry = stored(24, target_id=str(BOB), changes=[{"key": "nick", "new_value": "Bobby"}])
    assert row(plain(entry), "nick") == "nick ∅ (created) Bobby"
    entry = stored(24, target_id=str(BOB), changes=[{"key": "deaf", "old_value": False, "new_value": None}])
    assert row(plain(entry), "deaf") == "deaf false null"


# -- durations, ids, colours, enums, other values --------------------------------------------------


@pytest.mark.parametrize(
    ("key", "old", "new", "expected"),
    [
        ("rate_limit_per_user", 0, 300, "rate_limit_per_user off (0) 5 min (300 s)"),
        ("afk_timeout", 300, 3600, "afk_timeout 5 min (300 s) 1 h (3600 s)"),
        ("max_age", 86400, 0, "max_age 1 d (86400 s) never (0)"),
        ("auto_archive_duration", 60, 10080, "auto_archive_duration 1 h (60 min) 7 d (10080 min)"),
        (
            "default_auto_archive_duration",
            1440,
            4320,
            "default_auto_archive_duration 1 d (1440 min) 3 d (4320 min)",
        ),
        ("prune_delete_days", 1, 7, "prune_delete_days 1 d 7 d"),
        ("expire_grace_period", 3, 30, "expire_grace_period 3 d 30 d"),
        ("max_uses", 0, 25, "max_uses unlimited (0) 25"),
        (
            "rate_limit_per_user",
            5430,
            90,
            "rate_limit_per_user 1 h 30 min (5430 s) 1 min 30 s (90 s)",
        ),
    ],
)
def test_durations_are_readable(key: str, old: int, new: int, expected: str) -> None:
    entry = stored(11, target_id=str(GENERAL), changes=[{"key": key, "old_value": old, "new_value": new}])
    assert row(plain(entry), key) == expected


def test_snowflake_keys_show_cached_names() -> None:
    entry = stored(
        1,
        target_id=str(GUILD),
        changes=[
            {"key": "owner_id", "old_value": str(ALICE), "new_value": str(BOB)},
            {"key": "afk_channel_id", "new_value": str(VOICE)},
            {"key": "system_channel_id", "old_value": "42", "new_value": str(GENERAL)},
            {"key": "verification_level", "old_value": 1, "new_value": 3},
        ],
    )
    out = plain(entry)
    assert row(out, "Target") == f"Target Test Guild ({GUILD})"
    assert row(out, "owner_id") == f"owner_id Alice ({ALICE}) Bob ({BOB})"
    assert row(out, "afk_channel_id") == f"afk_channel_id ∅ (created) #Voice Lounge ({VOICE})"
    assert row(out, "system_channel_id") == f"system_channel_id 42 #general ({GENERAL})"
    assert row(out, "verification_level") == "verification_level 1 LOW 3 HIGH"


def test_color_as_hex_and_other_values_as_compact_json() -> None:
    entry = stored(
        31,
        changes=[
            {"key": "color", "old_value": 0, "new_value": 0xFF0000},
            {"key": "tags", "old_value": None, "new_value": {"bot_id": "1", "list": [1, 2]}},
            {"key": "topic", "old_value": "a" * 400, "new_value": ""},
        ],
    )
    out = plain(entry, width=800)
    assert row(out, "color") == "color ■ #000000 (default) ■ #ff0000"
    assert row(out, "tags") == 'tags null {"bot_id":"1","list":[1,2]}'
    topic = row(out, "topic")
    assert "a" * 199 + "…" in topic
    assert "a" * 200 not in topic
    assert topic.endswith('""')


def test_application_command_permission_keys() -> None:
    entry = stored(
        121,
        target_id="5001",
        options={"application_id": "6001"},
        changes=[
            {
                "key": str(MODS),
                "old_value": {"id": str(MODS), "type": 1, "permission": True},
                "new_value": {"id": str(MODS), "type": 1, "permission": False},
            },
            {"key": str(BOB), "new_value": {"id": str(BOB), "type": 2, "permission": True}},
            {"key": str(GUILD), "new_value": {"id": str(GUILD), "type": 1, "permission": False}},
            {
                "key": str(GUILD - 1),
                "old_value": {"id": str(GUILD - 1), "type": 3, "permission": True},
            },
        ],
    )
    out = plain(entry, width=240)
    assert out.splitlines()[0].startswith("APPLICATION_COMMAND_PERMISSION_UPDATE")
    assert row(out, f"permission for @Moderators ({MODS})") == (
        f"permission for @Moderators ({MODS}) (role) allowed denied"
    )
    assert row(out, f"permission for Bob ({BOB})") == f"permission for Bob ({BOB}) (user) ∅ (created) allowed"
    assert row(out, "permission for @everyone") == f"permission for @everyone ({GUILD}) (role) ∅ (created) denied"
    assert row(out, "permission for all channels") == (
        f"permission for all channels ({GUILD - 1}) (channel) allowed ∅ removed"
    )
    assert row(out, "application_id") == "application_id 6001"


# -- options -------------------------------------------------------------------------------------


def test_options_are_listed_with_names() -> None:
    out = plain(stored(72, target_id=str(BOB), options={"channel_id": str(GENERAL), "count": "3"}))
    assert row(out, "channel_id") == f"channel_id #general ({GENERAL})"
    assert row(out, "count") == "count 3"
    out = plain(stored(21, options={"delete_member_days": "7", "members_removed": "12"}))
    assert row(out, "delete_member_days") == "delete_member_days 7 days"
    assert row(out, "members_removed") == "members_removed 12"
    out = plain(
        stored(
            143,
            target_id=str(BOB),
            options={
                "channel_id": str(GENERAL),
                "auto_moderation_rule_name": "No invites",
                "auto_moderation_rule_trigger_type": "1",
            },
        )
    )
    assert row(out, "auto_moderation_rule_name") == "auto_moderation_rule_name No invites"
    assert row(out, "auto_moderation_rule_trigger_type") == "auto_moderation_rule_trigger_type 1 KEYWORD"
    for code, name in (
        ("3", "SPAM"),
        ("4", "KEYWORD_PRESET"),
        ("5", "MENTION_SPAM"),
        ("6", "MEMBER_PROFILE"),
    ):
        out = plain(stored(144, options={"auto_moderation_rule_trigger_type": code}))
        assert row(out, "auto_moderation_rule_trigger_type") == f"auto_moderation_rule_trigger_type {code} {name}"
    out = plain(stored(25, target_id=str(BOB), options={"integration_type": "discord"}))
    assert row(out, "integration_type") == "integration_type discord"
    out = plain(stored(192, target_id=str(VOICE), options={"channel_id": str(VOICE), "status": "Raid night"}))
    assert row(out, "status") == "status Raid night"
    assert row(out, "Target") == f"Target #Voice Lounge ({VOICE})"


# -- raw JSON ------------------------------------------------------------------------------------


def test_raw_json_only_on_request_and_pretty_printed() -> None:
    assert "Raw JSON" not in plain(role_update())
    out = plain(role_update(), show_raw=True)
    assert "Raw JSON" in out
    assert '  "action_type": 31,' in out
    assert '      "key": "permissions",' in out


def test_malformed_stored_entry_still_renders() -> None:
    entry = stored(31)
    broken = entry._replace(raw_json="{not json")
    out = plain(broken, show_raw=True)
    assert "ROLE_UPDATE" in out
    assert "Cannot read this entry" in out
    assert "{not json" in out
    noid = entry._replace(raw_json='{"action_type": 31}')
    assert "Cannot read this entry" in plain(noid)


# -- decisions -----------------------------------------------------------------------------------


def test_decision_shows_context_and_marks_the_deciding_step() -> None:
    out = plain(decision())
    assert out.splitlines()[0].startswith("DECISION DENY  DISCORD_GATE_DENIED")
    assert row(out, "Capability") == "Capability roles.grant"
    assert row(out, "Resource") == f"Resource role @Moderators ({MODS})"
    assert row(out, "Source") == "Source TUI"
    assert row(out, "Time").startswith("Time 2024-05-01 12:34:57.789 UTC")
    assert row(out, "Actor") == f"Actor Alice ({ALICE})"
    assert row(out, "Roles") == f"Roles @Helpers ({HELPERS}), @Moderators ({MODS})"
    assert "admin no · owner no" in out
    assert row(out, "Policy") == "Policy 2024-04-30.1"
    assert row(out, "1.") == "1. break_glass → false"
    assert row(out, "3.") == "3. rbac_grant → grant roles.grant to @Moderators"
    assert "rule: grants[2]" in out  # unknown keys rendered generically
    assert row(out, "▶ 4.") == "▶ 4. discord_gate → missing MANAGE_ROLES ◀ decided"
    assert "needs: MANAGE_ROLES" in out
    assert out.count("▶") == 1
    assert out.count("decided") == 1


def test_decision_allow_styles_and_odd_paths() -> None:
    d = decision()
    allow = type(d)(**{**d._asdict(), "result": "ALLOW", "path": ["weird", 3]})
    out = plain(allow)
    assert out.splitlines()[0].startswith("DECISION ALLOW")
    assert row(out, "1.") == "1. weird"
    assert row(out, "2.") == "2. 3"
    empty = type(d)(**{**d._asdict(), "path": [], "actor_admin": True})
    out = plain(empty)
    assert "no steps recorded" in out
    assert "admin yes" in out
    ansi = terminal_bytes(allow)
    assert re.search(r"\x1b\[[0-9;]*38;2;127;191;127[0-9;]*mALLOW", ansi)


# -- role changes --------------------------------------------------------------------------------


def test_role_change_fields_and_attempts_timeline() -> None:
    rc = role_change()
    out = plain(rc, attempts=attempts())
    assert out.splitlines()[0].startswith(f"ROLE CHANGE Grant @Helpers ({HELPERS})  pending")
    assert row(out, "Member") == f"Member Bob ({BOB})"
    assert row(out, "Role") == f"Role @Helpers ({HELPERS})"
    assert row(out, "Op") == "Op Grant"
    assert row(out, "State") == "State pending"
    assert row(out, "Reason") == "Reason new helper"
    assert row(out, "Requested by") == f"Requested by Alice ({ALICE})"
    assert row(out, "Next attempt").endswith("(in 4s)")
    assert row(out, "Deadline").endswith("(in 8m55s)")
    assert row(out, "Attempts") == "Attempts 3"
    assert row(out, "Error") == "Error 204 but the role is not on the member yet"
    assert row(out, "Decision").startswith(f"Decision decision {rc.decision_id}")
    assert row(out, "Audit entry") == "Audit entry none"
    assert "UTC 2024-05-01" in row(out, "#")
    assert row(out, "1 ") == "1 12:33:56.989 204 132 ms not observed"
    assert row(out, "2 ") == "2 12:34:26.789 429 41 ms rate limited, retry after 1.2 s"
    assert row(out, "3 ") == "3 12:34:48.789 204 97 ms GUILD_MEMBER_UPDATE without the role"


def test_final_role_change_and_no_attempts() -> None:
    rc = role_change()
    done = type(rc)(
        **{
            **rc._asdict(),
            "op": "revoke",
            "state": "confirmed",
            "observed_at": T0,
            "linked_entry_id": 1234567890123456789,
            "message_id": "999",
            "message_state": "posted",
            "error": None,
        }
    )
    out = plain(done)
    assert "ROLE CHANGE Revoke" in out
    assert "Next attempt" not in out
    assert row(out, "Observed").startswith("Observed 2024-05-01 12:34:56.789 UTC")
    assert row(out, "Audit entry").startswith("Audit entry entry 1234567890123456789")
    assert row(out, "Audit message") == "Audit message posted (message 999)"
    assert "no attempts yet" in out
    failed = type(rc)(**{**done._asdict(), "message_state": "failed", "message_error": "404: Unknown Channel"})
    assert row(plain(failed), "Audit message") == "Audit message not posted, retrying: 404: Unknown Channel"


# -- gaps ----------------------------------------------------------------------------------------


def test_gap_explains_recovery_and_retention() -> None:
    out = plain(gap(), width=200)
    assert out.splitlines()[0].startswith("GAP  closed")
    assert (
        "not connected (disconnected): backfill recovered 1234 entries, refreshed 5; "
        "5.5 days are older than Discord's 45-day retention and cannot be recovered"
    ) in out
    assert row(out, "Reason") == "Reason disconnected"
    assert row(out, "From") == "From 2024-03-12 12:34:56.789 UTC (50d ago)"
    assert row(out, "after entry") == f"after entry {gap().from_id}"
    assert row(out, "Ended").startswith("Ended 2024-05-01 12:35:58.789 UTC")
    assert row(out, "Recovered") == "Recovered 1234 entries"
    assert row(out, "Refreshed") == "Refreshed 5 entries"
    assert row(out, "Lost") == "Lost 5.5 days beyond Discord's 45-day retention: cannot be recovered"


def test_open_gap_within_retention() -> None:
    g = Gap(id=1, guild_id=GUILD, reason="first-sync", from_id=None, started_at=None, detected_at=T0)
    out = plain(g)
    assert "first sync: backfilling…" in out
    assert row(out, "Ended") == "Ended still open"
    assert row(out, "From") == "From the beginning (nothing stored yet)"
    assert "within Discord's 45-day retention" in out
    failed = g.with_(status="failed", error="HTTP 403")
    out = plain(failed)
    assert "backfill failed: HTTP 403" in out
    assert row(out, "Error") == "Error HTTP 403"


# -- styles and odd inputs -------------------------------------------------------------------------


def test_missing_or_broken_styles_fall_back() -> None:
    for styles in ({}, {"danger": "not a style at all ((", "muted": "", "action-role": "$primary"}):
        out = plain(role_update(), styles=styles)
        assert "+ADMINISTRATOR ⚠" in out


def test_name_of_that_raises_is_tolerated() -> None:
    def boom(kind: str, ident: int | None) -> str | None:
        raise RuntimeError("cache gone")

    out = plain(member_role_update(), name_of=boom)
    assert row(out, "Target") == f"Target {BOB}"


def test_unsupported_record() -> None:
    assert "Nothing to show for a int." in plain(42)


def test_no_clock_means_no_relative_times() -> None:
    out = plain(role_change(), now_ms=None)
    assert " ago" not in out
    assert "(in " not in out


# -- hostile text --------------------------------------------------------------------------------

FORBIDDEN = ("\x1b]", "\x07", "\x9b", "\u202e", "\u200b")


def hostile_records() -> list[object]:
    h = HOSTILE
    entries = [
        stored(
            24,
            target_id=str(MALLORY),
            reason=h,
            changes=[{"key": "nick", "old_value": h, "new_value": h}],
        ),
        stored(
            25,
            target_id=str(MALLORY),
            changes=[{"key": "$add", "new_value": [{"id": str(HELPERS), "name": h}]}],
        ),
        stored(
            14,
            target_id=str(GENERAL),
            options={"id": str(HELPERS), "type": "0", "role_name": h},
            changes=[{"key": "allow", "old_value": "0", "new_value": "8"}],
        ),
        stored(
            143,
            target_id=str(MALLORY),
            options={"auto_moderation_rule_name": h, "channel_id": str(GENERAL)},
        ),
        stored(192, options={"status": h, "channel_id": str(VOICE)}),
        stored(
            11,
            target_id=str(GENERAL),
            changes=[
                {"key": "topic", "old_value": None, "new_value": h},
                {"key": h, "old_value": [h], "new_value": {h: h}},
            ],
        ),
    ]
    d = decision()
    dec = type(d)(
        **{
            **d._asdict(),
            "actor_id": MALLORY,
            "actor_name": h,
            "path": [{"step": h, "found": h, "decided": True, h: h}],
            "reason_code": h,
        }
    )
    rc = role_change()
    rch = type(rc)(
        **{
            **rc._asdict(),
            "member_id": MALLORY,
            "reason": h,
            "error": h,
            "state": h,
            "message_id": h,
        }
    )
    g = gap().with_(reason=h, error=h, status="failed")
    return [*entries, dec, rch, g]


@pytest.mark.parametrize("index", range(9))
def test_hostile_text_is_inert_and_visible(index: int) -> None:
    record = hostile_records()[index]
    kw = {"attempts": [a.__class__(9, 1, T0, 500, 1, HOSTILE, HOSTILE) for a in attempts()[:1]]}
    ansi = terminal_bytes(record, width=400, show_raw=True, **kw)
    for bad in FORBIDDEN:
        assert bad not in ansi, f"{bad!r} reached the terminal"
    # Only Rich's own SGR sequences may carry ESC: every ESC starts "ESC [ … m".
    assert re.sub(r"\x1b\[[0-9;]*m", "", ansi).count("\x1b") == 0
    text = plain(record, width=400, show_raw=True, **kw)
    assert "[@click=app.quit]x[/]" in text
    assert "[bold]B[/bold]" in text
    assert "<U+202E>" in text
    assert "<U+200B>" in text
    assert "\\x9b" in text


def test_hostile_text_in_raw_json_is_escaped() -> None:
    entry = stored(22, target_id=str(MALLORY), reason=HOSTILE)
    text = plain(entry, width=400, show_raw=True)
    raw_part = text[text.index("Raw JSON") :]
    # orjson escapes C0 controls; the sanitiser makes C1, bidi and zero-width visible.
    assert "\\u001b]52;c;SGVsbG8=\\u0007" in raw_part
    assert "\\x9b2J" in raw_part
    assert "<U+202E>gnp.exe" in raw_part
    assert "<U+200B>z" in raw_part
    ansi = terminal_bytes(entry, width=400, show_raw=True)
    assert not any(bad in ansi for bad in FORBIDDEN)


def test_renderables_are_never_markup() -> None:
    # A name that is valid markup must come out with its brackets, not as styles or links.
    rendered = render(stored(24, target_id=str(MALLORY), reason="[link=https://x]y[/link]"))
    ansi = terminal_bytes(stored(24, target_id=str(MALLORY), reason="[link=https://x]y[/link]"))
    assert "\x1b]8;" not in ansi  # no OSC 8 hyperlink
    assert isinstance(rendered, Group)


def test_local_time_uses_the_given_zone() -> None:
    import datetime as dt

    tz = dt.timezone(dt.timedelta(hours=2), "CEST")
    out = plain(role_update(), tz=tz)
    assert row(out, "Time") == "Time 2024-05-01 12:34:56.789 UTC (5s ago)"
    assert row(out, "Local") == "Local 2024-05-01 14:34:56 CEST"
    out = plain(role_change(), tz=tz)
    assert row(out, "Created") == "Created 2024-05-01 12:33:56.789 UTC (1m5s ago) · local 14:33:56 CEST"
    late = dt.timezone(dt.timedelta(hours=-14), "X")
    out = plain(role_change(), tz=late)
    assert row(out, "Created").endswith("· local 2024-04-30 22:33:56 X")


def test_a_decision_from_the_engine_shows_its_gate_steps() -> None:
    """A real engine decision: the deciding step marked, the resolver's steps as bullet lines,
    no raw ``outcome`` keys."""
    from console.policy.document import parse_policy
    from console.policy.engine import Request, evaluate
    from console.policy.gatekeeper import to_decision
    from console.policy.guild import GuildSnapshot

    g = GuildSnapshot.from_rest(
        {
            "guild": {
                "id": str(GUILD),
                "name": "g",
                "owner_id": "1",
                "roles": [
                    {"id": str(GUILD), "name": "@everyone", "position": 0, "permissions": "1024"},
                    {"id": str(HELPERS), "name": "Helpers", "position": 2, "permissions": "0"},
                ],
            },
            "members": [{"user": {"id": str(ALICE), "username": "alice"}, "roles": [str(HELPERS)]}],
        }
    )
    policy = parse_policy(f'[[grants]]\nrole = "{HELPERS}"\ncapability = "roles.grant"\neffect = "ALLOW"\n'.encode())
    request = Request(ALICE, "roles.grant", "role", HELPERS, None, HELPERS)
    verdict = evaluate(policy, g, request, now_ms=T0)
    out = plain(to_decision(GUILD, T0, 1_300_000_000_000_000_000, request, verdict, "BOT"))
    assert "DECISION DENY  DISCORD_GATE_DENIED" in out
    assert re.search(r"5\.\s+discord_gate → lacks MANAGE_ROLES guild-wide\s+◀ decided", out)
    assert "· roles @everyone, @Helpers give VIEW_CHANNEL" in out
    assert "outcome" not in out
