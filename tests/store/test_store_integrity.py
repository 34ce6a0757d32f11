"""The integrity chain and retention, against real stores (a SQLite file and a PostgreSQL
database: every test here runs on both, but for the file's own damage) and a frozen clock.

Retention never removes a record inside its guild's window, removes every one outside it, and
the chain still verifies afterwards (pruning is itself a link). Edits, deletions and insertions
made behind the console's back are found."""

from __future__ import annotations

import asyncio
import concurrent.futures
import sqlite3
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from backends import BOTH, query
from store_helpers import NOW_MS, OpenStore, note_row, raw_entry, snowflake

from console.config import ConfigError, load
from console.model.filters import Filter
from console.model.location import PgLocation, StoreLocation
from console.model.records import Attempt, Decision, RoleChange
from console.model.retention import DAY_MS, Retention
from console.model.snowflake import from_ms
from console.store import AuditStore, chain
from console.store.postgres import prune as pg_prune
from console.store.postgres.placeholders import numbered
from console.store.postgres.verify import verify_postgres
from console.store.retention import PruneResult, RetentionTask
from console.store.sqlite import prune as sqlite_prune
from console.store.verify import VerifyReport, verify

BACKENDS = BOTH

G1, G2 = 1_000_000_000_000_001, 1_000_000_000_000_002
ACTOR, TARGET, ROLE = 2_000_000_000_000_001, 3_000_000_000_000_001, 4_000_000_000_000_001


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def decision(gid: int, at_ms: int, low: int = 1) -> Decision:
    return Decision(
        id=from_ms(at_ms) | low,
        guild_id=gid,
        created_at=at_ms,
        actor_id=ACTOR,
        actor_name="mod ✓",
        actor_roles=[ROLE],
        actor_admin=False,
        actor_owner=False,
        capability="roles.grant",
        resource_type="role",
        resource_id=ROLE,
        source="TUI",
        result="DENY",
        reason_code="NO_GRANT",
        path=[{"step": "RBAC", "found": "nothing", "decided": True}],
        policy_version="sha256:abc",
    )


def change(gid: int, at_ms: int, state: str = "pending", low: int = 2) -> RoleChange:
    return RoleChange(
        id=from_ms(at_ms) | low,
        guild_id=gid,
        member_id=TARGET,
        role_id=ROLE,
        op="grant",
        reason="promotion",
        requested_by=ACTOR,
        source="TUI",
        decision_id=None,
        state=state,
        created_at=at_ms,
        updated_at=at_ms,
        next_attempt_at=None,
        deadline_at=at_ms + 600_000,
        attempts=1,
        observed_at=None,
        error=None,
        linked_entry_id=None,
        message_id=None,
        cancelled_by=None,
    )


def entry_at(ms: int, low: int, reason: str | None = None) -> dict[str, Any]:
    return raw_entry(snowflake(ms, low), 22, user_id=ACTOR, target_id=TARGET, reason=reason or f"reason {low}")


async def seed_days(store: AuditStore, gid: int, days: list[float], *, low: int = 0) -> list[int]:
    """One entry ``d`` days before NOW_MS for each d, stored oldest first (as backfill does)."""
    raws = [entry_at(NOW_MS - int(d * DAY_MS), low + i) for i, d in enumerate(sorted(days, reverse=True))]
    await store.add_entries(raws, source="backfill", guild_id=gid)
    return [int(r["id"]) for r in raws]


def verify_at(where: StoreLocation) -> VerifyReport:
    """``verify`` of the store at ``where``, as the command runs it on either backend."""
    if isinstance(where, PgLocation):
        return verify_postgres(where.url)
    return verify(where)


def assert_verifies(where: StoreLocation) -> VerifyReport:
    report = verify_at(where)
    assert report.problems == [], report.problems
    return report


def problems(where: StoreLocation) -> list[str]:
    return verify_at(where).problems


def rows_of(where: StoreLocation, sql: str) -> list[tuple[Any, ...]]:
    """A plain query on a connection of its own (from a thread: the test's loop is running)."""
    return _in_thread(query(where, sql))


def ids_in(where: StoreLocation, table: str) -> set[int]:
    return {r[0] for r in rows_of(where, f"SELECT id FROM {table}")}


def edit(where: StoreLocation, *statements: tuple[str, tuple[Any, ...]]) -> None:
    """Statements (``?`` placeholders) made behind the console's back, in one transaction."""
    if isinstance(where, PgLocation):
        _in_thread(_pg_edit(where.url, statements))
        return
    db = sqlite3.connect(where)
    try:
        for sql, args in statements:
            db.execute(sql, args)
        db.commit()
    finally:
        db.close()


