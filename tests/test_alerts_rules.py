"""Each alert rule's thresholds, windows and cool-down, fed by hand-made records (the engine is
pure: no store, no clock of its own)."""

from __future__ import annotations

import itertools

import pytest

from console.alerts.engine import AlertEngine
from console.alerts.settings import AlertSettings, Rule
from console.model.entry import parse_entry
from console.model.records import Decision
from console.model.snowflake import from_ms

G = 1_100_000_000_000_000_000
T0 = 1_790_000_000_000  # ms
MIN = 60_000
_serial = itertools.count(1)


class _Ids:
    """Snowflakes of exactly the time asked for (a shared factory would keep later tests' ids
    after earlier tests' times)."""

    @staticmethod
    def make(ms: int) -> int:
        return from_ms(ms) | (next(_serial) & 0x3FFFFF)


ids = _Ids()


def entry(action: int, at_ms: int, *, actor: int = 42, target: object = 7, **extra: object):
    raw = {"id": str(ids.make(at_ms)), "action_type": action, "user_id": str(actor), "target_id": str(target), **extra}
    return parse_entry(raw, G)


def decision(
    at_ms: int, *, result: str = "DENY", code: str = "NO_GRANT", actor: int = 42, capability: str = "roles.grant"
) -> Decision:
    return Decision(
        id=ids.make(at_ms),
        guild_id=G,
        created_at=at_ms,
        actor_id=actor,
        actor_name=None,
        actor_roles=[],
        actor_admin=False,
        actor_owner=False,
        capability=capability,
        resource_type="role",
        resource_id=None,
        source="BOT",
        result=result,
        reason_code=code,
        path=[],
        policy_version="x",
    )


def feed_entries(engine: AlertEngine, times: list[float], action: int = 22) -> list:
    out = []
    for t in times:
        ms = T0 + int(t * MIN)
        out += engine.entry(entry(action, ms), now_ms=ms)
    return out


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        ([0, 0.2, 0.4, 0.6], 0),  # 4 < 5
        ([0, 0.2, 0.4, 0.6, 0.8], 1),  # 5 within 2 minutes
        ([0, 0.5, 1.0, 1.5, 2.5], 0),  # the first fell out of the 2-minute window
        ([0, 0.5, 1.0, 1.5, 1.9, 2.0, 2.1, 2.2, 3, 4, 5, 6], 1),  # one wave, one alert
        ([0, 0.1, 0.2, 0.3, 0.4, 20, 20.1, 20.2, 20.3, 20.4], 2),  # quiet > cool-down: a new wave
        ([0, 0.1, 0.2, 0.3, 0.4, 5, 10, 15, 19, 20, 20.1, 20.2, 20.3], 1),  # never 10 min quiet: same wave
    ],
)
def test_ban_wave_threshold_window_and_cooldown(minutes: list[float], expected: int) -> None:
    alerts = feed_entries(AlertEngine(AlertSettings()), minutes)
    assert [a.rule for a in alerts] == ["ban_wave"] * expected
    if alerts:
        assert alerts[0].severity == "error"
        assert len(alerts[0].record_ids) == 5


def test_kicks_count_with_bans_and_thresholds_are_configurable() -> None:
    engine = AlertEngine(AlertSettings())
    assert len(feed_entries(engine, [0, 0.1, 0.2], 22) + feed_entries(engine, [0.3, 0.4], 20)) == 1
    s = AlertSettings(rules={**AlertSettings().rules, "ban_wave": Rule(count=3, minutes=1)})
    assert len(feed_entries(AlertEngine(s), [0, 0.5, 0.9])) == 1
    assert feed_entries(AlertEngine(s), [0, 0.5, 1.1]) == []
    off = AlertSettings(rules={**AlertSettings().rules, "ban_wave": Rule(enabled=False)})
    assert feed_entries(AlertEngine(off), [0, 0.1, 0.2, 0.3, 0.4, 0.5]) == []


def test_old_history_arriving_in_a_backfill_raises_nothing() -> None:
    engine = AlertEngine(AlertSettings())
    late = T0 + 61 * MIN  # max_age_minutes = 60
    assert [a for t in range(6) for a in engine.entry(entry(22, T0 + t * 1000), now_ms=late)] == []


def perm_change(old: int, new: int) -> dict:
    return {"changes": [{"key": "permissions", "old_value": str(old), "new_value": str(new)}]}


