"""Collectors of one bot that run different shards in different processes take turns to start.

Discord lets each ``shard_id % max_concurrency`` bucket IDENTIFY once every 5 s (docs/team.md).
hikari spaces its own shards' buckets, but two processes starting at once would IDENTIFY in the
same window: Discord then refuses one (the simulator answers INVALID_SESSION) and, repeated, may
reset the token. So a sharded collector starts inside a session advisory lock shared by every
collector of the store and keeps it 5 s after its last IDENTIFY: the next one's first IDENTIFY
comes after the window of this one's last, whatever bucket either is in. One lock for every
bucket (not one per bucket) because ``max_concurrency`` is known only inside hikari's start; the
cost is 5 s between two collectors' starts, once.

The lock is on a connection of its own (the writer's transactions must not hold it, and a pooled
connection would be unlocked by the pool): closing the connection releases it, as does the server
when the process dies.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import asyncpg

from console.store.postgres.connect import connect

#: The session advisory lock around a sharded collector's start.
STARTUP_LOCK = "audit-console identify"

#: Discord's window between two IDENTIFYs of one bucket (seconds).
IDENTIFY_WINDOW_S = 5.0


async def take_turn(dsn: str, where: str, options: dict[str, Any]) -> asyncpg.Connection:
    """Wait for the other collectors' starts; the lock is held on the connection returned.
    StoreError with one line when the server cannot be reached."""
    conn = await connect(dsn, where, **{**options, "command_timeout": None})
    try:
        await conn.execute("SELECT pg_advisory_lock(hashtext($1))", STARTUP_LOCK)
    except BaseException:
        conn.terminate()
        raise
    return conn


async def end_turn(conn: asyncpg.Connection, hold_s: float = IDENTIFY_WINDOW_S) -> None:
    """Keep the others waiting ``hold_s`` past this start (also a failed one: its IDENTIFYs, if
    any, were sent), then let the next one start: in the background, so collecting begins now."""
    try:
        await asyncio.sleep(hold_s)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(conn.close(), 5)
