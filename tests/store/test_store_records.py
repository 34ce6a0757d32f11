"""The store's own records other than decisions and role changes, on both backends: sync state
(high-water marks and live marks that never move back), gaps and what the listeners hear of them,
guild state snapshots, alerts, and the counts a report is made of."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from store_helpers import NOW_MS

from console.model.alert import Alert
from console.model.records import Decision, Gap, RoleChange
from console.model.retention import DAY_MS
from console.model.snowflake import from_ms
from console.store import AuditStore, IngestResult, Store
from console.store.postgres.store import PgStore

BACKENDS = ("sqlite", "postgres")

G, G2 = 1_000_000_000_000_001, 1_000_000_000_000_002
ACTOR, OTHER = 2_000_000_000_000_002, 2_000_000_000_000_003


def _decision(at_ms: int, *, result: str = "ALLOW", actor: int = ACTOR, gid: int = G, low: int = 1) -> Decision:
    return Decision(
        id=from_ms(at_ms) | low,
        guild_id=gid,
        created_at=at_ms,
        actor_id=actor,
        actor_name=f"mod {actor % 10}",
        actor_roles=[7, 8],
        actor_admin=False,
        actor_owner=False,
        capability="roles.grant",
        resource_type="role",
        resource_id=3,
        source="TUI",
        result=result,
        reason_code="GRANT" if result == "ALLOW" else "NO_GRANT",
        path=[],
        policy_version="v1",
    )


def _change(at_ms: int, state: str, *, op: str = "grant", gid: int = G, low: int = 2) -> RoleChange:
    return RoleChange(
        id=from_ms(at_ms) | low,
        guild_id=gid,
        member_id=OTHER,
        role_id=3,
        op=op,
        reason=None,
        requested_by=ACTOR,
        source="TUI",
        decision_id=None,
        state=state,
        created_at=at_ms,
        updated_at=at_ms,
        next_attempt_at=None,
        deadline_at=None,
        attempts=0,
        observed_at=None,
        error=None,
        linked_entry_id=None,
        message_id=None,
        cancelled_by=None,
    )


# -- sync state -------------------------------------------------------------------------------------


async def test_high_water_marks_only_move_forward(store: AuditStore) -> None:
    assert await store.hwm(G) is None
    await store.set_hwm(G, 500)
    await store.set_hwm(G, 300)  # a late, older batch must not move it back
    await store.set_hwm(G2, 10)
    assert (await store.hwm(G), await store.hwm(G2)) == (500, 10)
    await store.set_hwm(G, 900)
    assert await store.hwm(G) == 900


async def test_live_marks_only_move_forward_and_live_beside_the_high_water_mark(store: AuditStore) -> None:
    assert await store.live_until(G) is None
    await store.set_live_until([G, G2], NOW_MS - 1000)
    await store.set_live_until([G], NOW_MS - 5000)
    await store.set_live_until([], NOW_MS)  # nobody: nothing changes
    assert (await store.live_until(G), await store.live_until(G2)) == (NOW_MS - 1000, NOW_MS - 1000)
    assert await store.hwm(G) is None  # a live mark alone says nothing of what was collected
    await store.set_hwm(G, 42)
    await store.set_live_until([G], NOW_MS)
    assert (await store.hwm(G), await store.live_until(G)) == (42, NOW_MS)


# -- gaps ---------------------------------------------------------------------------------------------


async def test_gaps_open_close_and_are_listed_with_what_the_listeners_heard(store: AuditStore) -> None:
    heard: list[IngestResult] = []
    store.add_listener(heard.append)
    first = await store.open_gap(G, "first-sync", from_id=None, started_at=None)
    second = await store.open_gap(G2, "4000", from_id=123, started_at=NOW_MS - 60_000)
    assert first == Gap(first.id, G, "first-sync", None, None, NOW_MS, status="open")
    assert (second.from_id, second.started_at) == (123, NOW_MS - 60_000)
    assert [(r.guild_ids, r.changed) for r in heard] == [({G}, []), ({G2}, [])]
    assert await store.open_gap_count() == 2

    closed = await store.close_gap(first, status="closed", recovered=5, refreshed=1, beyond_retention_ms=3)
    failed = await store.close_gap(second, status="failed", recovered=0, error="HTTP 500")
    assert closed == first.with_(status="closed", recovered=5, refreshed=1, beyond_retention_ms=3, ended_at=NOW_MS)
    assert (failed.error, failed.ended_at) == ("HTTP 500", NOW_MS)
    assert [(r.guild_ids, r.changed) for r in heard[2:]] == [({G}, [("gap", first.id)]), ({G2}, [("gap", second.id)])]

    assert await store.gaps() == [closed, failed]  # as stored, oldest first, ints as ints
    assert await store.gaps(G2) == [failed]
    assert await store.gaps(G2 + 1) == []
    assert await store.open_gap_count() == 1  # a failed recovery still counts: entries may be missing


# -- guild state ----------------------------------------------------------------------------------------


async def test_guild_state_snapshots_are_replaced_and_read_back(store: AuditStore) -> None:
    assert await store.guild_state(G) is None
    assert await store.guild_ids_with_state() == []
    await store.save_guild_state(G2, {"roles": {"3": "helpers"}})
    await store.save_guild_state(G, {"members": {OTHER: {"nick": "ünï ✓"}}, "owner_id": ACTOR})
    await store.save_guild_state(G2, {"roles": {}})
    assert await store.guild_ids_with_state() == [G, G2]
    # integer keys come back as JSON's strings, the same on both backends
    assert await store.guild_state(G) == {"members": {str(OTHER): {"nick": "ünï ✓"}}, "owner_id": ACTOR}
    assert await store.guild_state(G2) == {"roles": {}}


# -- alerts ------------------------------------------------------------------------------------------------


async def test_alerts_keep_every_field_and_list_newest_first_within_the_limit(store: AuditStore) -> None:
    raised = [Alert(NOW_MS - 3000 + n, "mass_ban", G, "error", f"wave {n} ✓", (n, n + 1)) for n in range(3)]
    saved = [await store.save_alert(a) for a in raised]
    assert [s.id for s in saved] == sorted({s.id for s in saved})  # snowflakes of when each was raised
    await store.set_alert_posted(saved[1].id or 0, "HTTP 403: missing access")
    listed = await store.alerts()
    assert listed == [saved[2], replace(saved[1], posted="HTTP 403: missing access"), saved[0]]
    assert await store.alerts(limit=1) == [saved[2]]
    assert await store.alerts(after_id=saved[0].id) == listed[:2]


# -- reports ---------------------------------------------------------------------------------------------


async def _seed_report(store: AuditStore) -> None:
    await store.record_decision(_decision(NOW_MS - 5000, result="DENY", low=1))
    await store.record_decision(_decision(NOW_MS - 4000, result="DENY", low=2))
    await store.record_decision(_decision(NOW_MS - 3000, low=3))
    await store.record_decision(_decision(NOW_MS - 3000, actor=OTHER, low=4))
    await store.record_decision(_decision(NOW_MS - 2000, gid=G2, low=5))
    await store.record_decision(_decision(NOW_MS - 2 * DAY_MS, low=6))  # before the period
    await store.start_break_glass(
        G, ACTOR, session_id=from_ms(NOW_MS - 900), started_ms=NOW_MS - 900, expires_ms=NOW_MS + 9000, decision_id=None
    )
    await store.end_break_glass(G, ACTOR, ended_ms=NOW_MS - 100, ended_by=OTHER)
    await store.start_break_glass(
        G2, OTHER, session_id=from_ms(NOW_MS - 800), started_ms=NOW_MS - 800, expires_ms=NOW_MS + 9000, decision_id=7
    )
    for n, (rule, gid) in enumerate((("mass_ban", G), ("mass_ban", G), ("break_glass", G2), ("new_admin", G))):
        await store.save_alert(Alert(NOW_MS - 700 + n, rule, gid, "warning", "s", ()))
    await store.record_role_change(_change(NOW_MS - 600, "pending", low=1))
    await store.record_role_change(_change(NOW_MS - 500, "confirmed", low=2))
    await store.record_role_change(_change(NOW_MS - 400, "confirmed", op="revoke", low=3))
    await store.record_role_change(_change(NOW_MS - 300, "failed", gid=G2, low=4))
    await store.save_guild_state(G2, {"owner_id": OTHER})
    await store.save_guild_state(G, {"owner_id": ACTOR})


async def test_period_counts_group_every_kind_of_record_by_period_and_guild(store: AuditStore) -> None:
    await _seed_report(store)
    every = await store.period_counts(NOW_MS - DAY_MS, NOW_MS)
    assert (every.entries_by_actor, every.entries_by_type, every.guilds_with_entries) == ([], [], [])
    assert every.decisions == [
        ("ALLOW", "GRANT", "roles.grant", ACTOR, "mod 2", 2),
        ("ALLOW", "GRANT", "roles.grant", OTHER, "mod 3", 1),
        ("DENY", "NO_GRANT", "roles.grant", ACTOR, "mod 2", 2),
    ]
    assert every.break_glass == [
        (ACTOR, NOW_MS - 900, NOW_MS + 9000, NOW_MS - 100, G),
        (OTHER, NOW_MS - 800, NOW_MS + 9000, None, G2),
    ]
    assert every.alerts_recorded
    assert every.alerts_by_rule == [("break_glass", 1), ("mass_ban", 2), ("new_admin", 1)]
    assert every.role_changes == [
        ("confirmed", "grant", 1),
        ("confirmed", "revoke", 1),
        ("failed", "grant", 1),
        ("pending", "grant", 1),
    ]
    assert every.guild_states == [{"owner_id": ACTOR}, {"owner_id": OTHER}]

    one = await store.period_counts(NOW_MS - DAY_MS, NOW_MS, [G2])
    assert [(r[0], r[3], r[5]) for r in one.decisions] == [("ALLOW", ACTOR, 1)]
    assert one.break_glass == [(OTHER, NOW_MS - 800, NOW_MS + 9000, None, G2)]
    assert one.alerts_by_rule == [("break_glass", 1)]
    assert one.role_changes == [("failed", "grant", 1)]
    assert one.guild_states == [{"owner_id": OTHER}]

    later = await store.period_counts(NOW_MS, NOW_MS + DAY_MS)  # the period's end is exclusive
    assert (later.decisions, later.break_glass, later.alerts_by_rule, later.role_changes) == ([], [], [], [])
    assert later.guild_states == every.guild_states  # snapshots are the guilds', not the period's


async def test_a_report_reads_the_same_from_both_backends(db_path: Path, pg_url: str) -> None:
    counts = []
    for opened in (Store.open(db_path, clock=lambda: NOW_MS), PgStore.open(pg_url, clock=lambda: NOW_MS)):
        async with await opened as store:
            await _seed_report(store)
            counts.append(
                [
                    await store.period_counts(NOW_MS - DAY_MS, NOW_MS),
                    await store.period_counts(NOW_MS - 3 * DAY_MS, NOW_MS, [G, G2]),
                ]
            )
    assert counts[0] == counts[1]