@pytest.mark.parametrize(
    ("action", "extra", "severity"),
    [
        (31, perm_change(0, 8), "error"),  # ADMINISTRATOR on a role
        (30, {"changes": [{"key": "permissions", "new_value": str(1 << 28)}]}, "warning"),  # MANAGE_ROLES, new role
        (
            14,
            {
                "options": {"id": "9", "type": "0"},
                "changes": [{"key": "allow", "old_value": "0", "new_value": str(1 << 4)}],
            },
            "warning",
        ),  # overwrite
        (
            13,
            {"options": {"id": "9", "type": "1"}, "changes": [{"key": "allow", "new_value": str(1 << 13)}]},
            "warning",
        ),
        (31, perm_change(8, 0), None),  # removed, not granted
        (31, perm_change(0, 1 << 10), None),  # VIEW_CHANNEL is not dangerous
        (
            14,
            {"options": {"id": "9", "type": "0"}, "changes": [{"key": "deny", "old_value": "0", "new_value": "8"}]},
            None,
        ),  # a deny is no grant
    ],
)
def test_dangerous_permission(action: int, extra: dict, severity: str | None) -> None:
    e = entry(action, T0, **extra)
    engine = AlertEngine(AlertSettings())
    found = engine.entry(e, now_ms=T0)
    assert [a.severity for a in found] == ([severity] if severity else [])
    assert engine.entry(e, now_ms=T0) == []  # the same record (a replay) never alerts twice


def test_dangerous_permissions_list_is_configurable() -> None:
    only_admin = AlertEngine(AlertSettings(dangerous=frozenset({"ADMINISTRATOR"})))
    assert only_admin.entry(entry(31, T0, **perm_change(0, 1 << 28)), now_ms=T0) == []


def test_bot_added_once_per_entry() -> None:
    engine = AlertEngine(AlertSettings(), name_of=lambda kind, i: "Evil[b]Bot\x1b" if kind == "user" else None)
    e = entry(28, T0, target=99)
    [a] = engine.entry(e, now_ms=T0)
    assert a.rule == "bot_added"
    assert a.record_ids == (e.id,)
    assert "Evil[b]Bot\\x1b (99)" in a.summary  # sanitised: the escape is shown, not sent
    assert engine.entry(e, now_ms=T0) == []


def test_break_glass_activation_and_first_use_of_a_series() -> None:
    engine = AlertEngine(AlertSettings())
    [on] = engine.break_glass_started(G, 42, session_id=5, decision_id=6, expires_ms=T0 + 15 * MIN, now_ms=T0)
    assert on.record_ids == (6,)
    assert "15 min" in on.summary
    assert engine.break_glass_started(G, 42, session_id=5, decision_id=6, expires_ms=T0, now_ms=T0) == []
    uses = [
        a
        for t in (0, 1, 2, 30)
        for a in engine.decision(decision(T0 + t * MIN, result="ALLOW", code="BREAK_GLASS"), now_ms=T0 + t * MIN)
    ]
    assert [a.rule for a in uses] == ["break_glass", "break_glass"]  # first, and again after the cool-down


@pytest.mark.parametrize(
    ("minutes", "actors", "expected"),
    [
        ([0, 1, 2, 3], [1, 1, 1, 1], 0),
        ([0, 1, 2, 3, 4], [1, 1, 1, 1, 1], 1),
        ([0, 1, 2, 3, 6], [1, 1, 1, 1, 1], 0),  # outside 5 minutes
        ([0, 1, 2, 3, 4], [1, 2, 1, 2, 1], 0),  # per person
        ([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9], [1] * 10, 1),
    ],
)
def test_deny_burst(minutes: list[float], actors: list[int], expected: int) -> None:
    engine = AlertEngine(AlertSettings())
    found = [
        a
        for t, who in zip(minutes, actors, strict=True)
        for a in engine.decision(decision(T0 + int(t * MIN), actor=who), now_ms=T0)
    ]
    assert [a.rule for a in found] == ["deny_burst"] * expected


@pytest.mark.parametrize(
    ("minutes", "code", "expected"),
    [
        ([0, 10, 20], "OVERRIDE_ALLOW", 1),
        ([0, 10], "OVERRIDE_ALLOW", 0),
        ([0, 30, 61], "OVERRIDE_ALLOW", 0),  # outside 60 minutes
        ([0, 10, 20], "RBAC_GRANT_ALLOW", 0),  # not an override
    ],
)
def test_override_repeat(minutes: list[int], code: str, expected: int) -> None:
    engine = AlertEngine(AlertSettings())
    found = [a for t in minutes for a in engine.decision(decision(T0 + t * MIN, result="ALLOW", code=code), now_ms=T0)]
    assert [a.rule for a in found] == ["override_repeat"] * expected


@pytest.mark.parametrize(
    ("history_days", "used_before", "code", "expected"),
    [
        (30, False, "RBAC_GRANT_ALLOW", 1),
        (30, True, "RBAC_GRANT_ALLOW", 0),  # used it before
        (13, False, "RBAC_GRANT_ALLOW", 0),  # still learning (14 days)
        (None, False, "RBAC_GRANT_ALLOW", 0),  # no history at all
        (30, False, "DEFAULT_PUBLIC", 0),  # everyone may
    ],
)
def test_first_use_after_the_learning_period(
    history_days: int | None, used_before: bool, code: str, expected: int
) -> None:
    engine = AlertEngine(AlertSettings())
    since = None if history_days is None else T0 - history_days * 86_400_000
    found = engine.decision(
        decision(T0, result="ALLOW", code=code), now_ms=T0, used_before=used_before, history_since_ms=since
    )
    assert [a.rule for a in found] == ["first_use"] * expected
