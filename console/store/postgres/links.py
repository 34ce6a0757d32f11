"""Writing the integrity chain (``chain.py`` says what a link is) in PostgreSQL: links are appended
inside the transaction that writes their records, hashed by ``chain.py`` exactly as the SQLite
store hashes them (the same records make the same links on both backends), and records stored
before the chain was started are adopted once.

Several processes may write one database (the collector, ``role grant`` beside it): each guild's
chain must grow one link at a time, so a transaction that links takes :func:`lock` first (a
transaction-level advisory lock, released by COMMIT or ROLLBACK) and reads the heads after it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import asyncpg

from console.store.chain import (
    ENTRY_HEAD,
    FINAL_SQL,
    ROLE_CHANGE,
    ROLE_CHANGE_COLUMNS,
    ROW_KINDS,
    STARTED_KEY,
    Item,
    adopted_entry,
    adopted_rows,
    extend,
    row_hash,
)

log = logging.getLogger("console.store.integrity")

#: The advisory lock of the chain's writers (``hashtext`` of this, as the collector's lock is keyed).
CHAIN_LOCK = "audit-console chain"


async def lock(db: asyncpg.Connection) -> None:
    """Be the only transaction linking until this one ends. Take it before writing the records
    to link (a transaction that waits for it then holds no row another one needs)."""
    await db.execute("SELECT pg_advisory_xact_lock(hashtext($1))", CHAIN_LOCK)


#: The columns of a chain row as :func:`console.store.chain.extend` makes them.
_CHAIN_COLUMNS = ("guild_id", "seq", "kind", "record_id", "revision", "at", "content_hash", "link", "note")


async def insert_rows(db: asyncpg.Connection, table: str, columns: Sequence[str], rows: list[Any]) -> None:
    """INSERT ``rows`` (tuples in ``columns``' order) into ``table``: a batch of many by binary
    COPY, which the server takes in about half the time of as many INSERTs (a 500-row batch of
    entries: ~11 against ~22 µs a row), a few by ``executemany`` (COPY costs a round trip more)."""
    if len(rows) >= COPY_FROM:
        await db.copy_records_to_table(table, records=rows, columns=list(columns))
        return
    marks = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    await db.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


#: Batches of at least this many rows are written by COPY.
COPY_FROM = 32


async def append(db: asyncpg.Connection, by_guild: dict[int, list[Item]], at: int, *, locked: bool = False) -> None:
    """Append links to each guild's chain. Call inside the transaction that writes the records
    (``locked``: it holds :func:`lock` already, which spares a round trip)."""
    by_guild = {g: items for g, items in by_guild.items() if items}
    if not by_guild:
        return
    if not locked:
        await lock(db)
    found = await db.fetch("SELECT guild_id, seq, link FROM chain_heads WHERE guild_id = ANY($1)", list(by_guild))
    heads: dict[int, tuple[int, bytes]] = {g: (s, bytes(link)) for g, s, link in found}
    links, new_heads = extend(heads, by_guild, at)
    await insert_rows(db, "chain", _CHAIN_COLUMNS, links)
    # Through the function (schema.py), not an UPDATE: a moderator's login may append links but
    # has no UPDATE on chain_heads, and the function moves a head only forward.
    await db.executemany("SELECT audit_advance_head($1, $2, $3)", new_heads)


async def link_row(db: asyncpg.Connection, kind: int, record_id: int, at: int) -> None:
    """Link a decision or a note just inserted (read back, so the hash is of what PostgreSQL
    stored)."""
    table, columns = ROW_KINDS[kind]
    row = await db.fetchrow(f"SELECT {columns} FROM {table} WHERE id = $1", record_id)
    if row is not None:
        await append(db, {row[1]: [(kind, record_id, 0, row_hash(tuple(row)), None)]}, at)


async def link_role_change(db: asyncpg.Connection, change_id: int, at: int) -> None:
    """Link a role change's final state, once per distinct final content (a revert is a new link)."""
    row = await db.fetchrow(
        f"SELECT {ROLE_CHANGE_COLUMNS} FROM role_changes WHERE id = $1 AND state IN {FINAL_SQL}", change_id
    )
    if row is None:
        return
    content = row_hash(tuple(row))
    await lock(db)  # before reading the last link, which another writer might be adding
    last = await db.fetchrow(
        "SELECT revision, content_hash FROM chain WHERE kind = $1 AND record_id = $2 ORDER BY seq DESC LIMIT 1",
        ROLE_CHANGE,
        change_id,
    )
    if last is not None and bytes(last[1]) == content:
        return
    await append(db, {row[1]: [(ROLE_CHANGE, change_id, 0 if last is None else last[0] + 1, content, None)]}, at)


async def adopt(db: asyncpg.Connection, now_ms: int) -> int:
    """Link every record stored before the chain was started (once: the first writable open of a
    database, or one filled by other means). Call inside a transaction. Returns how many links
    were made."""
    await lock(db)
    if await db.fetchval("SELECT 1 FROM meta WHERE key = $1", STARTED_KEY) is not None:
        return 0
    made = 0
    after = -1
    while True:
        page = await db.fetch(
            f"SELECT {ENTRY_HEAD}, raw, revision FROM audit_entries WHERE id > $1 ORDER BY id LIMIT 2000", after
        )
        if not page:
            break
        after = page[-1][0]
        by_guild: dict[int, list[Item]] = {}
        for r in page:
            earlier = {}
            if r[10]:
                found = await db.fetch("SELECT revision, raw FROM audit_revisions WHERE entry_id = $1", r[0])
                earlier = {k: v for k, v in found}
            by_guild.setdefault(r[1], []).extend(adopted_entry(r, earlier))
        await append(db, by_guild, now_ms)
        made += sum(map(len, by_guild.values()))
    for kind, sql in adopted_rows():
        by_guild = {}
        for r in await db.fetch(sql):
            by_guild.setdefault(r[1], []).append((kind, r[0], 0, row_hash(tuple(r)), None))
        await append(db, by_guild, now_ms)
        made += sum(map(len, by_guild.values()))
    await db.execute("INSERT INTO meta (key, value) VALUES ($1, $2)", STARTED_KEY, str(now_ms))
    if made:
        log.info("integrity chain started over %d records stored before it", made)
    return made
