"""The console's own ids: processes that share a worker number start their increments apart."""

from __future__ import annotations

from console.model.snowflake import SnowflakeFactory, from_ms

MS = 1_700_000_000_000


def test_the_increment_starts_where_asked_and_ids_still_grow() -> None:
    one, other = SnowflakeFactory(worker=30), SnowflakeFactory(worker=30, first=2000)
    a, b = one.make(MS), other.make(MS)
    assert a != b  # the same millisecond, the same worker
    assert (a & 0xFFF, b & 0xFFF) == (0, 2000)
    assert a >> 22 == b >> 22 == from_ms(MS) >> 22
    assert other.make(MS) > b
