"""Retention on both backends: the same records pruned with the same window and clock leave the
same rows and the very same chain (prune and compact links, hashes and all) on SQLite and
PostgreSQL, both verify, and they agree on how far back they reach.

The records are stored through the SQLite store's interface and copied row for row into the
PostgreSQL database (as ``audit-console migrate`` does)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import asyncpg
from store_helpers import NOW_MS, copy_to_postgres, raw_entry, snowflake

from console.model.records import Attempt, Decision, RoleChange
from console.model.retention import DAY_MS, Retention
from console.model.snowflake import from_ms
from console.store import AuditStore, IngestResult, Store
from console.store.postgres.store import PgStore
from console.store.postgres.verify import verify_postgres
from console.store.verify import verify

G1, G2 = 1_000_000_000_000_001, 1_000_000_000_000_002
ACTOR, TARGET, ROLE = 2_000_000_000_000_001, 3_000_000_000_000_001, 4_000_000_000_000_001
TABLES = ("audit_entries", "audit_revisions", "decisions", "role_changes", "role_change_attempts", "gaps", "alerts")


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def _decision(gid: int, at_ms: int, low: int) -> Decision:
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


def _change(gid: int, at_ms: int, state: str, low: int) -> RoleChange:
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


async def _fill(store: AuditStore, clock: Clock) -> None:
    """Entries, decisions, role changes (final and pending) with attempts, gaps and a revision,
    from 200 days ago to now, in two guilds."""
    for gid, low in ((G1, 0), (G2, 1000)):
        raws = [
            raw_entry(snowflake(NOW_MS - d * DAY_MS, low + d), 22, user_id=ACTOR, target_id=TARGET, reason=f"r{d}")
            for d in range(200, -1, -3)
        ]
        await store.add_entries(raws, source="backfill", guild_id=gid)
        await store.add_entries([{**raws[0], "reason": "edited by Discord"}], source="gateway", guild_id=gid)
        for n, days in enumerate((150, 45, 2)):
            await store.record_decision(_decision(gid, NOW_MS - days * DAY_MS, low + n + 1))
        for n, (days, state) in enumerate(((120, "confirmed"), (100, "pending"), (70, "reverted"), (1, "failed"))):
            c = _change(gid, NOW_MS - days * DAY_MS, state, low + n + 10)
            await store.record_role_change(c)
            await store.record_attempt(Attempt(0, c.id, c.created_at, 204, 80, "applied", None))
        for days in (90, 10):
            clock.now = NOW_MS - days * DAY_MS
            gap = await store.open_gap(gid, "gateway reconnect", from_id=None, started_at=None)
            await store.close_gap(gap, status="recovered", recovered=1)
    clock.now = NOW_MS


def _sqlite_rows(path: Path) -> dict[str, Any]:
    db = sqlite3.connect(path)
    try:
        found: dict[str, Any] = {t: sorted(r[0] for r in db.execute(f"SELECT id FROM {t}")) for t in TABLES[2:]}
        found["audit_entries"] = sorted(r[0] for r in db.execute("SELECT id FROM audit_entries"))
        found["audit_revisions"] = sorted(r[0] for r in db.execute("SELECT entry_id FROM audit_revisions"))
        found["audit_fts"] = sorted(r[0] for r in db.execute("SELECT rowid FROM audit_fts"))
        found["chain"] = [tuple(bytes(v) if isinstance(v, bytes) else v for v in r) for r in db.execute(_CHAIN)]
        found["chain_heads"] = [(g, s, bytes(h)) for g, s, h in db.execute(_HEADS)]
        return found
    finally:
        db.close()


async def _postgres_rows(url: str) -> dict[str, Any]:
    db = await asyncpg.connect(url)
    try:
        found: dict[str, Any] = {
            t: [r[0] for r in await db.fetch(f"SELECT id FROM {t} ORDER BY 1")] for t in TABLES[2:]
        }
        found["audit_entries"] = [r[0] for r in await db.fetch("SELECT id FROM audit_entries ORDER BY 1")]
        found["audit_revisions"] = [r[0] for r in await db.fetch("SELECT entry_id FROM audit_revisions ORDER BY 1")]
        found["audit_fts"] = [r[0] for r in await db.fetch("SELECT entry_id FROM audit_fts ORDER BY 1")]
        found["chain"] = [tuple(r) for r in await db.fetch(_CHAIN)]
        found["chain_heads"] = [tuple(r) for r in await db.fetch(_HEADS)]
        return found
    finally:
        await db.close()


_CHAIN = "SELECT guild_id, seq, kind, record_id, revision, at, content_hash, link, note FROM chain ORDER BY 1, 2"
_HEADS = "SELECT guild_id, seq, link FROM chain_heads ORDER BY 1"


def _said(results: list[Any]) -> list[tuple[int, int, int, dict[str, int], bool]]:
    return [(r.guild_id, r.days, r.cutoff_ms, r.removed, r.dry_run) for r in results]


async def test_pruning_leaves_the_same_rows_and_chain_on_both_backends(db_path: Path, pg_url: str) -> None:
    clock = Clock(NOW_MS)
    lite = await Store.open(db_path, clock=clock)
    try:
        await _fill(lite, clock)
    finally:
        await lite.close()
    await copy_to_postgres(db_path, pg_url)
    lite = await Store.open(db_path, clock=clock)
    pg = await PgStore.open(pg_url, clock=clock)
    told: list[IngestResult] = []
    pg.add_listener(told.append)
    try:
        before = await _postgres_rows(pg_url)
        assert before == _sqlite_rows(db_path)
        retention = Retention(default_days=None, per_guild=((G1, 60),))
        dry = await pg.prune(retention, dry_run=True)
        assert _said(dry) == _said(await lite.prune(retention, dry_run=True))
        assert dry[0].removed["entries"] == 47
        assert dry[0].removed["role changes"] == 2  # the pending one stays
        assert await _postgres_rows(pg_url) == before  # a dry run writes nothing
        assert told == []

        assert _said(await pg.prune(retention, chunk=7)) == _said(await lite.prune(retention, chunk=7))
        assert [r.guild_ids for r in told] == [{G1}]
        after = await _postgres_rows(pg_url)
        assert after == _sqlite_rows(db_path)
        assert len(after["audit_entries"]) == len(before["audit_entries"]) - 47
        assert await pg.kept_since() == await lite.kept_since() == NOW_MS - 60 * DAY_MS
        assert await pg.reach() == await lite.reach()

        # A month later every guild keeps 90 days: G2 is pruned the first time, G1 compacted again.
        clock.now = NOW_MS + 30 * DAY_MS
        retention = Retention(default_days=90)
        assert _said(await pg.prune(retention)) == _said(await lite.prune(retention))
        assert await _postgres_rows(pg_url) == _sqlite_rows(db_path)
        assert await pg.reach() == await lite.reach()
        assert [r.total for r in await pg.prune(retention)] == [0, 0]  # nothing left to do, no link
        assert [r.total for r in await pg.prune(retention, guild_ids=[G2])] == [0]
    finally:
        await lite.close()
        await pg.close()
    lite_report, pg_report = verify(db_path), verify_postgres(pg_url)
    assert lite_report.problems == pg_report.problems == []
    assert pg_report.pruned_before == lite_report.pruned_before == {G1: NOW_MS - 60 * DAY_MS, G2: NOW_MS - 60 * DAY_MS}
    assert pg_report.records == lite_report.records


async def test_an_empty_store_reaches_nowhere_and_prunes_nothing(pg_url: str) -> None:
    pg = await PgStore.open(pg_url, clock=lambda: NOW_MS)
    try:
        assert await pg.reach() == (None, {})
        assert await pg.kept_since() is None
        assert await pg.prune(Retention(30)) == []
    finally:
        await pg.close()
