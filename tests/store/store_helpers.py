"""Builders for store tests: raw Discord audit entries and a Python reference filter.

Kept free of pytest so hypothesis tests and fixtures can share it (imported from the test
modules' folder, which pytest puts on ``sys.path``).
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from console.model import entry as entries
from console.model.actions import action_category
from console.model.filters import Exclusions, Filter, text_terms
from console.model.notes import Note
from console.model.snowflake import DISCORD_EPOCH_MS, to_ms
from console.store import AuditStore

#: The ``open_store`` fixture: opens a store to test with these options (see conftest.py).
OpenStore = Callable[..., Awaitable[AuditStore]]

#: 2023-11-14T22:13:20Z, a fixed "history starts here".
T0_MS = 1_700_000_000_000
#: The store fixture's fixed clock: stored ``received_at`` values are predictable.
NOW_MS = 1_720_000_000_000


def snowflake(ms: int, low: int = 0) -> int:
    return (ms - DISCORD_EPOCH_MS) << 22 | (low & 0x3FFFFF)


def note_row(
    guild_id: int, record_kind: str, record_id: int, text: str, *, at_ms: int, low: int, actor_id: int, **changes: Any
) -> Note:
    """A note added at ``at_ms`` (its id that time's snowflake | ``low``); ``changes`` make it an
    edit or a removal (``action``, ``supersedes``) or change any other field."""
    return Note(
        id=snowflake(at_ms, low),
        guild_id=guild_id,
        record_kind=record_kind,
        record_id=record_id,
        member_id=None,
        actor_id=actor_id,
        actor_name="mod",
        created_at=at_ms,
        action="add",
        supersedes=None,
        text=text,
    )._replace(**changes)


def raw_entry(
    entry_id: int,
    action_type: int,
    *,
    user_id: int | None = None,
    target_id: int | str | None = None,
    reason: str | None = None,
    changes: list[dict[str, Any]] | None = None,
    options: dict[str, Any] | None = None,
    guild_id: int | None = None,
) -> dict[str, Any]:
    """A raw entry as Discord's REST sends it (``guild_id`` only for the gateway's dispatch)."""
    raw: dict[str, Any] = {
        "id": str(entry_id),
        "action_type": action_type,
        "user_id": None if user_id is None else str(user_id),
        "target_id": None if target_id is None else str(target_id),
    }
    if reason is not None:
        raw["reason"] = reason
    if changes is not None:
        raw["changes"] = changes
    if options is not None:
        raw["options"] = options
    if guild_id is not None:
        raw["guild_id"] = str(guild_id)
    return raw


# -- a small, varied data set for the filter tests ------------------------------------------------

GUILDS = (1_000_000_000_000_001, 1_000_000_000_000_002)
ACTORS = tuple(2_000_000_000_000_000 + i for i in range(5))
TARGETS = tuple(3_000_000_000_000_000 + i for i in range(8))
# Known actions from several categories, plus two undocumented ones.
ACTIONS = (22, 20, 24, 25, 31, 72, 11, 13, 250, 999)
WORDS = ("raid", "spam", "alt", "account", "appeal", "phishing", "link", "toxic", "warned", "bot")
NAMES = (
    {("user", a): f"mod{i} keeper" for i, a in enumerate(ACTORS)}
    | {("user", t): f"member{i}" for i, t in enumerate(TARGETS[:4])}
    | {("role", TARGETS[4]): "helpers crew"}
)


@dataclass(frozen=True)
class Row:
    raw: dict[str, Any]
    guild_id: int

    @property
    def id(self) -> int:
        return int(self.raw["id"])


def dataset(seed: int = 7, n: int = 400) -> list[Row]:
    """``n`` entries over ~60 days, ids strictly increasing, from a seeded generator."""
    rnd = random.Random(seed)
    rows: list[Row] = []
    ms = T0_MS
    for i in range(n):
        ms += rnd.randint(1, 4 * 3600 * 1000)
        action = rnd.choice(ACTIONS)
        reason = None
        if rnd.random() < 0.8:
            reason = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(1, 4)))
        changes = None
        if action == 24:
            changes = [{"key": "nick", "old_value": rnd.choice(WORDS), "new_value": "renamed"}]
        elif action == 31:
            changes = [{"key": "permissions", "old_value": "0", "new_value": str(1 << rnd.choice((3, 17)))}]
        target = rnd.choice((*TARGETS, None)) if action != 72 else rnd.choice(TARGETS)
        rows.append(
            Row(
                raw_entry(
                    snowflake(ms, i),
                    action,
                    user_id=rnd.choice((*ACTORS, None)),
                    target_id=target,
                    reason=reason,
                    changes=changes,
                    options={"count": str(rnd.randint(1, 9)), "channel_id": "42"} if action == 72 else None,
                ),
                rnd.choice(GUILDS),
            )
        )
    return rows


# -- the reference filter -------------------------------------------------------------------------

_TOKEN = re.compile(r"[0-9a-z]+")


def _columns(row: Row, names: Mapping[tuple[str, int], str]) -> list[list[str]]:
    """The entry's full-text columns as token lists (reason, names, changes), like unicode61."""
    e = entries.parse_entry(row.raw, row.guild_id)
    found = []
    if e.actor_id is not None:
        found.append(names.get(("user", e.actor_id), ""))
    if e.target_id is not None:
        for kind in ("user", "role", "channel"):
            if (kind, int(e.target_id)) in names:
                found.append(names[(kind, int(e.target_id))])
                break
    texts = [e.reason or "", " ".join(found), entries.changes_text(e)]
    return [_TOKEN.findall(t.lower()) for t in texts]


