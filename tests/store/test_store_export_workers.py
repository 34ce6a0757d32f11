"""Big exports rendered by worker processes (console/store/export_workers.py): real processes over
a real store, with the size thresholds lowered so that a few hundred entries take that path.

The reference is the same export on the single-thread path: the bytes must be identical, in
every format and order, for filtered exports, for hostile text and for every kind of change."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from store_helpers import NAMES, NOW_MS, T0_MS, dataset, raw_entry, snowflake

from console.model.filters import Filter
from console.model.records import Decision, RoleChange
from console.store import Store, StoreError, export_workers
from console.store.export import ExportResult, export

G = 1_000_000_000_000_001
ACTOR = 2_000_000_000_000_000
HOSTILE = [
    '=HYPERLINK("x")',
    "-1",
    "\x1b]52;c;aGk=\x07 osc",
    "\u202eevil \u200b",
    'quote " and , comma',
    "line\nbreak",
    "全角＝1",
]


@pytest.fixture
async def varied_db(db_path: Path) -> Path:
    """Four hundred seeded entries (bans, nicknames, permission changes, bulk deletes, unknown
    actions) plus hostile reasons, role changes and overwrites, with names for most ids."""
    s = await Store.open(db_path, clock=lambda: NOW_MS)
    try:
        for (kind, ident), name in NAMES.items():
            await s.upsert_names(G, kind, [(ident, name)])
        rows = dataset(seed=11, n=400)
        for row in rows:
            await s.add_entries([row.raw], source="backfill", guild_id=row.guild_id)
        extra = [
            raw_entry(snowflake(T0_MS - 10_000 + i, i), 22, user_id=ACTOR, target_id=ACTOR + 1, reason=r)
            for i, r in enumerate(HOSTILE)
        ]
        extra.append(
            raw_entry(
                snowflake(T0_MS - 1000, 99),
                25,
                user_id=ACTOR,
                target_id=ACTOR + 1,
                changes=[
                    {"key": "$add", "new_value": [{"id": "3000000000000004", "name": "helpers crew"}]},
                    {"key": "$remove", "new_value": [{"id": "3000000000000005"}]},
                ],
            )
        )
        extra.append(
            raw_entry(
                snowflake(T0_MS - 900, 98),
                13,
                user_id=ACTOR,
                target_id=42,
                options={"id": "3000000000000004", "type": "0", "role_name": "helpers crew"},
                changes=[{"key": "allow", "new_value": str(1 << 3 | 1 << 60)}],
            )
        )
        await s.add_entries(extra, source="gateway", guild_id=G)
    finally:
        await s.close()
    return db_path


@pytest.fixture
async def mixed_db(varied_db: Path) -> Path:
    """The varied store plus decisions, role changes and a gap, spread through its history
    (and beyond both ends), one decision sharing an audit entry's id."""
    rows = dataset(seed=11, n=400)
    s = await Store.open(varied_db, clock=lambda: NOW_MS)
    try:
        for i, row in enumerate(rows[::37]):
            ident = row.id if i == 3 else row.id + 1 + i
            await s.record_decision(
                Decision(
                    id=ident,
                    guild_id=G,
                    created_at=T0_MS + i,
                    actor_id=ACTOR,
                    actor_name="=mod",
                    actor_roles=[3_000_000_000_000_004],
                    actor_admin=False,
                    actor_owner=False,
                    capability="roles.grant",
                    resource_type="role",
                    resource_id=3_000_000_000_000_004,
                    source="TUI",
                    result="DENY" if i % 2 else "ALLOW",
                    reason_code="RBAC",
                    path=[{"step": "grant", "found": bool(i % 2)}],
                    policy_version="v1",
                )
            )
        for i, ident in enumerate((snowflake(T0_MS - 50_000, 7), rows[100].id + 5, rows[-1].id + 9)):
            await s.record_role_change(
                RoleChange(
                    id=ident,
                    guild_id=G,
                    member_id=ACTOR + 1,
                    role_id=3_000_000_000_000_004,
                    op="grant",
                    reason=HOSTILE[i],
                    requested_by=ACTOR,
                    source="TUI",
                    decision_id=None,
                    state="pending",
                    created_at=T0_MS,
                    updated_at=T0_MS,
                    next_attempt_at=None,
                    deadline_at=None,
                    attempts=i,
                    observed_at=None,
                    error=None,
                    linked_entry_id=None,
                    message_id=None,
                    cancelled_by=None,
                    message_state=None,
                    message_error=None,
                )
            )
        await s.open_gap(G, "reconnect", from_id=None, started_at=T0_MS)
    finally:
        await s.close()
    return varied_db


def _export(
    path: Path, fmt: str, flt: Filter, *, workers: bool, monkeypatch: pytest.MonkeyPatch, **kw: Any
) -> tuple[bytes, ExportResult]:
    with monkeypatch.context() as m:
        m.setattr(export_workers, "MIN_ROWS", 0 if workers else 10**9)
        m.setattr(export_workers, "WORKERS", 2)
        m.setattr(export_workers, "CHUNK", 7)  # many ranges, each one's edges exercised
        out = io.BytesIO()
        result = export(path, flt, fmt, out, now_ms=NOW_MS, **kw)
    return out.getvalue(), result


