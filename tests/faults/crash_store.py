"""What the crash case reads from the store: snapshots through a separate read-only sqlite3
connection (never the console's own code), and the comparisons that make its figures.

"Committed" means readable by another connection: a row a reader saw just before the SIGKILL, or
that the file holds just after it (SQLite shows a reader only committed transactions), must be
there after the restart with the same content. An entry Discord updated in place may have moved
on to a newer revision; then its earlier content must be the kept revision of that number.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from console.store import chain

FINAL_STATES = frozenset({"confirmed", "reverted", "failed", "expired", "cancelled"})


@dataclass
class Snapshot:
    entries: dict[int, tuple[int, bytes]] = field(default_factory=dict)
    """entry id → (revision, sha256 of raw + content hash)."""
    revisions: set[tuple[int, int, bytes]] = field(default_factory=set)
    """(entry id, revision, digest) of earlier contents kept in audit_revisions."""
    changes: dict[int, tuple[int, int, str, str | None, str]] = field(default_factory=dict)
    """role change id → (member, role, op, reason, state)."""
    chain_started: bool = False


def _digest(raw: str, content_hash: bytes) -> bytes:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass") + b"\0" + bytes(content_hash)).digest()


def connect_ro(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db.resolve().as_uri() + "?mode=ro", uri=True, isolation_level=None, timeout=10.0)
    conn.execute("PRAGMA busy_timeout = 10000")
    return conn


def snapshot(db: Path) -> Snapshot:
    """Everything committed now (one read transaction). Empty before the schema exists."""
    snap = Snapshot()
    if not db.exists():
        return snap
    conn = connect_ro(db)
    try:
        conn.execute("BEGIN")
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "audit_entries" in tables:
            for i, rev, raw, h in conn.execute("SELECT id, revision, raw, content_hash FROM audit_entries"):
                snap.entries[i] = (rev, _digest(raw, h))
            for i, rev, raw, h in conn.execute("SELECT entry_id, revision, raw, content_hash FROM audit_revisions"):
                snap.revisions.add((i, rev, _digest(raw, h)))
        if "role_changes" in tables:
            for row in conn.execute("SELECT id, member_id, role_id, op, reason, state FROM role_changes"):
                snap.changes[row[0]] = tuple(row[1:])  # type: ignore[assignment]
        if "meta" in tables:
            snap.chain_started = (
                conn.execute("SELECT 1 FROM meta WHERE key = ?", (chain.STARTED_KEY,)).fetchone() is not None
            )
        conn.execute("COMMIT")
    finally:
        conn.close()
    return snap


def entries_lost(committed: Snapshot, after: Snapshot) -> list[int]:
    """Ids of committed entries that are gone, or whose committed content is nowhere after."""
    lost = []
    for i, (rev, digest) in committed.entries.items():
        now = after.entries.get(i)
        if now is None or now != (rev, digest) and (i, rev, digest) not in after.revisions:
            lost.append(i)
    return lost


def stored_ids(db: Path) -> set[int]:
    if not db.exists():
        return set()
    conn = connect_ro(db)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "audit_entries" not in tables:
            return set()
        return {r[0] for r in conn.execute("SELECT id FROM audit_entries")}
    finally:
        conn.close()


def open_changes(db: Path) -> int:
    """Role changes not yet in a final state."""
    if not db.exists():
        return 0
    conn = connect_ro(db)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "role_changes" not in tables:
            return 0
        marks = ",".join("?" * len(FINAL_STATES))
        return conn.execute(
            f"SELECT count(*) FROM role_changes WHERE state NOT IN ({marks})", tuple(FINAL_STATES)
        ).fetchone()[0]
    finally:
        conn.close()


def has_guild_state(db: Path, guild_id: int) -> bool:
    if not db.exists():
        return False
    conn = connect_ro(db)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return (
            "guild_state" in tables
            and conn.execute("SELECT 1 FROM guild_state WHERE guild_id = ?", (guild_id,)).fetchone() is not None
        )
    finally:
        conn.close()


def integrity_problem(db: Path) -> str | None:
    """SQLite's full integrity_check on the file: None when it says ok."""
    if not db.exists():
        return None
    conn = connect_ro(db)
    try:
        found = [str(r[0]) for r in conn.execute("PRAGMA integrity_check")]
    except sqlite3.DatabaseError as e:
        return str(e)
    finally:
        conn.close()
    return None if found == ["ok"] else "; ".join(found[:3])
