"""``collect --shards A-B --shard-count N`` and the config's ``shards`` / ``shard_count``: both or
neither (hikari takes shard ids only with their count); anything else is one line and exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from console.config import load
from console.errors import ConfigError
from console.model.shards import ShardGroup, shard_of


def test_a_group_owns_the_guilds_of_its_shards_and_names_its_buckets() -> None:
    group = ShardGroup.parse("2-3", 4)
    assert (group.ids, group.key) == ([2, 3], "shards 2-3/4")
    assert ShardGroup.parse(" 5 ", "8").ids == [5]
    gid = 1_154_522_680_453_365_826
    assert group.owns(gid) == (shard_of(gid, 4) in (2, 3))
    assert shard_of(gid, 4) == (gid >> 22) % 4
    assert ShardGroup.parse("0-5", 16).buckets(4) == [0, 1, 2, 3]
    assert ShardGroup.parse("4-5", 16).buckets(1) == [0]


def test_a_leadership_scope_names_its_group() -> None:
    group = ShardGroup.parse("2-3", 8)
    assert ShardGroup.from_key(group.key) == group
    assert ShardGroup.from_key("") is None  # the unsharded collector's scope
    assert ShardGroup.from_key("shards 1-2/0") is None


def test_the_config_keys_are_taken(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('shards = "0-1"\nshard_count = 4\n', encoding="utf-8")
    assert load(config).shards == ShardGroup(0, 1, 4)
    assert load(None).shards is None  # no sharding: every shard, as before


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ('shards = "0-1"', "shards needs shard_count too (both or neither)"),
        ("shard_count = 4", "shard_count needs shards too (both or neither)"),
        ('shards = "0-4"\nshard_count = 4', "shard 4 does not exist with 4 shards (they are 0-3)"),
        ('shards = "3-1"\nshard_count = 4', "the range 3-1 runs backwards"),
        ('shards = "a"\nshard_count = 4', "expected a shard or a range like 0-3, got 'a'"),
        ('shards = "0"\nshard_count = 0', "the shard count must be a whole number from 1 to 65536, got 0"),
        ('shards = "0"\nshard_count = true', "the shard count must be a whole number"),
    ],
)
def test_bad_config_values_are_one_line(tmp_path: Path, body: str, says: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(body + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load(config)
    assert str(e.value).startswith(f"config {config}: ")
    assert says in str(e.value)


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--shards", "0-1"], "collect: --shards needs --shard-count too (both or neither)"),
        (["--shard-count", "4"], "collect: --shard-count needs --shards too (both or neither)"),
        (["--shards", "0-9", "--shard-count", "4"], "collect: --shards: shard 9 does not exist with 4 shards"),
        (["--shards", "0-1", "--shard-count", "x"], "collect: --shards: the shard count must be a whole number"),
    ],
)
def test_bad_flags_are_one_line_and_exit_2(tmp_path: Path, flags: list[str], says: str) -> None:
    env = {**os.environ, "DISCORD_TOKEN": "MTIz.sim.token", "XDG_CONFIG_HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "console", "collect", "--db", str(tmp_path / "a.db"), *flags],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert says in result.stderr
