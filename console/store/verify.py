"""Verifying a store: SQLite's own ``integrity_check``, then every guild's hash chain (see
``chain.py``) against the stored records, read-only and in one read transaction."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import orjson

from console.model import entry as entries
from console.model.retention import DAY_MS
from console.model.snowflake import from_ms, to_ms
from console.model.snowflake import parse as parse_id
from console.store.chain import (
    COMPACT,
    DECISION,
    DECISION_COLUMNS,
    ENTRY,
    ENTRY_HEAD,
    FINAL_SQL,
    KIND_NAMES,
    NOTE,
    NOTE_COLUMNS,
    PLURALS,
    PRUNE,
    ROLE_CHANGE,
    ROLE_CHANGE_COLUMNS,
    STARTED_KEY,
    entry_hash,
    genesis,
    link_hash,
    note_hash,
    revision_content,
    row_hash,
)
from console.store.connection import describe, readonly_uri
from console.store.errors import StoreError
from console.store.retention import reach_text


class Walk(Protocol):
    """What the chain check reads through: a ``sqlite3.Connection``, or the PostgreSQL store's
    blocking connection (``postgres/blocking.py``): ``execute`` with ``?`` placeholders, giving
    rows to iterate or ``fetchone``."""

    def execute(self, sql: str, parameters: Any = (), /) -> Any: ...


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
            self._add(guild, f"{n:,} {PLURALS[kind]} (ids {first} to {last}) {verb[1]}{what}")

    def render(self) -> list[str]:
        self.flush()
        out: list[str] = []
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
    collector commits meanwhile is not half seen. Raises StoreError (one line) only for what it
    cannot read at all.
    """
    try:
        return _verify(path, integrity_check)
    except sqlite3.Error as e:
        raise StoreError(describe(e, path)) from None


def _verify(path: Path, integrity_check: bool) -> VerifyReport:
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
            verify_chain(db, report, _tables(db))
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


def verify_chain(db: Walk, report: VerifyReport, tables: set[str]) -> None:
    """Every guild's chain against the stored records, on either backend's connection."""
    problems = _Problems()
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
        f"SELECT {ROLE_CHANGE_COLUMNS}, state IN {FINAL_SQL} FROM role_changes ORDER BY id",
        covered,
        problems,
        report,
        guilds,
    )
    if "notes" in tables:
        _check_rows(db, NOTE, f"SELECT {NOTE_COLUMNS} FROM notes ORDER BY id", covered, problems, report, guilds)
    report.guilds = len(guilds)
    report.problems.extend(problems.render())


def _walk_links(
    db: Walk,
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


def _links_by_record(db: Walk, kind: int) -> Iterator[tuple[int, list[tuple[int, int, int, bytes]]]]:
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
    db: Walk, covered: dict[int, int], problems: _Problems, report: VerifyReport, guilds: set[int]
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


def _check_revisions(db: Walk, rid: int, head: Sequence[Any], links: list[Any], problems: _Problems) -> None:
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
    db: Walk,
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
