"""Every kind of record (audit entries, decisions, role changes, gaps) exported in every format and
read back with the standard library, compared with what the store holds; the filter decides the
kinds as in the feed; formula-looking CSV cells open as text; ``export --query``."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from store_helpers import NOW_MS, T0_MS, raw_entry, snowflake

from console.cli import main
from console.model.export_format import CSV_COLUMNS
from console.model.filters import Filter
from console.model.records import Decision, RoleChange
from console.model.times import iso_utc
from console.store import Store
from console.store.export import export, export_to_file

G = 900_000_000_000_000_001
MOD = 200_000_000_000_000_001
BOB = 300_000_000_000_000_001
R1 = 400_000_000_000_000_001
HOSTILE = ['=HYPERLINK("http://x","y")', "+1", "-1", "@SUM(A1:A2)", "\tlead", "\rcr", "＝1+1", "＋1", "－1", "＠x"]


def at(i: int) -> int:
    return T0_MS + i * 60_000


def decision(i: int, result: str = "ALLOW", actor_name: str | None = "mod") -> Decision:
    return Decision(
        id=snowflake(at(i), 100 + i),
        guild_id=G,
        created_at=at(i),
        actor_id=MOD,
        actor_name=actor_name,
        actor_roles=[R1],
        actor_admin=False,
        actor_owner=True,
        capability="roles.grant",
        resource_type="role",
        resource_id=R1,
        source="TUI",
        result=result,
        reason_code="RBAC_GRANT_ALLOW" if result == "ALLOW" else "NO_GRANT",
        path=[{"step": "grant", "found": True, "decided": True}],
        policy_version="v1",
    )


def role_change(i: int, reason: str = "promo") -> RoleChange:
    return RoleChange(
        id=snowflake(at(i), 200 + i),
        guild_id=G,
        member_id=BOB,
        role_id=R1,
        op="grant",
        reason=reason,
        requested_by=MOD,
        source="TUI",
        decision_id=snowflake(at(2), 102),
        state="confirmed",
        created_at=at(i),
        updated_at=at(i) + 5,
        next_attempt_at=None,
        deadline_at=at(i) + 60_000,
        attempts=2,
        observed_at=at(i) + 4,
        error=None,
        linked_entry_id=snowflake(at(1), 1),
        message_id=None,
        cancelled_by=None,
        message_state="posted",
        message_error=None,
    )


async def seed(store: Store, reasons: list[str] | None = None) -> dict[str, Any]:
    entries = [
        raw_entry(snowflake(at(1), 1), 22, user_id=MOD, target_id=BOB, reason="spam"),
        raw_entry(
            snowflake(at(5), 5),
            25,
            user_id=MOD,
            target_id=BOB,
            changes=[{"key": "$add", "new_value": [{"id": str(R1), "name": "Helpers"}]}],
        ),
    ]
    for n, text in enumerate(reasons or []):
        entries.append(raw_entry(snowflake(at(10 + n), 10 + n), 20, user_id=MOD, target_id=BOB, reason=text))
    await store.add_entries(entries, source="gateway", guild_id=G)
    d = decision(2)
    await store.record_decision(d)
    c = role_change(3)
    await store.record_role_change(c)
    gap = await store.open_gap(G, "reconnect", from_id=None, started_at=at(0))
    return {"decision": d, "role_change": c, "gap": gap}


def read_back(fmt: str, data: bytes) -> list[dict[str, Any]]:
    if fmt == "json":
        doc = json.loads(data)
        assert doc["format_version"] == 2
        assert doc["complete"] is True
        return doc["records"]
    if fmt == "jsonl":
        return [json.loads(line) for line in data.decode().splitlines()]
    rows = list(csv.reader(io.StringIO(data.decode(), newline="")))
    assert rows[0] == list(CSV_COLUMNS)
    return [dict(zip(CSV_COLUMNS, r, strict=True)) for r in rows[1:]]


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
async def test_every_kind_exports_and_reads_back(store: Store, db_path: Path, fmt: str) -> None:
    made = await seed(store)
    out = io.BytesIO()
    result = export(db_path, Filter(newest_first=False), fmt, out)
    records = read_back(fmt, out.getvalue())
    assert result.rows == len(records) == 5
    # Interleaved by id like the feed: gap (detected now) last, oldest first.
    assert [r["kind"] for r in records] == ["audit", "decision", "role_change", "audit", "gap"]
    by_kind = {r["kind"]: r for r in records}
    d, c, gap = made["decision"], made["role_change"], made["gap"]
    dec, rc, gp = by_kind["decision"], by_kind["role_change"], by_kind["gap"]
    text = fmt == "csv"  # CSV cells are text: ints as digits, booleans as true/false, lists joined

    def v(x: Any) -> Any:
        if not text:
            return x
        if isinstance(x, bool):
            return "true" if x else "false"
        if x is None:
            return ""
        return str(x)

    assert dec["id"] == str(d.id)
    assert dec["guild_id"] == str(G)
    assert dec["actor_id"] == str(MOD)
    assert dec["created_at"] == iso_utc(d.created_at)
    assert dec["actor_name"] == "mod"
    assert dec["actor_admin"] == v(False)
    assert dec["actor_owner"] == v(True)
    assert dec["actor_roles"] == (str(R1) if text else [str(R1)])
    for key in ("capability", "resource_type", "source", "result", "reason_code", "policy_version"):
        assert dec[key] == getattr(d, key)
    assert dec["resource_id"] == str(R1)
    assert (json.loads(dec["path"]) if text else dec["path"]) == d.path
    assert rc["id"] == str(c.id)
    assert rc["member_id"] == str(BOB)
    assert rc["role_id"] == str(R1)
    assert rc["state"] == "confirmed"
    assert rc["attempts"] == v(2)
    assert rc["reason"] == "promo"
    assert rc["observed_at"] == iso_utc(c.observed_at)
    assert rc["next_attempt_at"] == v(None)
    assert rc["decision_id"] == str(c.decision_id)
    assert rc["linked_entry_id"] == str(c.linked_entry_id)
    assert rc["message_state"] == "posted"
    assert rc["error"] == v(None)
    assert rc["requested_by"] == str(MOD)
    assert gp["id"] == str(gap.id)
    assert gp["reason"] == "reconnect"
    assert gp["status"] == gap.status
    assert gp["started_at"] == iso_utc(at(0))
    audits = [r for r in records if r["kind"] == "audit"]
    assert audits[0]["action"] == "MEMBER_BAN_ADD"
    assert audits[0]["reason"] == "spam"
    assert audits[1]["roles_added"] == (str(R1) if text else [str(R1)])


async def test_the_filter_decides_the_kinds_like_the_feed(store: Store, db_path: Path) -> None:
    await seed(store)
    await store.record_decision(decision(7, "DENY"))

    def kinds(flt: Filter) -> list[str]:
        out = io.BytesIO()
        export(db_path, flt, "jsonl", out)
        return [json.loads(x)["kind"] for x in out.getvalue().splitlines()]

    assert kinds(Filter(kinds=frozenset({"decision"}))) == ["decision", "decision"]
    assert kinds(Filter(results=frozenset({"DENY"}))) == ["decision"]  # a decision-only field
    assert kinds(Filter(actions=frozenset({22}))) == ["audit"]  # an audit-only field
    assert kinds(Filter(states=frozenset({"confirmed"}))) == ["role_change"]
    assert sorted(kinds(Filter())) == ["audit", "audit", "decision", "decision", "gap", "role_change"]


async def test_ids_pick_records_of_any_kind(store: Store, db_path: Path) -> None:
    made = await seed(store)
    out = io.BytesIO()
    ids = [made["decision"].id, made["role_change"].id, snowflake(at(1), 1)]
    assert export(db_path, Filter(), "jsonl", out, ids=ids).rows == 3
    assert [json.loads(x)["kind"] for x in out.getvalue().splitlines()] == ["role_change", "decision", "audit"]


async def test_formula_cells_open_as_text(store: Store, db_path: Path) -> None:
    # Reasons of entries (audit), a role change and a decision's actor name: every free-text cell.
    await seed(store, reasons=HOSTILE)
    await store.record_role_change(role_change(40, reason='=HYPERLINK("http://evil","x")'))
    await store.record_decision(decision(41, actor_name="@SUM(1+1)"))
    out = io.BytesIO()
    export(db_path, Filter(newest_first=False), "csv", out)
    rows = read_back("csv", out.getvalue())
    reasons = [r["reason"] for r in rows if r["kind"] == "audit" and r["reason"] not in ("spam", "")]
    assert reasons == ["'" + h for h in HOSTILE]
    assert [r[1:] for r in reasons] == HOSTILE  # the value round-trips after the guard
    assert [r["reason"] for r in rows if r["kind"] == "role_change"][-1] == '\'=HYPERLINK("http://evil","x")'
    assert [r["actor_name"] for r in rows if r["kind"] == "decision"][-1] == "'@SUM(1+1)"
    # No cell of any row starts with a trigger once guarded.
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")), cell


async def test_json_escapes_control_and_bidi(store: Store, db_path: Path) -> None:
    nasty = "a\u202eb\x1b[31mc\u200bd\x85"
    await seed(store, reasons=[nasty])
    for fmt in ("json", "jsonl"):
        out = io.BytesIO()
        export(db_path, Filter(), fmt, out)
        data = out.getvalue()
        for raw in ("\u202e", "\x1b", "\u200b", "\x85"):
            assert raw.encode() not in data
        assert nasty in [r.get("reason") for r in read_back(fmt, data)]


async def test_cancelled_file_export_leaves_no_file(store: Store, db_path: Path, tmp_path: Path) -> None:
    import threading

    await seed(store)
    stop = threading.Event()
    stop.set()
    target = tmp_path / "out.csv"
    result = export_to_file(db_path, Filter(), "csv", target, cancel=stop)
    assert result.cancelled
    assert not target.exists()
    assert not (tmp_path / "out.csv.part").exists()
    assert export_to_file(db_path, Filter(), "csv", target).rows == 5
    assert target.exists()


def test_cli_query_filters_like_the_search_bar(
    db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def build() -> None:
        store = await Store.open(db_path, clock=lambda: NOW_MS)
        try:
            await seed(store, reasons=["raid incoming", "calm"])
        finally:
            await store.close()

    asyncio.run(build())
    out = tmp_path / "q.jsonl"
    for out_flag in ("--out", "-o"):
        out.unlink(missing_ok=True)
        code = main(
            [
                "export",
                "--db",
                str(db_path),
                "--format",
                "jsonl",
                out_flag,
                str(out),
                "--query",
                f'actor:{MOD} action:MEMBER_KICK "raid"',
            ]
        )
        assert code == 0
        got = [json.loads(x) for x in out.read_text().splitlines()]
        assert [(r["kind"], r["action"], r["reason"]) for r in got] == [("audit", "MEMBER_KICK", "raid incoming")]
    # ANDed with the flags: --action MEMBER_BAN_ADD and action:MEMBER_KICK have nothing in common.
    code = main(
        [
            "export",
            "--db",
            str(db_path),
            "--format",
            "jsonl",
            "--out",
            str(out),
            "--action",
            "MEMBER_BAN_ADD",
            "--query",
            "action:MEMBER_KICK",
        ]
    )
    assert code == 2
    code = main(["export", "--db", str(db_path), "--format", "csv", "--query", "actor:123 bogus:1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err[-1:]) == 1
    assert "column 11" in err[-1]
    assert "bogus" in err[-1]
    assert "Traceback" not in "".join(err)