async def _pg_edit(url: str, statements: tuple[tuple[str, tuple[Any, ...]], ...]) -> None:
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            for sql, args in statements:
                await conn.execute(numbered(sql), *args)
    finally:
        await conn.close()


def _in_thread(coro: Any) -> Any:
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


# -- the chain ------------------------------------------------------------------------------------


async def test_fresh_store_verifies_and_every_record_is_linked(location: StoreLocation, open_store: OpenStore) -> None:
    store = await open_store(clock=lambda: NOW_MS)
    try:
        await seed_days(store, G1, [1, 2, 3])
        await seed_days(store, G2, [1, 5], low=100)
        await store.record_decision(decision(G1, NOW_MS - 1000))
        await store.record_role_change(change(G1, NOW_MS - 900))  # pending: not linked yet
    finally:
        await store.close()
    report = assert_verifies(location)
    assert report.records == 6
    assert report.guilds == 2
    assert report.links == 6
    assert set(report.heads) == {G1, G2}
    assert "reaches back to" in report.summary()


async def test_in_place_updates_are_new_links_and_verify(location: StoreLocation, open_store: OpenStore) -> None:
    store = await open_store(clock=lambda: NOW_MS)
    raw = entry_at(NOW_MS - DAY_MS, 1, reason="3 messages")
    try:
        await store.add_entries([raw], source="gateway", guild_id=G1)
        for n in (4, 5):
            result = await store.add_entries([{**raw, "reason": f"{n} messages"}], source="backfill", guild_id=G1)
            assert result.updated == [int(raw["id"])]
        assert (await store.add_entries([{**raw, "reason": "5 messages"}], source="backfill", guild_id=G1)).duplicates
    finally:
        await store.close()
    report = assert_verifies(location)
    assert report.links == 3  # revisions 0, 1, 2; the duplicate made none
    edit(location, ("UPDATE audit_revisions SET raw = replace(raw, '3 messages', '30 messages')", ()))
    assert problems(location) == [f"guild {G1}: entry {raw['id']}: its earlier revision 0 was edited"]
    edit(location, ("DELETE FROM audit_revisions WHERE revision = 1", ()))
    assert f"guild {G1}: entry {raw['id']}: its earlier revision 1 was deleted" in problems(location)


async def test_edits_deletions_and_forgeries_are_found(location: StoreLocation, open_store: OpenStore) -> None:
    store = await open_store(clock=lambda: NOW_MS)
    try:
        ids = await seed_days(store, G1, [9, 8, 7, 6, 5, 4, 3, 2, 1])
        d = decision(G1, NOW_MS - 1000)
        await store.record_decision(d)
        c = change(G1, NOW_MS - 900, "confirmed")
        await store.record_role_change(c)
    finally:
        await store.close()
    assert_verifies(location)
    edit(
        location,
        ("UPDATE audit_entries SET reason = 'nothing to see' WHERE id = ?", (ids[0],)),
        ("UPDATE audit_entries SET actor_id = 42 WHERE id = ?", (ids[1],)),
        ("DELETE FROM audit_entries WHERE id = ?", (ids[3],)),
        ("DELETE FROM audit_entries WHERE id IN (?, ?, ?)", tuple(ids[5:8])),
        ("UPDATE decisions SET result = 'ALLOW' WHERE id = ?", (d.id,)),
        ("UPDATE role_changes SET state = 'reverted' WHERE id = ?", (c.id,)),
        (
            "INSERT INTO audit_entries (id, guild_id, action_type, actor_id, target_id, reason, created_at,"
            " received_at, source, raw, content_hash) SELECT id + 1, guild_id, action_type, actor_id, target_id,"
            " 'forged', created_at, received_at, source, raw, content_hash FROM audit_entries WHERE id = ?",
            (ids[8],),
        ),
    )
    found = problems(location)
    p = f"guild {G1}: "
    assert found == [
        p + f"entry {ids[0]} edited after it was stored (reason changed)",
        p + f"entry {ids[1]} edited after it was stored (actor changed)",
        p + f"entry {ids[3]} deleted",
        p + f"3 entries (ids {ids[5]} to {ids[7]}) deleted",
        p + f"entry {ids[8] + 1} is not in the chain (added behind the console's back)",
        p + f"decision {d.id} edited after it was stored (content changed)",
        p + f"role change {c.id} edited after it was stored (content changed)",
    ]


