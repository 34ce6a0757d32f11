"""Writing the integrity chain (``chain.py`` says what a link is) in PostgreSQL: links are appended
inside the transaction that writes their records.

Only ``append`` for now (what pruning needs); the "pgentries" part brings the rest (linking
entries, decisions and role changes, adopting old records) under the same names."""

from __future__ import annotations

from typing import Any

import asyncpg

from console.store.chain import Item, genesis, link_hash


async def append(db: asyncpg.Connection, by_guild: dict[int, list[Item]], at: int) -> None:
    """Append links to each guild's chain. Call inside the transaction that writes the records."""
    by_guild = {g: items for g, items in by_guild.items() if items}
    if not by_guild:
        return
    # FOR UPDATE: another writer appending to the same guild waits, so no two links get one seq.
    found = await db.fetch(
        "SELECT guild_id, seq, link FROM chain_heads WHERE guild_id = ANY($1::bigint[]) FOR UPDATE", list(by_guild)
    )
    heads = {g: (s, bytes(link)) for g, s, link in found}
    links: list[tuple[Any, ...]] = []
    new_heads: list[tuple[int, int, bytes]] = []
    for gid, items in by_guild.items():
        seq, prev = heads.get(gid, (0, genesis(gid)))
        for kind, rid, rev, content, note in items:
            seq += 1
            prev = link_hash(prev, seq, kind, rid, rev, at, content)
            links.append((gid, seq, kind, rid, rev, at, content, prev, note))
        new_heads.append((gid, seq, prev))
    await db.executemany(
        "INSERT INTO chain (guild_id, seq, kind, record_id, revision, at, content_hash, link, note)"
        " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
        links,
    )
    await db.executemany(
        "INSERT INTO chain_heads (guild_id, seq, link) VALUES ($1,$2,$3)"
        " ON CONFLICT (guild_id) DO UPDATE SET seq = excluded.seq, link = excluded.link",
        new_heads,
    )
