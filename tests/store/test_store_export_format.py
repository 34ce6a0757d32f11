"""The pure half of the export: the CSV formula guard and JSON escaping, for any text."""

from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from store_helpers import T0_MS, raw_entry, snowflake

from console.model import entry as entries
from console.model.export_format import audit_record, csv_cell, csv_row, dumps, escape_json, json_line

UNSAFE = (
    [chr(c) for c in range(0x80, 0xA0)]
    + ["\x7f", "\u00ad", "\u061c", "\u180e", "\ufeff", "\u2028", "\u2029", "\ufff9", "\ufffb"]
    + [chr(c) for c in range(0x200B, 0x2010)]
    + [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2060, 0x2070)]
)


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-5", "'-5"),  # documented: negatives-looking text is guarded too
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("\0x", "'\0x"),
        ("＝1+1", "'＝1+1"),
        ("＋1", "'＋1"),
        ("－1", "'－1"),
        ("＠x", "'＠x"),
        ("", ""),
        ("plain", "plain"),
        (" =1", " =1"),
        ("a=b", "a=b"),
        ("'=1", "'=1"),
    ],
)
def test_csv_cell(cell: str, shown: str) -> None:
    assert csv_cell(cell) == shown


@given(st.text())
def test_escape_json_round_trips_and_hides_nothing(text: str) -> None:
    data = dumps({"k": text, text[:5]: [text]})
    decoded = data.decode("utf-8")
    assert not any(ch in decoded for ch in UNSAFE)
    assert json.loads(data) == {"k": text, text[:5]: [text]}


@pytest.mark.parametrize("ch", UNSAFE)
def test_every_unsafe_character_is_escaped(ch: str) -> None:
    out = escape_json(orjson.dumps("a" + ch + "b"))
    assert out == b'"a\\u%04xb"' % ord(ch)


def test_ascii_fast_path_returns_the_same_bytes() -> None:
    data = orjson.dumps({"a": "plain text", "n": 1})
    assert escape_json(data) is data
    assert escape_json(b'"x\x7f"') == b'"x\\u007f"'
    # Printable non-ASCII is left alone.
    assert escape_json(orjson.dumps("é 👩‍💻 日本")) == orjson.dumps("é 👩\u200d💻 日本").replace(
        b"\xe2\x80\x8d", b"\\u200d"
    )


def test_json_line_ends_with_newline() -> None:
    assert json_line({"a": "\u202e"}) == b'{"a":"\\u202e"}\n'


def test_audit_record_is_pure_and_takes_a_name_lookup() -> None:
    raw = raw_entry(
        snowflake(T0_MS),
        30,
        user_id=7,
        target_id=8,
        changes=[
            {"key": "permissions", "new_value": str(1 << 3)},
            {"key": "name", "new_value": "Admins"},
        ],
    )
    asked: list[tuple[str, int]] = []

    def names(kind: str, ident: int) -> str | None:
        asked.append((kind, ident))
        return {("user", 7): "mod", ("role", 8): "Admins"}.get((kind, ident))

    rec = audit_record(raw, guild_id=1, received_at_ms=T0_MS, source="backfill", names=names)
    assert (rec["actor_name"], rec["target_name"]) == ("mod", "Admins")
    assert asked == [("user", 7), ("role", 8)]  # role targets are looked up as roles first
    assert rec["permissions"]["added"] == ["ADMINISTRATOR"]
    assert rec["created_at"] == "2023-11-14T22:13:20.000Z"
    row = csv_row(rec)
    assert row[:4] == ["2", "audit", raw["id"], "1"]
    with pytest.raises(entries.MalformedEntry):
        audit_record({"action_type": 1}, guild_id=1, received_at_ms=0, source="gateway")