async def test_a_chain_cut_short_or_altered_is_found(location: StoreLocation, open_store: OpenStore) -> None:
    store = await open_store(clock=lambda: NOW_MS)
    try:
        await seed_days(store, G1, [5, 4, 3, 2, 1])
    finally:
        await store.close()
    edit(location, ("UPDATE chain SET at = at + 1 WHERE seq = 2", ()))
    assert problems(location) == [f"guild {G1}: link 2 was altered (it does not follow from link 1)"]
    edit(location, ("UPDATE chain SET at = at - 1 WHERE seq = 2", ()), ("DELETE FROM chain WHERE seq = 3", ()))
    found = problems(location)
    assert found[0] == f"guild {G1}: link 3 missing"
    edit(location, ("DELETE FROM chain WHERE seq > 2", ()))
    found = problems(location)
    assert found[0] == f"guild {G1}: chain truncated after link 2 (its head is link 5)"
    assert f"guild {G1}: 3 entries (ids" in found[1]
    assert found[1].endswith("are not in the chain (added behind the console's back)")


async def test_role_change_final_states_are_linked_once_each(location: StoreLocation, open_store: OpenStore) -> None:
    store = await open_store(clock=lambda: NOW_MS)
    try:
        c = change(G1, NOW_MS - 5000)
        await store.record_role_change(c)
        await store.record_attempt(Attempt(0, c.id, NOW_MS - 4000, 204, 80, "applied", None))
        confirmed = c.with_(
            state="confirmed", observed_at=NOW_MS - 3000, updated_at=NOW_MS - 3000, message_state="pending"
        )
        await store.record_role_change(confirmed)
        await store.record_role_change(confirmed.with_(message_state="posted", message_id="99"))  # bookkeeping
        reverted = confirmed.with_(state="reverted", updated_at=NOW_MS - 1000, error="undone")
        await store.record_role_change(reverted)
        await store.record_role_change(reverted.with_(linked_entry_id=12345))
    finally:
        await store.close()
    assert assert_verifies(location).links == 3  # confirmed, reverted, reverted with its entry
    edit(location, ("DELETE FROM role_change_attempts", ()), ("DELETE FROM role_changes", ()))
    assert problems(location) == [f"guild {G1}: role change {c.id} deleted"]


async def test_records_stored_before_the_chain_are_adopted_on_open(
    location: StoreLocation, open_store: OpenStore
) -> None:
    store = await open_store(clock=lambda: NOW_MS)
    try:
        await seed_days(store, G1, [3, 2, 1])
        await store.record_decision(decision(G1, NOW_MS - 1000))
    finally:
        await store.close()
    # As a store of schema 4 looked after the migration: the tables, no links.
    edit(
        location,
        ("DELETE FROM chain", ()),
        ("DELETE FROM chain_heads", ()),
        ("DELETE FROM meta WHERE key = ?", (chain.STARTED_KEY,)),
    )
    assert "has not been started" in problems(location)[0]
    store = await open_store(clock=lambda: NOW_MS)
    await store.close()
    assert assert_verifies(location).links == 4


