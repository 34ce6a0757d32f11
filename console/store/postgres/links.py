"""Writing the integrity chain (``chain.py`` says what a link is) in PostgreSQL: links are appended
inside the transaction that writes their records, with the same hashes as the SQLite store's
(``chain.extend`` computes them for both), so a store copied between backends verifies the same."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import asyncpg

from console.store.chain import (
    DECISION,
    DECISION_COLUMNS,
    FINAL_SQL,
    ROLE_CHANGE,
    ROLE_CHANGE_COLUMNS,
    Item,
    extend,
    final_revision,
    row_hash,
)


async def append(conn: asyncpg.Connection, by_guild: Mapping[int, Sequence[Item]], at: int) -> None:
    """Append links to each guild's chain. Call inside the transaction that writes the records."""
    by_guild = {g: items for g, items in by_guild.items() if items}
    if not by_guild:
        return
    # FOR UPDATE: the heads stay ours until COMMIT, so a second writer (another console beside the
    # collector) waits instead of forking the chain from the same head.
    found = await conn.fetch(
        "SELECT guild_id, seq, link FROM chain_heads WHERE guild_id = ANY($1::bigint[]) FOR UPDATE", list(by_guild)
    )
    heads = {r[0]: (r[1], bytes(r[2])) for r in found}
    links, new_heads = extend(heads, by_guild, at)
    await conn.executemany(
        "INSERT INTO chain (guild_id, seq, kind, record_id, revision, at, content_hash, link, note)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        links,
    )
    await conn.executemany(
        "INSERT INTO chain_heads (guild_id, seq, link) VALUES ($1, $2, $3)"
        " ON CONFLICT (guild_id) DO UPDATE SET seq = excluded.seq, link = excluded.link",
        new_heads,
    )


async def link_decision(conn: asyncpg.Connection, decision_id: int, at: int) -> None:
    """Link a decision just inserted (read back, so the hash is of what PostgreSQL stored)."""
    row = await conn.fetchrow(f"SELECT {DECISION_COLUMNS} FROM decisions WHERE id = $1", decision_id)
    if row is not None:
        await append(conn, {row[1]: [(DECISION, decision_id, 0, row_hash(tuple(row)), None)]}, at)


async def link_role_change(conn: asyncpg.Connection, change_id: int, at: int) -> None:
    """Link a role change's final state, once per distinct final content (a revert is a new link)."""
    row = await conn.fetchrow(
        f"SELECT {ROLE_CHANGE_COLUMNS} FROM role_changes WHERE id = $1 AND state IN {FINAL_SQL}", change_id
    )
    if row is None:
        return
    content = row_hash(tuple(row))
    last = await conn.fetchrow(
        "SELECT revision, content_hash FROM chain WHERE kind = $1 AND record_id = $2 ORDER BY seq DESC LIMIT 1",
        ROLE_CHANGE,
        change_id,
    )
    revision = final_revision(None if last is None else (last[0], bytes(last[1])), content)
    if revision is not None:
        await append(conn, {row[1]: [(ROLE_CHANGE, change_id, revision, content, None)]}, at)
