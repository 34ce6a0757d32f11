"""The integrity chain, its verification, and retention.

Per guild, every stored record is one link in a hash chain (table ``chain``)::

    link[n] = sha256(link[n-1] ‖ "n|kind|record id|revision|at|" ‖ content hash)

The content hash covers the record's canonical content (every stored column of an audit entry,
a decision, a role change's final state). Links are written in the same transaction as the
records, so a committed record always has its link. Discord's in-place updates (revisions) and a
role change's later final state (confirmed, then reverted) are new links with the next revision.
``chain_heads`` keeps each guild's last link, so cutting links off the end is seen too.

Retention removes records outside a guild's window and says so in the chain: first a *prune*
link ("records before this id may be removed", with the window it applied), then the deletions,
then a *compact* link that drops the links no longer needed and records the hash the remaining
links start from. ``verify`` therefore knows which deletions were legitimate.

What this proves: any edit, insertion or deletion made with SQL behind the console's back, or
an in-between link removed or changed, is detected. It cannot stop someone who rewrites the whole
chain with this very code; write down (or post) the guild heads that ``verify`` prints to detect
that too.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import aiosqlite
import orjson

from console.model import entry as entries
from console.model.records import RoleChange
from console.model.retention import DAY_MS, Retention
from console.model.snowflake import from_ms, to_ms
from console.model.snowflake import parse as parse_id
from console.store.connection import one, readonly_uri, rows

log = logging.getLogger("console.store.integrity")

ENTRY, DECISION, ROLE_CHANGE, COMPACT, PRUNE = 0, 1, 2, 8, 9
RECORD_KINDS: Final = (ENTRY, DECISION, ROLE_CHANGE)
KIND_NAMES: Final = {
    ENTRY: "entry",
    DECISION: "decision",
    ROLE_CHANGE: "role change",
    COMPACT: "compact",
    PRUNE: "prune",
}
_PLURALS: Final = {ENTRY: "entries", DECISION: "decisions", ROLE_CHANGE: "role changes"}

#: meta key set once every record stored before the chain existed has been linked.
STARTED_KEY: Final = "chain_started"

#: The columns whose content an audit entry's link covers (``raw`` is hashed after them).
ENTRY_HEAD: Final = "id, guild_id, action_type, actor_id, target_id, reason, created_at, received_at, source"
DECISION_COLUMNS: Final = (
    "id, guild_id, created_at, actor_id, actor_name, actor_roles, actor_admin, actor_owner, capability,"
    " resource_type, resource_id, source, result, reason_code, path, policy_version"
)
#: A role change's final state: not its retry schedule, nor its audit message's bookkeeping.
ROLE_CHANGE_COLUMNS: Final = (
    "id, guild_id, member_id, role_id, op, reason, requested_by, source, decision_id, state, created_at,"
    " updated_at, attempts, observed_at, error, linked_entry_id, cancelled_by"
)
_FINAL_SQL: Final = "(" + ",".join(f"'{s}'" for s in sorted(RoleChange.FINAL)) + ")"


# -- hashing --------------------------------------------------------------------------------------


def _digest(blob: bytes) -> bytes:
    return hashlib.sha256(blob).digest()[:16]


def _dump(values: Sequence[Any]) -> bytes:
    try:
        return orjson.dumps(list(values))
    except (TypeError, orjson.JSONEncodeError):
        # A value SQL put there that the console never writes (bytes, a huge int): it cannot
        # match what was linked, and must not crash the check.
        return repr(tuple(values)).encode("utf-8", "replace")


def entry_hash(head: Sequence[Any], raw_json: str | bytes) -> bytes:
    """Content hash of an audit entry: ``head`` are the ENTRY_HEAD values, then its raw JSON."""
    raw = raw_json.encode("utf-8", "surrogatepass") if isinstance(raw_json, str) else bytes(raw_json)
    return _digest(_dump(head) + b"\n" + raw)


def row_hash(values: Sequence[Any]) -> bytes:
    """Content hash of a decision or a role change (its DECISION_/ROLE_CHANGE_COLUMNS)."""
    return _digest(_dump(values))


def note_hash(note: str) -> bytes:
    return _digest(note.encode("utf-8", "surrogatepass"))


def genesis(guild_id: int) -> bytes:
    """The "previous link" of a guild's first link."""
    return hashlib.sha256(b"audit-console chain v1\0%d" % guild_id).digest()


