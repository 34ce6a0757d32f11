"""`audit-console member --guild ID MEMBER_ID [--json]` on both backends: the member's story and
newest records read from a store another process filled, its counts checked against direct SQL
counts in that store, hostile names inert in the text; one line and exit 2 for bad input."""

from __future__ import annotations

import asyncio
import json

import pytest
from backends import BOTH, db_arg, query

from console.model.location import StoreLocation
from console.model.snowflake import from_ms

from .test_bad_input import assert_one_line, run

G, ME, MOD = 1_000_000_000_000_001, 3_000_000_000_000_001, 2_000_000_000_000_001
T0 = 1_700_000_000_000
HOSTILE = "[bold]evil[/bold]\x1b]52;c;ZXZpbA==\x07"


def _entry(n: int, action: int, actor: int, target: int, **extra: object) -> dict[str, object]:
    return {
        "id": str(from_ms(T0 + n * 60_000)),
        "action_type": action,
        "user_id": str(actor),
        "target_id": str(target),
        "guild_id": str(G),
        **extra,
    }


async def _fill(location: StoreLocation) -> None:
    from console.store import open_store

    store = await open_store(location)
    try:
        timeout = {"key": "communication_disabled_until", "new_value": "2023-11-20T00:00:00+00:00"}
        await store.add_entries(
            [
                _entry(1, 22, MOD, ME, reason=HOSTILE),
                _entry(2, 23, MOD, ME),
                _entry(3, 24, MOD, ME, changes=[timeout]),
                _entry(4, 25, MOD, ME),
                _entry(5, 20, ME, MOD),
                _entry(6, 72, MOD, MOD),  # not theirs
            ],
            source="gateway",
        )
        await store.upsert_names(G, "user", [(ME, HOSTILE), (MOD, "mod_one")])
        await store.save_guild_state(
            G,
            {
                "guild": {"id": str(G), "roles": [{"id": "5", "name": "Members", "permissions": "0", "position": 1}]},
                "channels": [],
                "members": [
                    {"user": {"id": str(ME), "username": "x"}, "roles": ["5"], "joined_at": "2023-01-02T03:04:05+00:00"}
                ],
            },
        )
    finally:
        await store.close()


@pytest.mark.backends(*BOTH)
def test_the_story_in_text_and_json_matches_the_store(location: StoreLocation) -> None:
    asyncio.run(_fill(location))
    text = run("member", "--db", db_arg(location), "--guild", str(G), str(ME))
    assert text.returncode == 0, text.stderr
    out = text.stdout
    assert "\x1b" not in out
    assert "\\x1b]52" in out
    assert "roles: @" in out
    assert "joined 2023-01-02 03:04" in out
    assert "banned 2023-11-14" in out
    assert "by mod_one" in out
    assert "Timeline (newest 5)" in out
    data = json.loads(run("member", "--db", db_arg(location), "--guild", str(G), str(ME), "--json").stdout)
    counted = asyncio.run(
        query(
            location,
            f"SELECT action_type, count(*) FROM audit_entries WHERE guild_id = {G} AND target_id = {ME}"
            " GROUP BY action_type ORDER BY action_type",
        )
    )
    to_them = {int(a): int(n) for a, n in counted}
    assert data["counts"]["bans"] == {"by_them": 0, "to_them": to_them[22]}
    assert data["counts"]["role changes"] == {"by_them": 0, "to_them": to_them[25]}
    assert data["counts"]["timeouts"] == {"by_them": 0, "to_them": 1}
    assert data["counts"]["kicks"] == {"by_them": 1, "to_them": 0}
    assert data["roles"] == ["5"]
    assert data["in_guild_state"] is True
    assert data["username"] == HOSTILE  # JSON carries the raw name; JSON escapes it
    total = asyncio.run(
        query(
            location,
            f"SELECT count(*) FROM audit_entries WHERE guild_id = {G} AND (actor_id = {ME} OR target_id = {ME})",
        )
    )[0][0]
    assert len(data["timeline"]) == total == 5
    assert [i["id"] for i in data["timeline"]] == sorted((i["id"] for i in data["timeline"]), key=int, reverse=True)
    limited = json.loads(
        run("member", "--db", db_arg(location), "--guild", str(G), str(ME), "--json", "--limit", "2").stdout
    )
    assert len(limited["timeline"]) == 2


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--guild", "1", "abc"), "MEMBER_ID"),
        (("--guild", "x", "123"), "--guild"),
        (("123",), "--guild"),
        (("--guild", "1", "123", "--limit", "-1"), "--limit"),
        (("--guild", "1"), "MEMBER_ID"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, args: tuple[str, ...], needle: str) -> None:
    db = tmp_path / "audit.db"
    asyncio.run(_fill(db))
    assert_one_line(run("member", "--db", str(db), *args), 2, needle)


def test_a_missing_store_is_one_line(tmp_path) -> None:
    assert_one_line(run("member", "--db", str(tmp_path / "none.db"), "--guild", "1", "2"), 2, "no database")
