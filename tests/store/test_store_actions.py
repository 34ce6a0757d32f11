"""Decisions, break-glass sessions and role changes with their attempts, on both backends: what is
read back equals what was written, the cursors the alert rules read, what the listeners hear, the
chain links (the same on SQLite and PostgreSQL), and a PostgreSQL server gone mid-work (degraded,
then recovered)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from store_helpers import NOW_MS

from console.model.alert import Alert
from console.model.records import Attempt, Decision, RoleChange
from console.model.snowflake import from_ms
from console.sim.testing import eventually
from console.store import AuditStore, IngestResult, Store, StoreError, StoreFullError
from console.store.connection import rows
from console.store.postgres.store import PgStore

BACKENDS = ("sqlite", "postgres")

G, G2 = 1_000_000_000_000_001, 1_000_000_000_000_002
ACTOR, MEMBER, ROLE = 2_000_000_000_000_002, 3_000_000_000_000_003, 4_000_000_000_000_004


def decision(at_ms: int, *, result: str = "ALLOW", gid: int = G, actor: int = ACTOR, low: int = 1) -> Decision:
    return Decision(
        id=from_ms(at_ms) | low,
        guild_id=gid,
        created_at=at_ms,
        actor_id=actor,
        actor_name='mod ✓ "quoted"',
        actor_roles=[ROLE, 9_007_199_254_740_993],  # beyond a double's exact range: stays exact
        actor_admin=True,
        actor_owner=False,
        capability="roles.grant",
        resource_type="role",
        resource_id=ROLE,
        source="TUI",
        result=result,
        reason_code="GRANT" if result == "ALLOW" else "NO_GRANT",
        path=[{"step": "RBAC", "found": "helpers", "decided": result == "ALLOW"}, {"step": "ünï", "n": 2}],
        policy_version="sha256:abc",
    )


def change(at_ms: int, state: str = "pending", *, gid: int = G, low: int = 2, **more: Any) -> RoleChange:
    return RoleChange(
        id=from_ms(at_ms) | low,
        guild_id=gid,
        member_id=MEMBER,
        role_id=ROLE,
        op="grant",
        reason="promotion ✓",
        requested_by=ACTOR,
        source="TUI",
        decision_id=from_ms(at_ms) | 1,
        state=state,
        created_at=at_ms,
        updated_at=at_ms,
        next_attempt_at=at_ms + 1000,
        deadline_at=at_ms + 600_000,
        attempts=0,
        observed_at=None,
        error=None,
        linked_entry_id=None,
        message_id=None,
        cancelled_by=None,
    )._replace(**more)


# -- decisions --------------------------------------------------------------------------------------------


async def test_decisions_read_back_as_written_and_the_cursors_the_alert_rules_read(store: AuditStore) -> None:
    heard: list[IngestResult] = []
    store.add_listener(heard.append)
    assert await store.last_decision_id() == 0
    assert await store.get_decision(1) is None
    assert await store.first_decision_ms(G) is None
    denied = decision(NOW_MS - 3000, result="DENY", low=1)
    allowed = decision(NOW_MS - 2000, low=2)
    again = decision(NOW_MS - 1000, low=3)
    elsewhere = decision(NOW_MS - 500, gid=G2, low=4)
    for d in (denied, allowed, again, elsewhere):
        await store.record_decision(d)
    assert await store.get_decision(allowed.id) == allowed
    assert [(r.guild_ids, r.changed) for r in heard] == [({G}, []), ({G}, []), ({G}, []), ({G2}, [])]

    assert await store.last_decision_id() == elsewhere.id
    assert await store.decisions_after(0) == [denied, allowed, again, elsewhere]
    assert await store.decisions_after(denied.id, limit=2) == [allowed, again]
    assert await store.decisions_after(elsewhere.id) == []
    assert not await store.allowed_before(allowed)  # only a denial came before it
    assert await store.allowed_before(again)
    assert not await store.allowed_before(elsewhere)  # another guild
    assert not await store.allowed_before(decision(NOW_MS, actor=MEMBER, low=5))  # another person
    assert (await store.first_decision_ms(G), await store.first_decision_ms(G2)) == (denied.created_at, NOW_MS - 500)


# -- break glass --------------------------------------------------------------------------------------------


async def test_break_glass_sessions_start_end_and_are_listed_by_cursor(store: AuditStore) -> None:
    assert await store.last_break_glass_id() == 0
    assert await store.break_glass_session(G, ACTOR) is None
    first, second, expired = from_ms(NOW_MS - 9000), from_ms(NOW_MS - 5000), from_ms(NOW_MS - 4000)
    await store.start_break_glass(
        G, ACTOR, session_id=first, started_ms=NOW_MS - 9000, expires_ms=NOW_MS + 60_000, decision_id=None
    )
    await store.start_break_glass(
        G, ACTOR, session_id=second, started_ms=NOW_MS - 5000, expires_ms=NOW_MS, decision_id=7
    )
    await store.start_break_glass(
        G2, ACTOR, session_id=expired, started_ms=NOW_MS - 4000, expires_ms=NOW_MS - 10, decision_id=None
    )
    assert await store.break_glass_session(G, ACTOR) == (NOW_MS - 5000, NOW_MS, None)  # the newest
    assert await store.break_glass_session(G, MEMBER) is None

    # both of G's are running at NOW_MS - 1 (the second expires at NOW_MS); G2's has expired
    assert await store.end_break_glass(G, ACTOR, ended_ms=NOW_MS - 1, ended_by=MEMBER) == 2
    assert await store.end_break_glass(G, ACTOR, ended_ms=NOW_MS, ended_by=MEMBER) == 0
    assert await store.end_break_glass(G2, ACTOR, ended_ms=NOW_MS, ended_by=MEMBER) == 0
    assert await store.break_glass_session(G, ACTOR) == (NOW_MS - 5000, NOW_MS, NOW_MS - 1)
    assert await store.break_glass_session(G2, ACTOR) == (NOW_MS - 4000, NOW_MS - 10, None)

    assert await store.last_break_glass_id() == expired
    assert await store.break_glass_after(first) == [
        (second, G, ACTOR, NOW_MS, 7),
        (expired, G2, ACTOR, NOW_MS - 10, None),
    ]


# -- role changes and attempts -------------------------------------------------------------------------------


async def test_role_changes_move_through_their_states_and_keep_their_attempts(store: AuditStore) -> None:
    heard: list[IngestResult] = []
    store.add_listener(heard.append)
    assert await store.role_change(1) is None
    first, second = change(NOW_MS - 3000, low=1), change(NOW_MS - 2000, low=2, gid=G2)
    for c in (first, second):
        await store.record_role_change(c)
    assert await store.role_change(first.id) == first
    assert await store.pending_role_changes() == [first, second]
    assert await store.pending_role_changes(limit=1) == [first]
    assert await store.unposted_role_changes() == []
    assert [(r.guild_ids, r.changed) for r in heard] == [
        ({G}, [("role_change", first.id)]),
        ({G2}, [("role_change", second.id)]),
    ]

    tries = [
        Attempt(0, first.id, NOW_MS - 2900, 429, 12, None, "rate limited"),
        Attempt(0, first.id, NOW_MS - 2800, 204, 30, "applied", None),
    ]
    for a in tries:
        await store.record_attempt(a)
    found = await store.attempts(first.id)
    assert [a._replace(id=0) for a in found] == tries
    assert found[0].id < found[1].id
    assert await store.attempts(second.id) == []

    confirmed = first.with_(state="confirmed", attempts=2, observed_at=NOW_MS - 2700, message_state="pending")
    await store.record_role_change(confirmed)  # replaces the pending row
    failed_post = second.with_(state="failed", error="HTTP 403", message_state="failed", message_error="no access")
    await store.record_role_change(failed_post)
    assert await store.role_change(first.id) == confirmed
    assert await store.pending_role_changes() == []
    assert await store.unposted_role_changes() == [confirmed, failed_post]
    assert await store.unposted_role_changes(limit=1) == [confirmed]
    await store.record_role_change(confirmed.with_(message_state="posted", message_id="99"))
    assert await store.unposted_role_changes() == [failed_post]
    assert heard[-1].changed == [("role_change", first.id)]


async def test_a_request_is_cancelled_from_outside_only_while_pending(store: AuditStore) -> None:
    pending, done = change(NOW_MS - 3000, low=1), change(NOW_MS - 2000, "confirmed", low=2)
    for c in (pending, done):
        await store.record_role_change(c)
    heard: list[IngestResult] = []
    store.add_listener(heard.append)
    assert await store.cancel_request(pending.id, ACTOR, NOW_MS - 1000, announce=True)
    assert not await store.cancel_request(pending.id, ACTOR, NOW_MS - 500, announce=True)  # once
    assert not await store.cancel_request(done.id, ACTOR, NOW_MS - 500, announce=False)  # final stays
    assert await store.role_change(pending.id) == pending.with_(
        state="cancelled", cancelled_by=ACTOR, updated_at=NOW_MS - 1000, next_attempt_at=None, message_state="pending"
    )
    assert await store.role_change(done.id) == done
    assert await store.pending_role_changes() == []
    assert [(r.guild_ids, r.changed) for r in heard] == [({G}, [("role_change", pending.id)])]
    assert [kind for _, _, kind, record, *_ in await _chain(store) if record == pending.id] == [2]  # linked


# -- the chain: the same links on both backends --------------------------------------------------------------


async def _chain(store: AuditStore) -> list[tuple[Any, ...]]:
    sql = (
        "SELECT guild_id, seq, kind, record_id, revision, at, content_hash, link, note"
        " FROM chain ORDER BY guild_id, seq"
    )
    if isinstance(store, PgStore):
        return [tuple(r) for r in await store.fetch(sql)]
    assert isinstance(store, Store)
    return [tuple(r) for r in await rows(store.reader, sql)]


async def _act(store: AuditStore) -> None:
    """Decisions and a role change's life: pending (no link), confirmed (a link), its message posted
    (bookkeeping: no new link), reverted (a new revision), and a second guild."""
    await store.record_decision(decision(NOW_MS - 5000, result="DENY", low=1))
    await store.record_decision(decision(NOW_MS - 4000, gid=G2, low=2))
    c = change(NOW_MS - 3000)
    await store.record_role_change(c)
    confirmed = c.with_(state="confirmed", attempts=1, observed_at=NOW_MS - 2900, message_state="pending")
    await store.record_role_change(confirmed)
    await store.record_role_change(confirmed.with_(message_state="posted", message_id="99"))
    await store.record_role_change(confirmed.with_(state="reverted", cancelled_by=MEMBER, message_id="99"))
    await store.record_decision(decision(NOW_MS - 1000, low=3))


async def test_decisions_and_final_role_changes_are_linked_once_each(store: AuditStore) -> None:
    await _act(store)
    links = await _chain(store)
    assert [(g, seq, kind, rev) for g, seq, kind, _, rev, *_ in links] == [
        (G, 1, 1, 0),  # the denial
        (G, 2, 2, 0),  # confirmed
        (G, 3, 2, 1),  # reverted: the next revision; the posted message made none
        (G, 4, 1, 0),
        (G2, 1, 1, 0),
    ]


async def test_the_chain_links_are_the_same_on_both_backends(db_path: Path, pg_url: str) -> None:
    chains = []
    for opened in (Store.open(db_path, clock=lambda: NOW_MS), PgStore.open(pg_url, clock=lambda: NOW_MS)):
        async with await opened as store:
            await _act(store)
            chains.append(await _chain(store))
    assert len(chains[0]) == 5
    assert chains[0] == chains[1]  # every hash equal: a store copied between backends verifies the same


# -- PostgreSQL gone mid-work: degraded, then recovered -------------------------------------------------------


async def test_writes_while_the_server_is_gone_fail_in_one_line_and_recover(pg_cluster: Any) -> None:
    store = await PgStore.open(pg_cluster.url, clock=lambda: NOW_MS)
    try:
        heard: list[IngestResult] = []
        states: list[str | None] = []
        store.add_listener(heard.append)
        store.add_write_listener(states.append)
        await store.record_decision(decision(NOW_MS - 5000, low=1))
        gap = await store.open_gap(G, "first-sync", from_id=None, started_at=None)
        pg_cluster.stop()
        writes: list[Callable[[], Awaitable[object]]] = [
            lambda: store.record_decision(decision(NOW_MS - 4000, low=2)),
            lambda: store.record_role_change(change(NOW_MS - 3000, "confirmed")),
            lambda: store.record_attempt(Attempt(0, 1, NOW_MS, 500, 1, None, "x")),
            lambda: store.open_gap(G, "4000", from_id=None, started_at=None),
            lambda: store.close_gap(gap, status="closed", recovered=1),
            lambda: store.set_hwm(G, 5),
            lambda: store.set_live_until([G], NOW_MS),
            lambda: store.save_guild_state(G, {}),
            lambda: store.save_alert(Alert(NOW_MS, "mass_ban", G, "error", "s", ())),
            lambda: store.set_alert_posted(1, "posted"),
            lambda: store.start_break_glass(G, ACTOR, session_id=1, started_ms=0, expires_ms=1, decision_id=None),
            lambda: store.end_break_glass(G, ACTOR, ended_ms=0, ended_by=1),
        ]
        for write in writes:
            with pytest.raises(StoreFullError) as failed:
                await write()
            assert "\n" not in str(failed.value)
            assert "PostgreSQL" in str(failed.value)
        assert store.write_failure is not None
        assert states[-1] == store.write_failure  # told when writes started failing (and why, as it changed)
        assert None not in states
        assert len(heard) == 2  # nothing more committed, nobody told
        with pytest.raises(StoreError):
            await store.last_decision_id()  # reads fail in one line too

        pg_cluster.start()
        retried = decision(NOW_MS - 4000, low=2)

        async def committed() -> bool:
            # The writer reconnects with backoff: until its next try, writes answer the last reason.
            try:
                await store.record_decision(retried)
            except StoreFullError:
                return False
            return True

        await eventually(committed, timeout=15, what="a write after the restart")
        assert store.write_failure is None
        assert states[-1] is None
        assert await store.get_decision(retried.id) == retried
        assert [r[3] for r in await store.fetch("SELECT * FROM chain ORDER BY seq")] == [
            decision(NOW_MS - 5000, low=1).id,
            retried.id,
        ]
        assert len(heard) == 3
        assert await store.gaps() == [gap]
    finally:
        await store.close()