@pytest.mark.backends("sqlite")  # the file's own bytes
async def test_verify_reports_a_damaged_file_in_one_line(location: StoreLocation, open_store: OpenStore) -> None:
    store = await open_store(clock=lambda: NOW_MS)
    try:
        for day in range(40):
            await seed_days(store, G1, [day + i / 100 for i in range(50)], low=day * 100)
    finally:
        await store.close()
    size = location.stat().st_size
    with location.open("r+b") as f:
        f.seek(size // 2)
        f.write(b"\xde\xad\xbe\xef" * 2048)
    report = verify(location)
    assert report.damaged
    assert len(report.problems) == 1
    assert "is damaged" in report.problems[0]
    assert "\n" not in report.problems[0]


# -- retention ------------------------------------------------------------------------------------


async def test_retention_removes_everything_outside_the_window_and_nothing_inside(
    location: StoreLocation, open_store: OpenStore
) -> None:
    clock = Clock(NOW_MS)
    store = await open_store(clock=clock)
    window = 30 * DAY_MS
    cutoff = NOW_MS - window
    try:
        days = [400, 120, 31, 30.0001, 29.9999, 10, 1, 0]
        g1 = await seed_days(store, G1, days)
        # The exact edge: one entry made at the cut-off ms (kept), one a millisecond before (removed).
        edge_in, edge_out = entry_at(cutoff, 900), entry_at(cutoff - 1, 901)
        await store.add_entries([edge_out, edge_in], source="backfill", guild_id=G1)
        g2 = await seed_days(store, G2, days, low=200)
        old_d, new_d = decision(G1, NOW_MS - 40 * DAY_MS), decision(G1, NOW_MS - DAY_MS)
        for d in (old_d, new_d):
            await store.record_decision(d)
        old_c = change(G1, NOW_MS - 50 * DAY_MS, "confirmed")
        stuck = change(G1, NOW_MS - 60 * DAY_MS, "pending", low=3)  # not final: never pruned
        new_c = change(G1, NOW_MS - 2 * DAY_MS, "failed")
        for c in (old_c, stuck, new_c):
            await store.record_role_change(c)
        await store.record_attempt(Attempt(0, old_c.id, old_c.created_at, 204, 80, "applied", None))
        old_gap = await store.open_gap(G1, "start", from_id=None, started_at=None)
        await store.close_gap(old_gap, status="recovered", recovered=3)
        # Revisions of an old entry go with it.
        g1_old = dict(entry_at(NOW_MS - 400 * DAY_MS, 0))
        await store.add_entries([{**g1_old, "reason": "edited by Discord"}], source="backfill", guild_id=G1)
        assert_verifies(location)

        retention = Retention(default_days=None, per_guild=((G1, 30),))
        dry = await store.prune(retention, dry_run=True)
        assert [(r.guild_id, r.removed["entries"], r.removed["decisions"], r.removed["role changes"]) for r in dry] == [
            (G1, 5, 1, 1)
        ]
        assert len(ids_in(location, "audit_entries")) == 2 * len(days) + 2  # a dry run removes nothing

        done = await store.prune(retention)
        assert [r.total for r in done] == [7]
    finally:
        await store.close()

    kept = ids_in(location, "audit_entries")
    outside = {i for i in g1 if i < from_ms(cutoff)} | {int(edge_out["id"])}
    inside = {i for i in g1 if i >= from_ms(cutoff)} | {int(edge_in["id"])}
    assert len(outside) == 5
    assert len(inside) == 5
    assert inside <= kept
    assert not (outside & kept)
    assert set(g2) <= kept  # G2 keeps its records forever
    assert ids_in(location, "decisions") == {new_d.id}
    assert ids_in(location, "role_changes") == {stuck.id, new_c.id}
    assert ids_in(location, "role_change_attempts") == set()
    assert ids_in(location, "gaps") == {old_gap.id}  # made "now": inside the window
    assert rows_of(location, "SELECT count(*) FROM audit_revisions") == [(0,)]
    fts_key = "entry_id" if isinstance(location, PgLocation) else "rowid"
    assert {r[0] for r in rows_of(location, f"SELECT {fts_key} FROM audit_fts")} == kept
    report = assert_verifies(location)
    assert report.pruned_before == {G1: cutoff}
    assert "retention removed what was older than" in report.summary()

    # Someone deleting inside the window after a prune is still found.
    victim = min(inside)
    edit(location, ("DELETE FROM audit_entries WHERE id = ?", (victim,)))
    assert problems(location) == [f"guild {G1}: entry {victim} deleted"]


async def test_pruning_again_later_compacts_the_chain_and_still_verifies(
    location: StoreLocation, open_store: OpenStore
) -> None:
    clock = Clock(NOW_MS)
    store = await open_store(clock=clock)
    retention = Retention(default_days=90)
    try:
        await seed_days(store, G1, [float(d) for d in range(200, 0, -1)])
        assert sum(r.total for r in await store.prune(retention)) == 110
        assert_verifies(location)
        # A month later: more arrives, more falls out of the window.
        clock.now = NOW_MS + 30 * DAY_MS
        raws = [entry_at(NOW_MS + d * DAY_MS, 5000 + d) for d in range(1, 30)]
        await store.add_entries(raws, source="gateway", guild_id=G1)
        await store.record_decision(decision(G1, clock.now - 100 * DAY_MS))  # late, already outside
        results = await store.prune(retention)
        assert results[0].removed["entries"] == 30
        assert results[0].removed["decisions"] == 1
        assert await store.kept_since() == clock.now - 90 * DAY_MS
        # A third run finds nothing to do and adds no link.
        assert [r.total for r in await store.prune(retention)] == [0]
    finally:
        await store.close()
    report = assert_verifies(location)
    [(first_seq,)] = rows_of(location, "SELECT min(seq) FROM chain")
    kinds = [r[0] for r in rows_of(location, "SELECT kind FROM chain WHERE kind > 2 ORDER BY seq")]
    # Links of what retention removed went too: the chain now starts at the oldest record kept
    # (1-110 went with the first prune, 111-140 with the second).
    assert first_seq == 141
    assert kinds == [chain.PRUNE, chain.COMPACT] * 2
    assert report.records == 60 + 29  # days 1-60 of the first ones, the 29 new; not the late decision
    edit(location, ("DELETE FROM chain WHERE kind = ?", (chain.COMPACT,)))
    assert any("links 1 to" in line and "missing" in line for line in problems(location))


async def test_a_prune_that_crashed_halfway_still_verifies_and_the_next_one_finishes(
    location: StoreLocation, open_store: OpenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await open_store(clock=lambda: NOW_MS)
    try:
        await seed_days(store, G1, [float(d) for d in range(100, 0, -1)])
        # The power cut between the deletes and the chain's compaction, in the backend's own prune.
        prune_module = pg_prune if isinstance(location, PgLocation) else sqlite_prune

        async def crash(*args: Any) -> None:
            raise RuntimeError("power cut")

        monkeypatch.setattr(prune_module, "_compact", crash)
        with pytest.raises(RuntimeError):
            await store.prune(Retention(30), chunk=7)
        monkeypatch.undo()
        assert_verifies(location)
        assert [r.total for r in await store.prune(Retention(30))] == [0]
    finally:
        await store.close()
    assert_verifies(location)


async def test_retention_task_prunes_on_a_schedule(location: StoreLocation, open_store: OpenStore) -> None:
    store = await open_store(clock=lambda: NOW_MS)
    try:
        await seed_days(store, G1, [100, 1])
        seen: list[list[PruneResult]] = []
        task = RetentionTask(store, Retention(90), interval_s=0.01, first_delay_s=0, on_pruned=seen.append)
        task.start()
        for _ in range(200):
            if task.runs >= 2:
                break
            await asyncio.sleep(0.01)
        await task.stop()
        assert task.runs >= 2
        assert len(seen) == 1
        assert seen[0][0].removed["entries"] == 1
        assert RetentionTask(store, Retention()).start()._task is None  # forever: no task
    finally:
        await store.close()
    assert_verifies(location)


def test_retention_config(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'retention_days = 90\n[retention]\n"{G1}" = 30\n"{G2}" = "forever"\n')
    r = load(cfg).retention
    assert (r.days(G1), r.days(G2), r.days(5_000_000_000_000_000)) == (30, None, 90)
    assert r.cutoff_ms(G1, NOW_MS) == NOW_MS - 30 * DAY_MS
    assert r.cutoff_ms(G2, NOW_MS) is None
    assert r.describe(G2) == "forever"
    assert r.describe(G1) == "30 days"
    assert Retention().forever
    for bad in (
        "retention_days = 45",
        'retention_days = "soon"',
        "retention_days = true",
        '[retention]\n"x" = 30',
        "retention = 5",
    ):
        cfg.write_text(bad + "\n")
        with pytest.raises(ConfigError):
            load(cfg)


async def test_notes_are_linked_and_an_edited_note_is_found(location: StoreLocation, open_store: OpenStore) -> None:
    store = await open_store(clock=lambda: NOW_MS)
    try:
        (entry_id,) = await seed_days(store, G1, [1])
        first = note_row(
            G1, "audit", entry_id, "warned twice before the ban", at_ms=NOW_MS - 500, low=7, actor_id=ACTOR
        )
        await store.add_note(first)
        edited = first._replace(id=first.id + 1, action="edit", supersedes=first.id, text="warned three times")
        await store.add_note(edited)
    finally:
        await store.close()
    assert assert_verifies(location).records == 3  # the entry and both notes
    edit(location, ("UPDATE notes SET text = 'never warned' WHERE id = ?", (first.id,)))
    assert problems(location) == [f"guild {G1}: note {first.id} edited after it was stored (content changed)"]
    edit(location, ("DELETE FROM notes WHERE id = ?", (edited.id,)))
    assert f"guild {G1}: note {edited.id} deleted" in problems(location)


async def test_retention_prunes_notes_with_their_window_and_the_chain_verifies(
    location: StoreLocation, open_store: OpenStore
) -> None:
    store = await open_store(clock=lambda: NOW_MS)
    try:
        old_entry, new_entry = await seed_days(store, G1, [40, 1])
        old = note_row(G1, "audit", old_entry, "raid wave one", at_ms=NOW_MS - 40 * DAY_MS, low=7, actor_id=ACTOR)
        new = note_row(G1, "audit", new_entry, "raid wave two", at_ms=NOW_MS - DAY_MS, low=7, actor_id=ACTOR)
        await store.add_note(old)
        await store.add_note(new)
        (result,) = await store.prune(Retention(default_days=30))
        assert result.removed["notes"] == 1
        assert await store.notes([old_entry, new_entry]) == {new_entry: [new]}
        # Nothing of the pruned note is left to find.
        found = await store.timeline_page(Filter(text="raid"))
        assert [r.id for r in found] == [new_entry]
    finally:
        await store.close()
    assert_verifies(location)