def _text_matches(columns: list[list[str]], text: str) -> bool:
    for m in re.finditer(r'"([^"]*)"|(\S+)', text):
        phrase, word = m.group(1), m.group(2)
        if phrase is not None:
            want = _TOKEN.findall(phrase.lower())
            if not want:
                if phrase.strip():
                    return False  # FTS5: a phrase without a token matches nothing
                continue
            if not any(col[i : i + len(want)] == want for col in columns for i in range(len(col) - len(want) + 1)):
                return False
            continue
        prefix = word.endswith("*")
        bare = word.rstrip("*").replace('"', "")
        tokens = _TOKEN.findall(bare.lower())
        if not tokens:
            if bare:
                return False  # FTS5: a word without a token ("!!!") matches nothing
            continue
        if len(tokens) > 1:  # "a-b" is a phrase to FTS5
            if not _text_matches(columns, '"' + " ".join(tokens) + '"'):
                return False
            continue
        (tok,) = tokens
        if prefix:
            if not any(t.startswith(tok) for col in columns for t in col):
                return False
        elif not any(tok in col for col in columns):
            return False
    return True


def _excluded(row: Row, e: entries.AuditEntry, ex: Exclusions, names: Mapping[tuple[str, int], str]) -> bool:
    """Whether ``ex`` drops the entry: any field holding its value (an entry without an actor or
    a target is never dropped by that field); any excluded term matching its text. The rows are
    stored by backfill."""
    target = None if e.target_id is None else int(e.target_id)
    return (
        "audit" in ex.kinds
        or e.guild_id in ex.guild_ids
        or e.action_type in ex.actions
        or action_category(e.action_type) in ex.categories
        or (e.actor_id is not None and e.actor_id in ex.actor_ids)
        or (target is not None and target in ex.target_ids)
        or "backfill" in ex.sources
        or any(
            _text_matches(_columns(row, names), f'"{term}"' if not prefix else term + "*")
            for term, prefix in text_terms(ex.text)
        )
    )


def reference(rows: Iterable[Row], flt: Filter, names: Mapping[tuple[str, int], str]) -> list[int]:
    """Ids of the rows ``flt`` keeps, in its order: fields AND, choices within a field OR."""
    out = []
    for row in rows:
        e = entries.parse_entry(row.raw, row.guild_id)
        if flt.kinds and "audit" not in flt.kinds:
            continue
        if flt.guild_ids and e.guild_id not in flt.guild_ids:
            continue
        if flt.actions and e.action_type not in flt.actions:
            continue
        if flt.categories and action_category(e.action_type) not in flt.categories:
            continue
        if flt.actor_ids and e.actor_id not in flt.actor_ids:
            continue
        if flt.target_ids and (e.target_id is None or int(e.target_id) not in flt.target_ids):
            continue
        involved = {e.actor_id, None if e.target_id is None else int(e.target_id)}
        if flt.member_ids and not involved & flt.member_ids:
            continue
        created = to_ms(e.id)
        if flt.since_ms is not None and created < flt.since_ms:
            continue
        if flt.until_ms is not None and created >= flt.until_ms:
            continue
        if flt.text and not _text_matches(_columns(row, names), flt.text):
            continue
        if _excluded(row, e, flt.exclude, names):
            continue
        out.append(e.id)
    return sorted(out, reverse=flt.newest_first)


async def table_rows(store: AuditStore, sql: str) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` (no arguments) read straight from the store's database, behind its back:
    what a test checks the store really wrote."""
    fetch = getattr(store, "fetch", None)
    if fetch is not None:  # PostgreSQL
        return [tuple(r) for r in await fetch(sql)]
    import sqlite3

    db = sqlite3.connect(f"file:{store.path}?mode=ro", uri=True)  # type: ignore[attr-defined]
    try:
        return [tuple(r) for r in db.execute(sql)]
    finally:
        db.close()


# -- the same rows on PostgreSQL ------------------------------------------------------------------


async def copy_to_postgres(path: Path, url: str) -> None:
    """Copy the SQLite store at ``path`` row for row into the empty database at ``url`` (what
    ``audit-console migrate`` does): tests then compare what each backend makes of the same rows."""
    from console.store.postgres.store import PgStore
    from console.store.transfer import copy_store, open_side

    await (await PgStore.open(url, collector_lock=False, names=False)).close()  # the schema

    def copy() -> None:
        src, dst = open_side(path, write=False), open_side(url, write=True)
        try:
            copy_store(src, dst)
        finally:
            dst.close()
            src.close()

    await asyncio.to_thread(copy)  # blocking connections of its own
