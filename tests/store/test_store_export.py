"""The export contract, end to end: entries covering every kind of change go into a real store,
come out as CSV, JSON and JSON Lines, are read back with the standard library, and every field
is checked against values written out by hand. Plus hostile text, cancel, progress, bad input."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from store_helpers import NOW_MS, T0_MS, raw_entry, snowflake

from console.model.export_format import CSV_COLUMNS, EXPORT_FORMAT_VERSION
from console.model.filters import Filter
from console.store import Store, StoreError
from console.store.export import ExportResult, export, export_async

G = 900_000_000_000_000_001
MOD = 200_000_000_000_000_001
BOB = 300_000_000_000_000_001
R1 = 400_000_000_000_000_001
R2 = 400_000_000_000_000_002
C1 = 500_000_000_000_000_001
ADMIN, SEND, VIEW, MENTION = 1 << 3, 1 << 11, 1 << 10, 1 << 17
TIMEOUT = "2024-05-01T12:00:00.000000+00:00"


def E(i: int) -> int:
    return snowflake(T0_MS + i * 60_000, i)


def iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def no_unknown_bits(prefix: str = "") -> dict[str, list[int]]:
    return {f"{prefix}{side}_unknown_bits_{d}": [] for side in ("allow", "deny") for d in ("added", "removed")}


def ow(oid: int, otype: str | None, **lists: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"id": str(oid), "type": otype}
    for k in ("allow_added", "allow_removed", "deny_added", "deny_removed"):
        out[k] = lists.pop(k, [])
    out |= no_unknown_bits()
    out |= lists
    return out


# (raw entry, how it is stored, the fields of its record beyond the common ones)
CASES: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    (
        raw_entry(
            E(1),
            31,
            user_id=MOD,
            target_id=R1,
            reason="perm bump",
            changes=[
                {"key": "permissions", "old_value": str(MENTION | SEND), "new_value": str(ADMIN | SEND | 1 << 53)},
                {"key": "name", "old_value": "Helpers", "new_value": "Helpers+"},
            ],
        ),
        {},
        {
            "action": "ROLE_UPDATE",
            "category": "role",
            "target_name": "Helpers",
            "summary": "+ADMINISTRATOR −MENTION_EVERYONE +bit53",
            "permissions": {
                "added": ["ADMINISTRATOR"],
                "removed": ["MENTION_EVERYONE"],
                "unknown_bits_added": [53],
                "unknown_bits_removed": [],
            },
        },
    ),
    (
        raw_entry(
            E(2),
            13,
            user_id=MOD,
            target_id=C1,
            options={"id": str(R1), "type": "0", "role_name": "Helpers"},
            changes=[
                {"key": "id", "new_value": str(R1)},
                {"key": "type", "new_value": 0},
                {"key": "allow", "new_value": str(SEND | VIEW)},
                {"key": "deny", "new_value": "0"},
            ],
        ),
        {},
        {
            "action": "CHANNEL_OVERWRITE_CREATE",
            "category": "permission",
            "target_name": "general",
            "summary": "@Helpers: allow +SEND_MESSAGES +VIEW_CHANNEL",
            "overwrite": ow(R1, "role", allow_added=["SEND_MESSAGES", "VIEW_CHANNEL"]),
        },
    ),
    (
        raw_entry(
            E(3),
            14,
            user_id=MOD,
            target_id=C1,
            options={"id": str(BOB), "type": "1"},
            changes=[
                {"key": "allow", "old_value": str(VIEW), "new_value": "0"},
                {"key": "deny", "old_value": "0", "new_value": str(SEND | 1 << 60)},
            ],
        ),
        {},
        {
            "action": "CHANNEL_OVERWRITE_UPDATE",
            "category": "permission",
            "target_name": "general",
            "summary": f"{BOB}: allow −VIEW_CHANNEL; deny +SEND_MESSAGES +bit60",
            "overwrite": ow(
                BOB,
                "member",
                allow_removed=["VIEW_CHANNEL"],
                deny_added=["SEND_MESSAGES"],
                deny_unknown_bits_added=[60],
            ),
        },
    ),
    (
        raw_entry(
            E(4),
            15,
            user_id=MOD,
            target_id=C1,
            options={"id": str(R1), "type": "0", "role_name": "Helpers"},
            changes=[
                {"key": "id", "old_value": str(R1)},
                {"key": "type", "old_value": 0},
                {"key": "allow", "old_value": str(SEND | VIEW)},
                {"key": "deny", "old_value": "0"},
            ],
        ),
        {},
        {
            "action": "CHANNEL_OVERWRITE_DELETE",
            "category": "permission",
            "target_name": "general",
            "summary": "@Helpers: allow −SEND_MESSAGES −VIEW_CHANNEL",
            "overwrite": ow(R1, "role", allow_removed=["SEND_MESSAGES", "VIEW_CHANNEL"]),
        },
    ),
    (
        raw_entry(
            E(5),
            11,
            user_id=MOD,
            target_id=C1,
            changes=[
                {
                    "key": "permission_overwrites",
                    "old_value": [
                        {"id": str(R1), "type": 0, "allow": str(VIEW), "deny": "0"},
                        {"id": str(BOB), "type": 1, "allow": "0", "deny": str(SEND)},
                    ],
                    "new_value": [
                        {"id": str(R1), "type": 0, "allow": str(VIEW | SEND), "deny": "0"},
                        {"id": str(G), "type": 0, "allow": "0", "deny": str(VIEW)},
                    ],
                }
            ],
        ),
        {},
        {
            "action": "CHANNEL_UPDATE",
            "category": "channel",
            "target_name": "general",
            # Allow and deny kept apart: G's overwrite *denies* VIEW_CHANNEL.
            "summary": f"overwrite {BOB}: deny −SEND_MESSAGES overwrite Helpers: allow +SEND_MESSAGES"
            f" overwrite {G}: deny +VIEW_CHANNEL",
            "overwrites": [
                ow(BOB, "member", deny_removed=["SEND_MESSAGES"]),
                ow(R1, "role", allow_added=["SEND_MESSAGES"]),
                ow(G, "role", deny_added=["VIEW_CHANNEL"]),
            ],
        },
    ),
    (
        raw_entry(
            E(6),
            25,
            user_id=MOD,
            target_id=BOB,
            changes=[
                {"key": "$add", "new_value": [{"id": str(R1), "name": "Helpers"}]},
                {"key": "$remove", "new_value": [{"id": str(R2), "name": "Muted"}]},
            ],
        ),
        {},
        {
            "action": "MEMBER_ROLE_UPDATE",
            "category": "role",
            "target_name": "Bob",
            "summary": "+@Helpers −@Muted",
            "roles_added": [str(R1)],
            "roles_removed": [str(R2)],
        },
    ),
    (
        raw_entry(
            E(7),
            24,
            user_id=MOD,
            target_id=BOB,
            reason="cool down",
            changes=[{"key": "communication_disabled_until", "new_value": TIMEOUT}],
        ),
        {},
        {
            "action": "MEMBER_UPDATE",
            "category": "member",
            "target_name": "Bob",
            "summary": "timeout until 2024-05-01 12:00 UTC",
        },
    ),
    (
        raw_entry(
            E(8),
            24,
            user_id=MOD,
            target_id=BOB,
            changes=[{"key": "communication_disabled_until", "old_value": TIMEOUT}],
        ),
        {},
        {"action": "MEMBER_UPDATE", "category": "member", "target_name": "Bob", "summary": "timeout lifted"},
    ),
    (
        raw_entry(E(9), 24, user_id=MOD, target_id=BOB, changes=[{"key": "nick", "old_value": "Bobby"}]),
        {},
        {"action": "MEMBER_UPDATE", "category": "member", "target_name": "Bob", "summary": "nick: Bobby → ∅"},
    ),
    (
        # Stored with count 3, then refreshed by backfill with count 5: revision 1.
        raw_entry(E(10), 72, user_id=MOD, target_id=BOB, options={"channel_id": str(C1), "count": "5"}),
        {"first": raw_entry(E(10), 72, user_id=MOD, target_id=BOB, options={"channel_id": str(C1), "count": "3"})},
        # It keeps the source it was first seen on.
        {
            "action": "MESSAGE_DELETE",
            "category": "message",
            "target_name": "Bob",
            "summary": "count 5",
            "revision": 1,
            "source": "gateway",
        },
    ),
    (
        raw_entry(E(11), 250, user_id=None, target_id=12345, options={"foo": "bar", "nested": {"x": [1, 2]}}),
        {},
        {"action": None, "category": "unknown", "target_name": None, "summary": ""},
    ),
    (
        raw_entry(E(12), 21, user_id=MOD, target_id=None, options={"delete_member_days": "7", "members_removed": "12"}),
        {},
        {"action": "MEMBER_PRUNE", "category": "moderation", "target_name": None, "summary": "12 removed (7 days)"},
    ),
    (
        raw_entry(E(13), 22, user_id=MOD, target_id=BOB, reason="raid", guild_id=G),
        {"source": "gateway"},
        {"action": "MEMBER_BAN_ADD", "category": "moderation", "target_name": "Bob", "summary": ""},
    ),
]


def expected_record(raw: dict[str, Any], how: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    entry_id = int(raw["id"])
    rec: dict[str, Any] = {
        "format_version": 2,
        "kind": "audit",
        "id": raw["id"],
        "guild_id": str(G),
        "action_type": raw["action_type"],
        "actor_id": raw["user_id"],
        "actor_name": "Alice the Mod" if raw["user_id"] == str(MOD) else None,
        "target_id": raw["target_id"],
        "reason": raw.get("reason"),
        "created_at": iso(T0_MS + (entry_id & 0x3FFFFF) * 60_000),
        "received_at": iso(NOW_MS),
        "source": how.get("source", "backfill"),
        "revision": 0,
        "changes": [
            {"key": c["key"], "old": c.get("old_value"), "new": c.get("new_value")} for c in raw.get("changes", [])
        ],
        "options": raw.get("options"),
    }
    rec |= extra
    rec["notes"] = []
    return rec


EXPECTED = [expected_record(*case) for case in CASES]


async def _fill(path: Path) -> None:
    s = await Store.open(path, clock=lambda: NOW_MS)
    try:
        await s.upsert_names(G, "user", [(MOD, "Alice the Mod"), (BOB, "Bob")])
        await s.upsert_names(G, "role", [(R1, "Helpers"), (R2, "Muted")])
        await s.upsert_names(G, "channel", [(C1, "general")])
        for _raw, how, _ in CASES:
            if "first" in how:
                await s.add_entries([how["first"]], source="gateway", guild_id=G)
        for raw, how, _ in CASES:
            await s.add_entries([raw], source=how.get("source", "backfill"), guild_id=None if "guild_id" in raw else G)
    finally:
        await s.close()


@pytest.fixture
async def contract_db(db_path: Path) -> Path:
    await _fill(db_path)
    return db_path


OLDEST_FIRST = Filter(newest_first=False)


def _run(path: Path, fmt: str, flt: Filter = OLDEST_FIRST, **kw: Any) -> tuple[bytes, ExportResult]:
    out = io.BytesIO()
    result = export(path, flt, fmt, out, now_ms=NOW_MS + 1, **kw)
    return out.getvalue(), result


def test_the_cases_cover_the_contract() -> None:
    """Every optional field appears in some case, and the checks compare whole records."""
    keys = set().union(*EXPECTED)
    assert {"permissions", "overwrite", "overwrites", "roles_added", "roles_removed"} <= keys
    assert EXPORT_FORMAT_VERSION == 2


async def test_jsonl_round_trip(contract_db: Path) -> None:
    data, result = _run(contract_db, "jsonl")
    lines = data.decode("utf-8").splitlines()
    assert result == ExportResult(rows=len(CASES), cancelled=False)
    assert [json.loads(line) for line in lines] == EXPECTED


async def test_json_round_trip(contract_db: Path) -> None:
    data, result = _run(contract_db, "json")
    doc = json.loads(data)
    assert doc.pop("records") == EXPECTED
    assert doc == {
        "format": "audit-console-export",
        "format_version": 2,
        "exported_at": iso(NOW_MS + 1),
        "filter": {
            "guild_ids": [],
            "kinds": [],
            "actions": [],
            "categories": [],
            "actor_ids": [],
            "target_ids": [],
            "since": None,
            "until": None,
            "text": "",
            "note_words": [],
            "newest_first": False,
        },
        "count": len(CASES),
        "complete": True,
    }


def test_csv_header_is_fixed() -> None:
    # Version 1's audit columns keep their places; decisions, role changes and gaps append theirs.
    assert list(CSV_COLUMNS[:36]) == [
        "format_version",
        "kind",
        "id",
        "guild_id",
        "action_type",
        "action",
        "category",
        "actor_id",
        "actor_name",
        "target_id",
        "target_name",
        "reason",
        "created_at",
        "received_at",
        "source",
        "revision",
        "summary",
        "changes",
        "options",
        "permissions_added",
        "permissions_removed",
        "permissions_unknown_bits_added",
        "permissions_unknown_bits_removed",
        "overwrite_id",
        "overwrite_type",
        "overwrite_allow_added",
        "overwrite_allow_removed",
        "overwrite_deny_added",
        "overwrite_deny_removed",
        "overwrite_allow_unknown_bits_added",
        "overwrite_allow_unknown_bits_removed",
        "overwrite_deny_unknown_bits_added",
        "overwrite_deny_unknown_bits_removed",
        "overwrites",
        "roles_added",
        "roles_removed",
    ]


def _guard(text: str) -> str:
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r", "\0", "＝", "＋", "－", "＠") else text


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    return _guard(value) if isinstance(value, str) else str(value)


def _joined(values: list[Any] | None) -> str:
    return _guard(" ".join(str(v) for v in values)) if values else ""


async def test_csv_round_trip(contract_db: Path) -> None:
    data, result = _run(contract_db, "csv")
    assert result.rows == len(CASES)
    assert data.count(b"\r\n") == len(CASES) + 1  # RFC 4180 line ends
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert rows[0] == list(CSV_COLUMNS)
    assert data.startswith(b'"format_version","kind"')  # QUOTE_ALL
    for cells, rec in zip(rows[1:], EXPECTED, strict=True):
        got = dict(zip(CSV_COLUMNS, cells, strict=True))
        for key in (
            "format_version",
            "kind",
            "id",
            "guild_id",
            "action_type",
            "action",
            "category",
            "actor_id",
            "actor_name",
            "target_id",
            "target_name",
            "reason",
            "created_at",
            "received_at",
            "source",
            "revision",
            "summary",
        ):
            assert got[key] == _scalar(rec[key]), key
        assert json.loads(got["changes"]) == rec["changes"]
        assert (json.loads(got["options"]) if got["options"] else None) == rec["options"]
        perms = rec.get("permissions") or {}
        for k in ("added", "removed", "unknown_bits_added", "unknown_bits_removed"):
            assert got[f"permissions_{k}"] == _joined(perms.get(k))
        o = rec.get("overwrite") or {}
        assert got["overwrite_id"] == (o.get("id") or "")
        assert got["overwrite_type"] == (o.get("type") or "")
        for k in (
            "allow_added",
            "allow_removed",
            "deny_added",
            "deny_removed",
            "allow_unknown_bits_added",
            "allow_unknown_bits_removed",
            "deny_unknown_bits_added",
            "deny_unknown_bits_removed",
        ):
            assert got[f"overwrite_{k}"] == _joined(o.get(k))
        assert (json.loads(got["overwrites"]) if got["overwrites"] else None) == rec.get("overwrites")
        assert got["roles_added"] == _joined(rec.get("roles_added"))
        assert got["roles_removed"] == _joined(rec.get("roles_removed"))
    # Spot-check the literal cells a reader sees (the summary "+@Helpers" is guarded too).
    by_id = {r[2]: dict(zip(CSV_COLUMNS, r, strict=True)) for r in rows[1:]}
    role = by_id[str(E(1))]
    assert (role["permissions_added"], role["permissions_removed"]) == ("ADMINISTRATOR", "MENTION_EVERYONE")
    assert role["permissions_unknown_bits_added"] == "53"
    assert by_id[str(E(6))]["summary"] == "'+@Helpers −@Muted"
    assert by_id[str(E(12))]["target_id"] == ""
    assert by_id[str(E(12))]["reason"] == ""


async def test_text_streams_work_too(contract_db: Path) -> None:
    for fmt in ("csv", "json", "jsonl"):
        text = io.StringIO(newline="")
        export(contract_db, Filter(newest_first=False), fmt, text, now_ms=NOW_MS + 1)
        binary, _ = _run(contract_db, fmt)
        assert text.getvalue().encode("utf-8") == binary


async def test_newest_first_and_filtered(contract_db: Path) -> None:
    data, _ = _run(contract_db, "jsonl", Filter(actions=frozenset({24})))
    assert [json.loads(x)["id"] for x in data.splitlines()] == [str(E(9)), str(E(8)), str(E(7))]
    data, _ = _run(contract_db, "jsonl", Filter(text="raid"))
    assert [json.loads(x)["id"] for x in data.splitlines()] == [str(E(13))]


async def test_only_given_ids(contract_db: Path) -> None:
    data, result = _run(contract_db, "jsonl", Filter(), ids=[E(2), E(6), E(6), 12345])
    assert result.rows == 2
    assert [json.loads(x)["id"] for x in data.splitlines()] == [str(E(6)), str(E(2))]
    doc = json.loads(_run(contract_db, "json", Filter(), ids=[E(2)])[0])
    assert doc["ids"] == [str(E(2))]
    assert [r["id"] for r in doc["records"]] == [str(E(2))]


async def test_names_can_be_supplied(contract_db: Path) -> None:
    data, _ = _run(contract_db, "jsonl", Filter(), ids=[E(13)], names={("user", BOB): "Robert"})
    rec = json.loads(data)
    assert rec["target_name"] == "Robert"
    assert rec["actor_name"] is None


# -- hostile text -------------------------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://x","y")', "+1", "-1", "@SUM(A1)", "\t=1+1", "\r=1", "＝1+1", "＋1", "－1", "＠x"]
ESCAPES = [
    "\x1b[2J\x1b]0;pwned\x07 wiped",
    "csi \u009b31m red",
    "right-to-left \u202egnp.exe",
    "zero\u200bwidth \ufeff bom \u2028 line \u2066iso\u2069 del\x7f",
]


@pytest.fixture
async def hostile_db(db_path: Path) -> Path:
    s = await Store.open(db_path, clock=lambda: NOW_MS)
    try:
        await s.upsert_names(G, "user", [(MOD, "=cmd|' /C calc'!A0"), (BOB, "\u202eevil")])
        raws = [raw_entry(E(i), 22, user_id=MOD, target_id=BOB, reason=r) for i, r in enumerate(FORMULAS + ESCAPES)]
        await s.add_entries(raws, source="backfill", guild_id=G)
    finally:
        await s.close()
    return db_path


async def test_csv_formula_guard(hostile_db: Path) -> None:
    data, _ = _run(hostile_db, "csv")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))[1:]
    reasons = [dict(zip(CSV_COLUMNS, r, strict=True))["reason"] for r in rows]
    assert reasons[: len(FORMULAS)] == ["'" + f for f in FORMULAS]
    assert reasons[len(FORMULAS) :] == ESCAPES  # exact text otherwise
    assert {dict(zip(CSV_COLUMNS, r, strict=True))["actor_name"] for r in rows} == {"'=cmd|' /C calc'!A0"}
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r", "\0", "＝", "＋", "－", "＠"))


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
async def test_json_escapes_terminal_and_invisible_characters(hostile_db: Path, fmt: str) -> None:
    data, _ = _run(hostile_db, fmt)
    text = data.decode("utf-8")
    for ch in ("\x1b", "\x07", "\x7f", "\u009b", "\u202e", "\u200b", "\ufeff", "\u2028", "\u2066", "\u2069"):
        assert ch not in text, repr(ch)
    assert "\\u009b" in text
    assert "\\u202e" in text
    records = json.loads(data)["records"] if fmt == "json" else [json.loads(x) for x in text.splitlines()]
    assert [r["reason"] for r in records] == FORMULAS + ESCAPES  # identical values after decoding
    assert {r["target_name"] for r in records} == {"\u202eevil"}


# -- progress, cancel, errors -------------------------------------------------------------------


@pytest.fixture
async def big_db(db_path: Path) -> Path:
    s = await Store.open(db_path)
    try:
        await s.add_entries(
            [raw_entry(snowflake(T0_MS + i), 22, user_id=MOD, target_id=BOB) for i in range(2500)],
            source="backfill",
            guild_id=G,
        )
    finally:
        await s.close()
    return db_path


async def test_progress_reports_every_batch(big_db: Path) -> None:
    seen: list[tuple[int, int | None]] = []
    data, result = _run(big_db, "jsonl", Filter(), progress=lambda done, total: seen.append((done, total)))
    assert result.rows == 2500
    assert data.count(b"\n") == 2500
    assert seen == [(0, 2500), (1000, 2500), (2000, 2500), (2500, 2500)]
    ids = [int(json.loads(x)["id"]) for x in data.splitlines()]
    assert ids == sorted(ids, reverse=True)
    assert len(set(ids)) == 2500


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
async def test_cancel_stops_and_json_stays_valid(big_db: Path, fmt: str) -> None:
    cancel = threading.Event()

    def progress(done: int, total: int | None) -> None:
        if done >= 1000:
            cancel.set()

    data, result = _run(big_db, fmt, Filter(), progress=progress, cancel=cancel)
    assert result == ExportResult(rows=1000, cancelled=True)
    if fmt == "json":
        doc = json.loads(data)
        assert (doc["count"], doc["complete"], len(doc["records"])) == (1000, False, 1000)
    elif fmt == "jsonl":
        assert data.count(b"\n") == 1000
    else:
        assert len(list(csv.reader(io.StringIO(data.decode(), newline="")))) == 1001


async def test_async_export_runs_off_the_loop(big_db: Path) -> None:
    out = io.BytesIO()
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    t = asyncio.create_task(ticker())
    result = await export_async(big_db, Filter(), "csv", out)
    t.cancel()
    assert result.rows == 2500
    assert ticks > 1


async def test_cancelling_the_awaiting_task_stops_the_thread(big_db: Path) -> None:
    cancel = threading.Event()
    started = threading.Event()
    release = threading.Event()

    def progress(done: int, total: int | None) -> None:
        started.set()
        release.wait(5)

    task = asyncio.create_task(export_async(big_db, Filter(), "jsonl", io.BytesIO(), progress=progress, cancel=cancel))
    await asyncio.to_thread(started.wait, 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cancel.is_set()
    release.set()


def test_bad_format(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^unknown export format 'xml': use csv, json or jsonl$"):
        export(tmp_path / "x.db", Filter(), "xml", io.BytesIO())


async def test_bad_database(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no database"):
        export(tmp_path / "missing.db", Filter(), "csv", io.BytesIO())
    foreign = tmp_path / "foreign.db"
    db = sqlite3.connect(foreign)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    before = foreign.read_bytes()
    with pytest.raises(StoreError, match="not an Audit Console database"):
        export(foreign, Filter(), "jsonl", io.BytesIO())
    assert foreign.read_bytes() == before