def link_hash(prev: bytes, seq: int, kind: int, record_id: int, revision: int, at: int, content: bytes) -> bytes:
    return hashlib.sha256(b"%s%d|%d|%d|%d|%d|%s" % (prev, seq, kind, record_id, revision, at, content)).digest()


#: kind, record id, revision, content hash, note (prune and compact links only)
Item = tuple[int, int, int, bytes, str | None]


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
        " VALUES (?,?,?,?,?,?,?,?,?)",
        links,
    )
    await db.executemany(
        "INSERT INTO chain_heads (guild_id, seq, link) VALUES (?,?,?)"
        " ON CONFLICT (guild_id) DO UPDATE SET seq = excluded.seq, link = excluded.link",
        new_heads,
    )


async def link_decision(db: aiosqlite.Connection, decision_id: int, at: int) -> None:
    """Link a decision just inserted (read back, so the hash is of what SQLite stored)."""
    row = await one(db, f"SELECT {DECISION_COLUMNS} FROM decisions WHERE id = ?", (decision_id,))
    if row is not None:
        await append(db, {row[1]: [(DECISION, decision_id, 0, row_hash(row), None)]}, at)


async def link_role_change(db: aiosqlite.Connection, change_id: int, at: int) -> None:
    """Link a role change's final state, once per distinct final content (a revert is a new link)."""
    row = await one(
        db, f"SELECT {ROLE_CHANGE_COLUMNS} FROM role_changes WHERE id = ? AND state IN {_FINAL_SQL}", (change_id,)
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


def revision_content(head: Sequence[Any], old_raw: str, guild_id: int) -> bytes:
    """The content an entry had at an earlier revision: its columns then, from its raw JSON
    then (an in-place update rewrites ``raw`` and ``reason`` only)."""
    try:
        reason = entries.parse_entry(orjson.loads(old_raw), guild_id).reason
    except (entries.MalformedEntry, orjson.JSONDecodeError, TypeError):
        reason = None
    values = list(head)
    values[5] = reason
    return entry_hash(values, old_raw)


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
                head, raw, rev = r[:9], r[9], r[10]
                items = by_guild.setdefault(r[1], [])
                if rev:
                    old = dict(await rows(db, "SELECT revision, raw FROM audit_revisions WHERE entry_id = ?", (r[0],)))
                    items.extend(
                        (ENTRY, r[0], k, revision_content(head, old[k], r[1]), None) for k in range(rev) if k in old
                    )
                items.append((ENTRY, r[0], rev, entry_hash(head, raw), None))
            await append(db, by_guild, now_ms)
            made += sum(map(len, by_guild.values()))
        for kind, sql in (
            (DECISION, f"SELECT {DECISION_COLUMNS} FROM decisions ORDER BY id"),
            (ROLE_CHANGE, f"SELECT {ROLE_CHANGE_COLUMNS} FROM role_changes WHERE state IN {_FINAL_SQL} ORDER BY id"),
        ):
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


# -- verify ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class VerifyReport:
    problems: list[str] = field(default_factory=list)
    guilds: int = 0
    records: int = 0
    links: int = 0
    #: guild → (head seq, head link hex) as stored.
    heads: dict[int, tuple[int, str]] = field(default_factory=dict)
    #: guild → the newest retention cut-off (ms): older records were removed.
    pruned_before: dict[int, int] = field(default_factory=dict)
    oldest_ms: int | None = None
    #: True when the database itself is unreadable (the chain was not checked).
    damaged: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.damaged:
            return self.problems[0] if self.problems else "damaged"
        if self.problems:
            n = len(self.problems)
            return f"{n} problem{'s' if n != 1 else ''} found"
        parts = [
            f"ok: database intact; {self.records:,} records in {self.guilds} guild"
            f"{'s' if self.guilds != 1 else ''}, {self.links:,} chain links verified"
        ]
        parts.append(reach_text(self.oldest_ms, self.pruned_before))
        return "; ".join(parts)


def day(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime("%Y-%m-%d")


def reach_text(oldest_ms: int | None, pruned_before: dict[int, int]) -> str:
    """How far back the store reaches, for verify, prune and the README's promise."""
    if oldest_ms is None and not pruned_before:
        return "the store is empty"
    text = f"the store reaches back to {day(oldest_ms)}" if oldest_ms is not None else "no records kept"
    if pruned_before:
        newest = max(pruned_before.values())
        text += f" (retention removed what was older than {day(newest)}" + (
            f" in {len(pruned_before)} guilds)" if len(pruned_before) > 1 else ")"
        )
    return text


class _Problems:
    """Problems per guild; runs of deleted or unlinked records become one line each."""

    CAP = 200

    def __init__(self) -> None:
        self.lines: dict[int | None, list[str]] = {}
        self.counts: dict[int | None, int] = {}
        self._run: tuple[int, int, str, int, int, int] | None = None  # guild, kind, what, first, last, n

    def add(self, guild: int | None, text: str) -> None:
        self.flush()
        self._add(guild, text)

    def _add(self, guild: int | None, text: str) -> None:
        self.counts[guild] = self.counts.get(guild, 0) + 1
        found = self.lines.setdefault(guild, [])
        if len(found) < self.CAP:
            found.append(text)

    def run(self, guild: int, kind: int, what: str, record_id: int) -> None:
        """A record ``what`` ("deleted", ...): consecutive ones of a kind join one line."""
        r = self._run
        if r is not None and r[0] == guild and r[1] == kind and r[2] == what:
            self._run = (guild, kind, what, r[3], record_id, r[5] + 1)
            return
        self.flush()
        self._run = (guild, kind, what, record_id, record_id, 1)

    def flush(self) -> None:
        if self._run is None:
            return
        guild, kind, what, first, last, n = self._run
        self._run = None
        verb = ("is ", "are ") if what.startswith("not ") else ("", "")
        if n == 1:
            self._add(guild, f"{KIND_NAMES[kind]} {first} {verb[0]}{what}")
        else:
            self._add(guild, f"{n:,} {_PLURALS[kind]} (ids {first} to {last}) {verb[1]}{what}")

    def render(self) -> list[str]:
        self.flush()
        out = []
        for guild in sorted(self.lines, key=lambda g: -1 if g is None else g):
            prefix = "" if guild is None else f"guild {guild}: "
            out.extend(prefix + line for line in self.lines[guild])
            more = self.counts[guild] - len(self.lines[guild])
            if more > 0:
                out.append(f"{prefix}… and {more:,} more problems")
        return out


def _connect_ro(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(readonly_uri(Path(path)), uri=True, isolation_level=None, timeout=5.0)
    db.execute("PRAGMA query_only = ON")
    db.execute("PRAGMA busy_timeout = 5000")
    return db


def check_database(db: sqlite3.Connection, path: Path) -> str | None:
    """SQLite's full ``integrity_check``: None when healthy, else one line."""
    try:
        found = [" ".join(str(r[0]).split()) for r in db.execute("PRAGMA integrity_check(100)")]
    except sqlite3.DatabaseError as e:
        return f"database {path} is damaged ({e}); restore a backup"
    problems = [p for p in found if p != "ok"]
    if not problems:
        return None
    more = f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})" if len(problems) > 1 else ""
    return f"database {path} is damaged: {problems[0]}{more}; restore a backup"


def verify(path: Path, *, integrity_check: bool = True) -> VerifyReport:
    """Check the database's own integrity, then every guild's chain against the stored records.

    Read-only (it can run beside a collecting console) and in one read transaction, so what a
    collector commits meanwhile is not half seen. Raises sqlite3.Error only for what it cannot
    read at all (the caller turns that into one line).
    """
    report = VerifyReport()
    db = _connect_ro(path)
    try:
        if integrity_check:
            problem = check_database(db, path)
            if problem is not None:
                report.problems.append(problem)
                report.damaged = True
                return report
        db.execute("BEGIN")
        try:
            _verify_chain(db, report)
        except sqlite3.DatabaseError as e:
            report.problems.append(f"database {path} is damaged ({e}); restore a backup")
            report.damaged = True
        finally:
            with contextlib.suppress(sqlite3.Error):
                db.execute("COMMIT")
    finally:
        db.close()
    return report


def _tables(db: sqlite3.Connection) -> set[str]:
    return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _verify_chain(db: sqlite3.Connection, report: VerifyReport) -> None:
    problems = _Problems()
    tables = _tables(db)
    if "chain" not in tables or "chain_heads" not in tables:
        report.problems.append(
            "the store predates the integrity chain: open it once with a collecting command"
            " (collect, run or backfill), then verify again"
        )
        return
    started = db.execute("SELECT 1 FROM meta WHERE key = ?", (STARTED_KEY,)).fetchone()
    if started is None:
        report.problems.append(
            "the integrity chain has not been started on this store yet: open it once with a"
            " collecting command (collect, run or backfill), then verify again"
        )
        return

    # Retention's own links: what was legitimately removed, and where a compacted chain starts.
    covered: dict[int, int] = {}  # guild → records below this id may have been removed
    bases: dict[tuple[int, int], bytes] = {}  # (guild, first seq kept) → the link before it
    for gid, _seq, kind, rid, note in db.execute(
        "SELECT guild_id, seq, kind, record_id, note FROM chain WHERE kind IN (?, ?)", (PRUNE, COMPACT)
    ):
        try:
            data = orjson.loads(note or "{}")
        except orjson.JSONDecodeError:
            data = {}  # the link check below reports the altered note
        if kind == PRUNE:
            covered[gid] = max(covered.get(gid, 0), rid)
            report.pruned_before[gid] = max(report.pruned_before.get(gid, 0), to_ms(rid))
        else:
            with contextlib.suppress(TypeError, ValueError):
                bases[(gid, int(data["links_before"]))] = bytes.fromhex(data["base"])
            with contextlib.suppress(TypeError, ValueError, KeyError):
                covered[gid] = max(covered.get(gid, 0), int(data["covered_below"]))

    heads = {g: (s, bytes(link)) for g, s, link in db.execute("SELECT guild_id, seq, link FROM chain_heads")}
    report.heads = {g: (s, link.hex()) for g, (s, link) in heads.items()}
    seen_guilds: set[int] = set()
    _walk_links(db, heads, bases, problems, report, seen_guilds)
    for gid, (seq, _) in heads.items():
        if gid not in seen_guilds and seq > 0:
            problems.add(gid, f"chain truncated after link 0: all {seq:,} links are gone")

    guilds: set[int] = set(heads)
    _check_entries(db, covered, problems, report, guilds)
    _check_rows(
        db, DECISION, f"SELECT {DECISION_COLUMNS} FROM decisions ORDER BY id", covered, problems, report, guilds
    )
    _check_rows(
        db,
        ROLE_CHANGE,
        f"SELECT {ROLE_CHANGE_COLUMNS}, state IN {_FINAL_SQL} FROM role_changes ORDER BY id",
        covered,
        problems,
        report,
        guilds,
    )
    report.guilds = len(guilds)
    report.problems.extend(problems.render())


def _walk_links(
    db: sqlite3.Connection,
    heads: dict[int, tuple[int, bytes]],
    bases: dict[tuple[int, int], bytes],
    problems: _Problems,
    report: VerifyReport,
    seen: set[int],
) -> None:
    """Every link follows from the one before it; no link is missing; the head is the last."""
    guild: int | None = None
    prev: bytes | None = None
    expected = 1
    last = 0

    def end(gid: int, last_seq: int, last_link: bytes | None) -> None:
        head = heads.get(gid)
        if head is None:
            problems.add(gid, f"chain head missing (the chain ends at link {last_seq})")
        elif head[0] > last_seq:
            problems.add(gid, f"chain truncated after link {last_seq} (its head is link {head[0]})")
        elif head[0] < last_seq:
            problems.add(gid, f"links {head[0] + 1} to {last_seq} were added after the chain's head")
        elif last_link is not None and head[1] != last_link:
            problems.add(gid, f"chain head does not match link {last_seq}")

    last_link: bytes | None = None
    cur = db.execute(
        "SELECT guild_id, seq, kind, record_id, revision, at, content_hash, link, note FROM chain"
        " ORDER BY guild_id, seq"
    )
    for gid, seq, kind, rid, rev, at, content, link, note in cur:
        content, link = bytes(content), bytes(link)
        report.links += 1
        if gid != guild:
            if guild is not None:
                end(guild, last, last_link)
            guild, expected, prev = gid, 1, genesis(gid)
            seen.add(gid)
        if seq != expected:
            base = bases.get((gid, seq))
            if base is not None:
                prev = base  # retention removed the links before this one, and said so
            else:
                problems.add(
                    gid, f"link {expected} missing" if seq == expected + 1 else f"links {expected} to {seq - 1} missing"
                )
                prev = None
        if kind in (PRUNE, COMPACT) and (note is None or note_hash(note) != content):
            problems.add(gid, f"link {seq} ({KIND_NAMES[kind]}) was altered")
        elif kind == PRUNE:
            _check_prune(gid, seq, rid, at, note, problems)
        if prev is not None and link_hash(prev, seq, kind, rid, rev, at, content) != link:
            problems.add(gid, f"link {seq} was altered (it does not follow from link {seq - 1})")
        prev, expected, last, last_link = link, seq + 1, seq, link
    if guild is not None:
        end(guild, last, last_link)


def _check_prune(gid: int, seq: int, cutoff_id: int, at: int, note: str, problems: _Problems) -> None:
    try:
        data = orjson.loads(note)
        days = data.get("days")
    except (orjson.JSONDecodeError, AttributeError):
        problems.add(gid, f"link {seq} (prune) is unreadable")
        return
    if not isinstance(days, int) or cutoff_id > from_ms(at - days * DAY_MS):
        problems.add(gid, f"the prune at link {seq} removed records inside its {days}-day window")


def _links_by_record(db: sqlite3.Connection, kind: int) -> Iterator[tuple[int, list[tuple[int, int, int, bytes]]]]:
    """(record id, [(guild, seq, revision, content hash), …] in seq order), by record id."""
    cur = db.execute(
        "SELECT record_id, guild_id, seq, revision, content_hash FROM chain WHERE kind = ? ORDER BY record_id, seq",
        (kind,),
    )
    rid: int | None = None
    group: list[tuple[int, int, int, bytes]] = []
    for r, g, s, rev, h in cur:
        if r != rid:
            if rid is not None:
                yield rid, group
            rid, group = r, []
        group.append((g, s, rev, bytes(h)))
    if rid is not None:
        yield rid, group


def _merge(
    records: Iterable[tuple[Any, ...]], links: Iterator[tuple[int, list[Any]]]
) -> Iterator[tuple[int, tuple[Any, ...] | None, list[Any] | None]]:
    """Join two id-ordered streams: (id, record or None, links or None)."""
    rec_it, link_it = iter(records), links
    rec = next(rec_it, None)
    lnk = next(link_it, None)
    while rec is not None or lnk is not None:
        if lnk is None or (rec is not None and rec[0] < lnk[0]):
            yield rec[0], rec, None  # type: ignore[index]
            rec = next(rec_it, None)
        elif rec is None or lnk[0] < rec[0]:
            yield lnk[0], None, lnk[1]
            lnk = next(link_it, None)
        else:
            yield rec[0], rec, lnk[1]
            rec, lnk = next(rec_it, None), next(link_it, None)


def _missing(gid: int, kind: int, rid: int, covered: dict[int, int], problems: _Problems) -> None:
    if rid < covered.get(gid, 0):
        return  # older than a retention cut-off: removed by prune
    problems.run(gid, kind, "deleted", rid)


def _check_entries(
    db: sqlite3.Connection, covered: dict[int, int], problems: _Problems, report: VerifyReport, guilds: set[int]
) -> None:
    records = db.execute(f"SELECT {ENTRY_HEAD}, raw, revision, content_hash FROM audit_entries ORDER BY id")
    for rid, rec, links in _merge(records, _links_by_record(db, ENTRY)):
        if rec is None:
            gid = links[-1][0]  # type: ignore[index]
            guilds.add(gid)
            _missing(gid, ENTRY, rid, covered, problems)
            continue
        gid = rec[1]
        guilds.add(gid)
        report.records += 1
        created = rec[6]
        if isinstance(created, int) and (report.oldest_ms is None or created < report.oldest_ms):
            report.oldest_ms = created
        if links is None:
            if rid < covered.get(gid, 0):
                continue  # stored before the window and not removed yet: the next prune takes it
            problems.run(gid, ENTRY, "not in the chain (added behind the console's back)", rid)
            continue
        problems.flush()  # a record that is there ends a run of deleted ones
        head, raw, revision, stored_hash = rec[:9], rec[9], rec[10], rec[11]
        lgid, _, lrev, lhash = links[-1]
        if revision != lrev:
            problems.add(
                lgid, f"entry {rid} edited after it was stored (revision {revision}, the chain's last is {lrev})"
            )
        elif entry_hash(head, raw) != lhash:
            what = ", ".join(_entry_hints(head, raw, stored_hash, lgid)) or "content changed"
            problems.add(lgid, f"entry {rid} edited after it was stored ({what})")
        if len(links) > 1 or lrev:
            _check_revisions(db, rid, head, links, problems)


def _entry_hints(head: Sequence[Any], raw: Any, stored_hash: Any, linked_guild: int) -> list[str]:
    """Which columns no longer agree with the raw JSON (or the guild the link was made in)."""
    hints = []
    if head[1] != linked_guild:
        hints.append("guild changed")
    try:
        parsed = orjson.loads(raw)
        e = entries.parse_entry(parsed, head[1])
    except (orjson.JSONDecodeError, entries.MalformedEntry, TypeError):
        return [*hints, "raw JSON changed"]
    for name, col, value in (
        ("reason", 5, e.reason),
        ("action", 2, e.action_type),
        ("actor", 3, e.actor_id),
        ("target", 4, parse_id(e.target_id)),
        ("time", 6, e.created_ms),
        ("id", 0, e.id),
    ):
        if head[col] != value:
            hints.append(f"{name} changed")
    if stored_hash is None or bytes(stored_hash) != entries.content_hash(parsed):
        hints.append("raw JSON changed")
    return hints


def _check_revisions(
    db: sqlite3.Connection, rid: int, head: Sequence[Any], links: list[Any], problems: _Problems
) -> None:
    old = {rev: raw for rev, raw in db.execute("SELECT revision, raw FROM audit_revisions WHERE entry_id = ?", (rid,))}
    linked = {}
    for gid, _, rev, content in links[:-1]:
        linked[rev] = content
        raw = old.get(rev)
        if raw is None:
            problems.add(gid, f"entry {rid}: its earlier revision {rev} was deleted")
        elif revision_content(head, raw, gid) != content:
            problems.add(gid, f"entry {rid}: its earlier revision {rev} was edited")
    for rev in sorted(set(old) - set(linked)):
        problems.add(links[-1][0], f"entry {rid}: revision {rev} is not in the chain (added behind the console's back)")


def _check_rows(
    db: sqlite3.Connection,
    kind: int,
    sql: str,
    covered: dict[int, int],
    problems: _Problems,
    report: VerifyReport,
    guilds: set[int],
) -> None:
    name = KIND_NAMES[kind]
    for rid, rec, links in _merge(db.execute(sql), _links_by_record(db, kind)):
        if rec is None:
            gid = links[-1][0]  # type: ignore[index]
            guilds.add(gid)
            _missing(gid, kind, rid, covered, problems)
            continue
        gid = rec[1]
        values = rec
        if kind == ROLE_CHANGE:
            values, final = rec[:-1], rec[-1]
            if not final and links is None:
                continue  # still being carried out: linked once final
        guilds.add(gid)
        report.records += 1
        if links is None:
            if rid < covered.get(gid, 0):
                continue
            problems.run(gid, kind, "not in the chain (added behind the console's back)", rid)
            continue
        problems.flush()
        lgid, _, _, lhash = links[-1]
        if row_hash(values) != lhash:
            what = (
                "guild changed"
                if gid != lgid
                else ("no longer final" if kind == ROLE_CHANGE and not rec[-1] else "content changed")
            )
            problems.add(lgid, f"{name} {rid} edited after it was stored ({what})")


# -- retention ------------------------------------------------------------------------------------


@dataclass(slots=True)
class PruneResult:
    guild_id: int
    days: int
    cutoff_ms: int
    removed: dict[str, int]
    dry_run: bool = False

    @property
    def total(self) -> int:
        return sum(self.removed.values())

    def describe(self) -> str:
        verb = "would remove" if self.dry_run else "removed"
        what = ", ".join(f"{n:,} {k}" for k, n in self.removed.items() if n) or "nothing"
        return f"guild {self.guild_id}: keeps {self.days} days (since {day(self.cutoff_ms)}): {verb} {what}"


#: (label, table, WHERE clause for "outside the window"; ? = guild, cut-off id, cut-off ms)
_PRUNED: Final = (
    ("entries", "audit_entries", "guild_id = :g AND id < :id"),
    ("decisions", "decisions", "guild_id = :g AND id < :id"),
    ("role changes", "role_changes", f"guild_id = :g AND id < :id AND state IN {_FINAL_SQL}"),
    ("gaps", "gaps", "guild_id = :g AND id < :id AND status != 'open'"),
    ("alerts", "alerts", "guild_id = :g AND id < :id"),
    ("break-glass sessions", "break_glass", "guild_id = :g AND expires_at < :ms"),
    ("parse failures", "parse_failures", "guild_id = :g AND received_at < :ms"),
)
#: Rows that belong to a pruned row and go with it.
_DEPENDENTS: Final = {
    "audit_entries": (
        "DELETE FROM audit_fts WHERE rowid IN ({ids})",
        "DELETE FROM audit_revisions WHERE entry_id IN ({ids})",
    ),
    "role_changes": ("DELETE FROM role_change_attempts WHERE change_id IN ({ids})",),
}


async def _guilds(db: aiosqlite.Connection, tables: set[str]) -> list[int]:
    parts = ["SELECT guild_id FROM chain_heads"]
    parts += [f"SELECT guild_id FROM {t}" for t in ("gaps", "role_changes", "decisions") if t in tables]
    found = await rows(db, " UNION ".join(parts))
    return sorted(int(r[0]) for r in found if r[0] is not None)


async def _table_names(db: aiosqlite.Connection) -> set[str]:
    return {r[0] for r in await rows(db, "SELECT name FROM sqlite_master WHERE type = 'table'")}


async def prune(
    store: Any,
    retention: Retention,
    *,
    dry_run: bool = False,
    chunk: int = 2000,
    guild_ids: Iterable[int] | None = None,
) -> list[PruneResult]:
    """Remove every record outside its guild's retention window, never one inside it.

    Per guild: a prune link (the window and cut-off) is committed first, then the rows go in
    chunks of ``chunk`` (a collector's writes interleave), then a compact link drops the links of
    what was removed. An interruption anywhere leaves a chain that verifies; the next run
    finishes the job. Returns what was (or, with ``dry_run``, would be) removed per guild.
    """
    reader = store.reader
    now = store.now_ms()
    tables = await _table_names(reader)
    wanted = None if guild_ids is None else set(guild_ids)
    results = []
    for gid in await _guilds(reader, tables):
        if wanted is not None and gid not in wanted:
            continue
        days = retention.days(gid)
        if days is None:
            continue
        cutoff_ms = now - days * DAY_MS
        params = {"g": gid, "id": from_ms(cutoff_ms), "ms": cutoff_ms}
        removed: dict[str, int] = {}
        for label, table, where in _PRUNED:
            if table in tables:
                (n,) = await one(reader, f"SELECT count(*) FROM {table} WHERE {where}", params)
                removed[label] = int(n)
        result = PruneResult(gid, days, cutoff_ms, removed, dry_run)
        results.append(result)
        if result.total and not dry_run:
            await _prune_guild(store, gid, days, params, removed, tables, chunk)
    return results


async def _prune_guild(
    store: Any, gid: int, days: int, params: dict[str, int], removed: dict[str, int], tables: set[str], chunk: int
) -> None:
    cutoff_id = params["id"]
    note = orjson.dumps({"cutoff_ms": params["ms"], "days": days, "removed": removed}).decode()
    async with store.transaction() as db:
        await append(db, {gid: [(PRUNE, cutoff_id, 0, note_hash(note), note)]}, store.now_ms())
    for _, table, where in _PRUNED:
        if table not in tables:
            continue
        dependents = _DEPENDENTS.get(table, ())
        while True:
            async with store.transaction() as db:
                ids = [
                    r[0]
                    for r in await rows(db, f"SELECT id FROM {table} WHERE {where} ORDER BY id LIMIT {chunk}", params)
                ]
                if ids:
                    marks = ",".join("?" * len(ids))
                    for sql in dependents:
                        await db.execute(sql.format(ids=marks), ids)
                    await db.execute(f"DELETE FROM {table} WHERE id IN ({marks})", ids)
            if len(ids) < chunk:
                break
            await asyncio.sleep(0)
    async with store.transaction() as db:
        await _compact(db, gid, cutoff_id, store.now_ms())
    from console.store.store import IngestResult

    store._notify(IngestResult(guild_ids={gid}))  # the feed reloads and shows how far back it reaches


async def _compact(db: aiosqlite.Connection, gid: int, cutoff_id: int, at: int) -> None:
    """Drop the links before the first one still needed (a record inside the window, or this
    prune's own link), and chain a compact link saying where the rest starts."""
    (first_seq,) = await one(db, "SELECT min(seq) FROM chain WHERE guild_id = ?", (gid,))
    (inside,) = await one(
        db,
        "SELECT min(seq) FROM chain WHERE guild_id = ? AND kind IN (?, ?, ?) AND record_id >= ?",
        (gid, *RECORD_KINDS, cutoff_id),
    )
    # The newest prune link stays too: it is what says the older records may be gone.
    (newest_prune,) = await one(db, "SELECT max(seq) FROM chain WHERE guild_id = ? AND kind = ?", (gid, PRUNE))
    candidates = [s for s in (inside, newest_prune) if s is not None]
    if first_seq is None or not candidates:
        return
    keep_seq = min(candidates)
    if keep_seq <= first_seq:
        return
    base = await one(db, "SELECT link FROM chain WHERE guild_id = ? AND seq = ?", (gid, keep_seq - 1))
    if base is None:
        return  # a hole just before it: leave the chain as it is for verify to report
    (covered,) = await one(db, "SELECT max(record_id) FROM chain WHERE guild_id = ? AND kind = ?", (gid, PRUNE))
    await db.execute("DELETE FROM chain WHERE guild_id = ? AND seq < ?", (gid, keep_seq))
    note = orjson.dumps({"links_before": keep_seq, "base": bytes(base[0]).hex(), "covered_below": covered}).decode()
    await append(db, {gid: [(COMPACT, keep_seq, 0, note_hash(note), note)]}, at)


async def reach(db: aiosqlite.Connection) -> int | None:
    """The newest retention cut-off (ms) of any guild: the store keeps everything after it."""
    row = await one(db, "SELECT max(record_id) FROM chain WHERE kind = ?", (PRUNE,))
    return None if row is None or row[0] is None else to_ms(row[0])


class RetentionTask:
    """Applies retention in a collecting process: soon after start, then every ``interval_s``."""

    def __init__(
        self,
        store: Any,
        retention: Retention,
        *,
        interval_s: float = 3600.0,
        first_delay_s: float = 30.0,
        on_pruned: Callable[[list[PruneResult]], Awaitable[None] | None] | None = None,
    ) -> None:
        self.store = store
        self.retention = retention
        self.interval_s = interval_s
        self.first_delay_s = first_delay_s
        self.on_pruned = on_pruned
        self.runs = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> RetentionTask:
        if self._task is None and not self.retention.forever and not self.store.readonly:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="retention")
        return self

    async def run_once(self) -> list[PruneResult]:
        results = await prune(self.store, self.retention)
        self.runs += 1
        results = [r for r in results if r.total]
        if results:
            for r in results:
                log.info("retention: %s", r.describe())
            if self.on_pruned is not None:
                maybe = self.on_pruned(results)
                if asyncio.iscoroutine(maybe):
                    await maybe
        return results

    async def _run(self) -> None:
        from console.store.errors import StoreError

        delay = self.first_delay_s
        while True:
            await asyncio.sleep(delay)
            delay = self.interval_s
            try:
                await self.run_once()
            except StoreError as e:
                log.warning("retention: prune failed, will retry: %s", e)
            except Exception:
                log.exception("retention: prune failed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
            self._task = None


async def store_reach(db: aiosqlite.Connection) -> tuple[int | None, dict[int, int]]:
    """(the oldest record's time, guild → newest retention cut-off), both in ms."""
    oldest = []
    for table in ("audit_entries", "decisions"):
        (found,) = await one(db, f"SELECT min(id) FROM {table}")
        if found is not None:
            oldest.append(to_ms(found))
    cut = await rows(db, "SELECT guild_id, max(record_id) FROM chain WHERE kind = ? GROUP BY guild_id", (PRUNE,))
    return (min(oldest) if oldest else None), {g: to_ms(r) for g, r in cut}
