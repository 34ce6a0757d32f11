"""Writing the integrity chain (``chain.py`` says what a link is) in SQLite: links are appended
inside the transaction that writes their records, and records stored before the chain existed
are adopted once."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import aiosqlite

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
from console.store.connection import one, rows

log = logging.getLogger("console.store.integrity")


async def append(db: aiosqlite.Connection, by_guild: dict[int, list[Item]], at: int) -> None:
    """Append links to each guild's chain. Call inside the transaction that writes the records."""
    by_guild = {g: items for g, items in by_guild.items() if items}
    if not by_guild:
        return
    guilds = list(by_guild)
    heads: dict[int, tuple[int, bytes]] = {}
    for i in range(0, len(guilds), 500):
        chunk = guilds[i : i + 500]
        found = await rows(
            db, f"SELECT guild_id, seq, link FROM chain_heads WHERE guild_id IN ({','.join('?' * len(chunk))})", chunk
        )
        heads.update({g: (s, bytes(link)) for g, s, link in found})
    links, new_heads = extend(heads, by_guild, at)
    await db.executemany(
        "INSERT INTO chain (guild_id, seq, kind, record_id, revision, at, content_hash, link, note)"
        " VALUES (?,?,?,?,?,?,?,?,?)",
        links,
    )
    await db.executemany(
        "INSERT INTO chain_heads (guild_id, seq, link) VALUES (?,?,?)"
        " ON CONFLICT (guild_id) DO UPDATE SET seq = excluded.seq, link = excluded.link",
        new_heads,
    )


async def link_row(db: aiosqlite.Connection, kind: int, record_id: int, at: int) -> None:
    """Link a decision or a note just inserted (read back, so the hash is of what SQLite stored)."""
    table, columns = ROW_KINDS[kind]
    row = await one(db, f"SELECT {columns} FROM {table} WHERE id = ?", (record_id,))
    if row is not None:
        await append(db, {row[1]: [(kind, record_id, 0, row_hash(row), None)]}, at)


async def link_role_change(db: aiosqlite.Connection, change_id: int, at: int) -> None:
    """Link a role change's final state, once per distinct final content (a revert is a new link)."""
    row = await one(
        db, f"SELECT {ROLE_CHANGE_COLUMNS} FROM role_changes WHERE id = ? AND state IN {FINAL_SQL}", (change_id,)
    )
    if row is None:
        return
    content = row_hash(row)
    last = await one(
        db,
        "SELECT revision, content_hash FROM chain WHERE kind = ? AND record_id = ? ORDER BY seq DESC LIMIT 1",
        (ROLE_CHANGE, change_id),
    )
    if last is not None and bytes(last[1]) == content:
        return
    await append(db, {row[1]: [(ROLE_CHANGE, change_id, 0 if last is None else last[0] + 1, content, None)]}, at)


async def adopt(db: aiosqlite.Connection, now_ms: int) -> int:
    """Link every record stored before the chain existed (once, on the first writable open after
    the migration). Returns how many links were made."""
    if await one(db, "SELECT 1 FROM meta WHERE key = ?", (STARTED_KEY,)) is not None:
        return 0
    made = 0
    await db.execute("BEGIN IMMEDIATE")
    try:
        after = -1
        while True:
            page = await rows(
                db,
                f"SELECT {ENTRY_HEAD}, raw, revision FROM audit_entries WHERE id > ? ORDER BY id LIMIT 2000",
                (after,),
            )
            if not page:
                break
            after = page[-1][0]
            by_guild: dict[int, list[Item]] = {}
            for r in page:
                earlier = {}
                if r[10]:
                    earlier = dict(
                        await rows(db, "SELECT revision, raw FROM audit_revisions WHERE entry_id = ?", (r[0],))
                    )
                by_guild.setdefault(r[1], []).extend(adopted_entry(r, earlier))
            await append(db, by_guild, now_ms)
            made += sum(map(len, by_guild.values()))
        for kind, sql in adopted_rows():
            by_guild = {}
            for r in await rows(db, sql):
                by_guild.setdefault(r[1], []).append((kind, r[0], 0, row_hash(r), None))
            await append(db, by_guild, now_ms)
            made += sum(map(len, by_guild.values()))
        await db.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (STARTED_KEY, str(now_ms)))
    except BaseException:
        with contextlib.suppress(Exception):
            await asyncio.shield(db.execute("ROLLBACK"))
        raise
    await db.execute("COMMIT")
    if made:
        log.info("integrity chain started over %d records stored before it", made)
    return made
