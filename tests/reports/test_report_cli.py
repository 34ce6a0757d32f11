"""``audit-console report``: bad input is one line and exit 2; hostile names cannot break the
Markdown; the file output is atomic. On both store backends."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from backends import BOTH, db_arg

from console.model.location import StoreLocation
from console.model.snowflake import from_ms
from console.store import open_store

BACKENDS = BOTH

GUILD = 1239547694285717505
HOSTILE_NAME = "evil | name\n| --- |\x1b[31m [link](javascript:alert(1)) <script>x</script> *b* `c` \u202e"
NOW = int(time.time() * 1000)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "console", "report", *args], capture_output=True, text=True, timeout=60
    )


@pytest.fixture
async def db(location: StoreLocation) -> str:
    """The store, as ``--db`` names it."""
    store = await open_store(location)
    await store.upsert_names(GUILD, "user", [(111111111111111111, HOSTILE_NAME), (222222222222222222, "plain_mod")])
    await store.add_entries(
        [
            {
                "id": str(from_ms(NOW - 3_600_000 * (i + 1))),
                "action_type": 22 if i % 2 else 20,
                "user_id": "111111111111111111" if i < 3 else "222222222222222222",
                "target_id": "333333333333333333",
                "reason": "r",
            }
            for i in range(5)
        ],
        source="gateway",
        guild_id=GUILD,
    )
    await store.close()
    return db_arg(location)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--since", "yesterday"], "bad date 'yesterday'"),
        (["--since", "7d", "--until", "30d"], "--since must be before --until"),
        (["--format", "xml"], "invalid choice: 'xml'"),
        (["--guild", "abc"], "--guild"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(db: str, args: list[str], says: str) -> None:
    done = _run("--db", db, *args)
    assert done.returncode == 2, done
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert says in lines[0], done.stderr
    assert "Traceback" not in done.stderr


def test_a_missing_store_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = _run("--db", str(tmp_path / "nope.db"))
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "nope.db").exists(), "a report never creates a store"


def test_a_bad_reports_config_is_one_line_and_exit_2(db: str, tmp_path: Path) -> None:
    for body, says in (
        ('[reports]\nevery = "daily"\nfolder = "/tmp/x"\n', "reports.every"),
        ('[reports]\nevery = "weekly"\n', "needs a folder, a channel, or both"),
        ('[reports]\nevery = "weekly"\nchannel = "general"\n', "reports.channel"),
        ('[reports]\nevery = "weekly"\nfolder = "/tmp/x"\ncolour = 1\n', "reports.colour"),
    ):
        config = tmp_path / "config.toml"
        config.write_text(body, encoding="utf-8")
        done = _run("--db", db, "--config", str(config))
        assert done.returncode == 2, done
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert says in done.stderr, done.stderr


def _cells(row: str) -> list[str]:
    """A Markdown table row split on unescaped pipes."""
    return re.split(r"(?<!\\)\|", row.strip())[1:-1]


def test_hostile_names_cannot_break_the_markdown(db: str) -> None:
    done = _run("--db", db, "--since", "1d")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "\x1b" not in out
    assert "\u202e" not in out
    assert "<script>" not in out
    section = out.split("## Actions per moderator", 1)[1].split("###", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    assert len(rows) == 2 + 2  # header, rule, two moderators
    assert all(len(_cells(r)) == 3 for r in rows), rows
    hostile = next(r for r in rows if "111111111111111111" in r)
    name = _cells(hostile)[0].strip()
    # Every Markdown-active character is escaped; the sanitiser made the invisible visible.
    # (the sanitiser's "\x1b" keeps its backslash, escaped, so it renders as \x1b).
    assert name.startswith(
        r"evil \| name \| --- \|\\x1b\[31m \[link\]\(javascript:alert\(1\)\) \<script\>x\</script\>"
        r" \*b\* "
    )
    assert _cells(hostile)[2].strip() == "3"


def test_json_to_a_file_is_atomic_and_keeps_raw_names(db: str, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    done = _run("--db", db, "--since", "1d", "--format", "json", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert not out.with_name("r.json.part").exists()
    data = json.loads(out.read_text(encoding="utf-8"))
    assert "\\u202e" in out.read_text(encoding="utf-8")  # escaped in the file, the same string decoded
    people = {p["id"]: p for p in data["actions_by_moderator"]}
    assert people["111111111111111111"] == {"id": "111111111111111111", "name": HOSTILE_NAME, "count": 3}
    assert people["222222222222222222"]["count"] == 2
    assert data["inactive_staff"] is None  # no guild state: unknown, not "nobody"