FILTERS = {
    "newest first": Filter(),
    "oldest first": Filter(newest_first=False),
    "text and actor": Filter(text="raid", actor_ids=frozenset({ACTOR + 1, 2_000_000_000_000_001})),
    "one action, oldest first": Filter(actions=frozenset({22}), newest_first=False),
}


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
@pytest.mark.parametrize("name", list(FILTERS))
def test_workers_write_exactly_what_one_thread_writes(
    varied_db: Path, fmt: str, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    flt = FILTERS[name]
    alone, r1 = _export(varied_db, fmt, flt, workers=False, monkeypatch=monkeypatch)
    shared, r2 = _export(varied_db, fmt, flt, workers=True, monkeypatch=monkeypatch)
    assert r1 == r2
    assert r1.rows > 0
    assert shared == alone
    # And it is the whole, valid document (the comparison alone would pass two equal wrongs).
    if fmt == "json":
        assert json.loads(shared)["count"] == r1.rows
    elif fmt == "jsonl":
        assert len([json.loads(x) for x in shared.splitlines()]) == r1.rows
    else:
        assert len(list(csv.reader(io.StringIO(shared.decode(), newline="")))) == r1.rows + 1


def test_the_ranges_cover_every_entry_once(varied_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data, result = _export(varied_db, "jsonl", Filter(), workers=True, monkeypatch=monkeypatch)
    ids = [int(json.loads(x)["id"]) for x in data.splitlines()]
    assert len(ids) == len(set(ids)) == result.rows == 409
    assert ids == sorted(ids, reverse=True)


def _children() -> list[int]:
    found = []
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        found += [int(p) for p in (task / "children").read_text().split()]
    return found


def test_cancel_stops_the_workers_and_json_stays_valid(varied_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cancel = threading.Event()
    seen: list[int] = []

    def progress(done: int, total: int | None) -> None:
        seen.append(done)
        if done >= 20:
            cancel.set()

    data, result = _export(
        varied_db, "json", Filter(), workers=True, monkeypatch=monkeypatch, progress=progress, cancel=cancel
    )
    doc = json.loads(data)
    assert result.cancelled
    assert 20 <= result.rows < 409
    assert (doc["count"], doc["complete"], len(doc["records"])) == (result.rows, False, result.rows)
    assert seen[0] == 0
    assert seen[-1] == result.rows
    assert _children() == []  # no worker left behind


def test_a_killed_worker_ends_the_export_with_one_line(varied_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def progress(done: int, total: int | None) -> None:
        if done:
            for pid in _children():
                os.kill(pid, signal.SIGKILL)

    with pytest.raises(StoreError, match="^an export worker process stopped unexpectedly; the export is incomplete$"):
        _export(varied_db, "jsonl", Filter(), workers=True, monkeypatch=monkeypatch, progress=progress)
    assert _children() == []


def test_workers_are_out_of_ctrl_c_reach_and_never_see_the_token(
    varied_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl+C in a terminal signals its foreground process group: the workers are not in it (the
    caller stops them; none dies mid-range with a traceback on the user's screen). And the bot
    token is not in their environment."""
    monkeypatch.setenv("DISCORD_TOKEN", "canary-token-for-workers")
    seen: list[tuple[int, bytes]] = []

    def progress(done: int, total: int | None) -> None:
        if done and not seen:
            seen.extend((os.getpgid(pid), Path(f"/proc/{pid}/environ").read_bytes()) for pid in _children())

    data, result = _export(varied_db, "jsonl", Filter(), workers=True, monkeypatch=monkeypatch, progress=progress)
    assert result.rows == 409
    assert data.count(b"\n") == 409
    assert len(seen) == 2
    assert all(group != os.getpgrp() for group, _ in seen)
    assert all(b"canary-token-for-workers" not in env and b"DISCORD_TOKEN" not in env for _, env in seen)


def test_small_exports_start_no_process(varied_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Below MIN_ROWS the processes would cost more than they save: the caller renders."""
    started: list[int] = []

    def progress(done: int, total: int | None) -> None:
        started.extend(_children())

    with monkeypatch.context() as m:
        m.setattr(export_workers, "MIN_ROWS", 410)
        export(varied_db, Filter(), "jsonl", io.BytesIO(), progress=progress)
        assert started == []
        m.setattr(export_workers, "MIN_ROWS", 409)
        m.setattr(export_workers, "CHUNK", 100)
        export(varied_db, Filter(), "jsonl", io.BytesIO(), progress=progress)
        assert len(set(started)) == export_workers.WORKERS


@pytest.mark.parametrize("broken", ["no interpreter", "an interpreter that exits at once"])
def test_workers_that_cannot_start_leave_the_export_to_this_thread(
    varied_db: Path, tmp_path: Path, broken: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing written yet, so nothing lost: the same bytes, from the caller's own thread."""
    alone, r1 = _export(varied_db, "csv", Filter(), workers=False, monkeypatch=monkeypatch)
    if broken == "no interpreter":
        monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    else:
        fake = tmp_path / "python"
        fake.write_text("#!/bin/sh\nexit 3\n")
        fake.chmod(0o755)
        monkeypatch.setattr(sys, "executable", str(fake))
    shared, r2 = _export(varied_db, "csv", Filter(), workers=True, monkeypatch=monkeypatch)
    assert (shared, r2) == (alone, r1)
    assert _children() == []


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
@pytest.mark.parametrize("newest_first", [True, False], ids=["newest first", "oldest first"])
def test_other_kinds_are_merged_in_exactly_as_one_thread_does(
    mixed_db: Path, fmt: str, newest_first: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    flt = Filter(newest_first=newest_first)
    alone, r1 = _export(mixed_db, fmt, flt, workers=False, monkeypatch=monkeypatch)
    shared, r2 = _export(mixed_db, fmt, flt, workers=True, monkeypatch=monkeypatch)
    assert r1 == r2
    assert r1.rows == 409 + 11 + 3 + 1
    assert shared == alone
    if fmt == "jsonl":
        kinds = [json.loads(x)["kind"] for x in shared.splitlines()]
        assert {k: kinds.count(k) for k in set(kinds)} == {"audit": 409, "decision": 11, "role_change": 3, "gap": 1}
