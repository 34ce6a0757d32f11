"""Reading: keyset pages never skip or repeat, and every Filter field (alone and combined) returns
exactly what a plain Python reference filter returns over the same rows; counts agree."""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pgtest import _run as run_coroutine
from pgtest import create_database, drop_database
from store_helpers import (
    ACTIONS,
    ACTORS,
    GUILDS,
    NAMES,
    T0_MS,
    TARGETS,
    Row,
    dataset,
    raw_entry,
    reference,
    snowflake,
)

from console.model.filters import Exclusions, Filter
from console.model.snowflake import to_ms
from console.store import AuditStore, Store, queries
from console.store.postgres.store import PgStore

ROWS = dataset()
DAY = 86_400_000
SPAN = (to_ms(ROWS[0].id), to_ms(ROWS[-1].id))


BACKENDS = ("sqlite", "postgres")


async def _build(path: Path | str, rows: list[Row]) -> None:
    s: AuditStore = await (PgStore.open(path) if isinstance(path, str) else Store.open(path))
    try:
        for kind in ("user", "role"):
            await s.upsert_names(None, kind, [(i, n) for (k, i), n in NAMES.items() if k == kind])
        by_guild: dict[int, list[Row]] = {}
        for r in rows:
            by_guild.setdefault(r.guild_id, []).append(r)
        for gid, group in by_guild.items():
            for i in range(0, len(group), 97):  # several batches
                await s.add_entries([r.raw for r in group[i : i + 97]], source="backfill", guild_id=gid)
    finally:
        await s.close()


@pytest.fixture(scope="module")
def filled_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("query") / "audit.db"
    run_coroutine(_build(path, ROWS))
    return path


@pytest.fixture(scope="module")
def filled_pg() -> Iterator[str]:
    """The same entries in a PostgreSQL database of this module's own."""
    url = create_database()
    try:
        run_coroutine(_build(url, ROWS))  # maybe first asked for inside a test's running loop
        yield url
    finally:
        drop_database(url)


async def _open_filled(request: pytest.FixtureRequest, backend: str) -> AuditStore:
    if backend == "postgres":
        return await PgStore.open(request.getfixturevalue("filled_pg"), readonly=True)
    return await Store.open(request.getfixturevalue("filled_db"), readonly=True)


@pytest.fixture(scope="module")
def ro(filled_db: Path) -> Iterator[sqlite3.Connection]:
    db = sqlite3.connect(f"file:{filled_db}?mode=ro", uri=True)
    yield db
    db.close()


def _all_pages(db: sqlite3.Connection, flt: Filter, size: int) -> list[int]:
    """Every matching id by walking keyset pages of ``size`` with the store's own SQL."""
    out: list[int] = []
    before = after = None
    while True:
        sql, args = queries.entry_page(flt, before=before, after=after, limit=size, columns="id")
        page = [r[0] for r in db.execute(sql, args)]
        out += page
        if len(page) < size:
            return out
        if flt.newest_first:
            before = page[-1]
        else:
            after = page[-1]


def _count(db: sqlite3.Connection, flt: Filter) -> int:
    sql, args = queries.entry_count(flt)
    return int(db.execute(sql, args).fetchone()[0])


MID = ROWS[len(ROWS) // 2].id

CASES = {
    "everything": Filter(),
    "oldest-first": Filter(newest_first=False),
    "guild": Filter(guild_ids=frozenset({GUILDS[0]})),
    "both-guilds": Filter(guild_ids=frozenset(GUILDS)),
    "action": Filter(actions=frozenset({22})),
    "actions": Filter(actions=frozenset({22, 20, 250})),
    "category": Filter(categories=frozenset({"moderation"})),
    "categories": Filter(categories=frozenset({"role", "message"})),
    "unknown-category": Filter(categories=frozenset({"unknown"})),
    "unknown-and-known": Filter(categories=frozenset({"unknown", "moderation"})),
    "unknown-with-actions": Filter(categories=frozenset({"unknown"}), actions=frozenset({250, 22})),
    "category-excludes-action": Filter(categories=frozenset({"role"}), actions=frozenset({22})),
    "actor": Filter(actor_ids=frozenset({ACTORS[1]})),
    "target": Filter(target_ids=frozenset({TARGETS[2], TARGETS[4]})),
    "since": Filter(since_ms=to_ms(MID)),
    "until": Filter(until_ms=to_ms(MID)),
    "range": Filter(since_ms=SPAN[0] + 10 * DAY, until_ms=SPAN[0] + 20 * DAY),
    "empty-range": Filter(since_ms=SPAN[1] + DAY),
    "kinds-audit": Filter(kinds=frozenset({"audit", "decision"})),
    "kinds-other": Filter(kinds=frozenset({"decision"})),
    "text": Filter(text="raid"),
    "text-two-words": Filter(text="spam alt"),
    "text-phrase": Filter(text='"alt account"'),
    "text-prefix": Filter(text="acc*"),
    "text-name": Filter(text="keeper"),
    "text-role-name": Filter(text="helpers"),
    "text-permission": Filter(text="administrator"),
    "text-change-value": Filter(text="renamed"),
    "text-missing": Filter(text="nosuchword"),
    "text-syntax": Filter(text='raid OR "unbalanced NEAR('),
    "text-oldest": Filter(text="spam", newest_first=False),
    "actor+action": Filter(actor_ids=frozenset({ACTORS[0]}), actions=frozenset({22, 20})),
    "text+actor": Filter(text="raid", actor_ids=frozenset({ACTORS[2]})),
    "text+range+guild": Filter(
        text="spam*", since_ms=SPAN[0] + 5 * DAY, until_ms=SPAN[1] - 5 * DAY, guild_ids=frozenset({GUILDS[1]})
    ),
    "all-fields": Filter(
        guild_ids=frozenset(GUILDS),
        actions=frozenset(ACTIONS),
        categories=frozenset({"moderation", "unknown"}),
        actor_ids=frozenset(ACTORS[:3]),
        target_ids=frozenset(TARGETS[:5]),
        since_ms=SPAN[0] + DAY,
        until_ms=SPAN[1],
        text="raid",
    ),
    # Exclusions: NOT(any of a field's values); fields AND, with each other and with what is kept.
    "not-action": Filter(exclude=Exclusions(actions=frozenset({22}))),
    "not-actions": Filter(exclude=Exclusions(actions=frozenset({22, 20, 250}))),
    "not-category": Filter(exclude=Exclusions(categories=frozenset({"moderation"}))),
    "not-unknown-category": Filter(exclude=Exclusions(categories=frozenset({"unknown"}))),
    "not-actor": Filter(exclude=Exclusions(actor_ids=frozenset({ACTORS[1]}))),
    "not-actors-keeps-no-actor": Filter(exclude=Exclusions(actor_ids=frozenset(ACTORS))),
    "not-target": Filter(exclude=Exclusions(target_ids=frozenset({TARGETS[2], TARGETS[4]}))),
    "not-guild": Filter(exclude=Exclusions(guild_ids=frozenset({GUILDS[0]}))),
    "not-source": Filter(exclude=Exclusions(sources=frozenset({"backfill"}))),
    "not-other-source": Filter(exclude=Exclusions(sources=frozenset({"gateway", "TUI"}))),
    "not-audit": Filter(exclude=Exclusions(kinds=frozenset({"audit"}))),
    "not-word": Filter(exclude=Exclusions(text="raid")),
    "not-words": Filter(exclude=Exclusions(text="raid spam")),
    "not-phrase": Filter(exclude=Exclusions(text='"alt account"')),
    "not-prefix": Filter(exclude=Exclusions(text="acc*")),
    "not-name": Filter(exclude=Exclusions(text="keeper")),
    "not-no-token": Filter(exclude=Exclusions(text="!!!")),
    "not-word-oldest": Filter(exclude=Exclusions(text="spam"), newest_first=False),
    "word-not-word": Filter(text="raid", exclude=Exclusions(text="spam")),
    "same-word-kept-and-dropped": Filter(text="raid", exclude=Exclusions(text="raid")),
    "actions-not-one-of-them": Filter(actions=frozenset({22, 20}), exclude=Exclusions(actions=frozenset({20}))),
    "category-not-action": Filter(categories=frozenset({"moderation"}), exclude=Exclusions(actions=frozenset({22}))),
    "actor-not-category": Filter(
        actor_ids=frozenset({ACTORS[0]}), exclude=Exclusions(categories=frozenset({"moderation"}))
    ),
    "not-actor-not-category": Filter(
        exclude=Exclusions(actor_ids=frozenset({ACTORS[0]}), categories=frozenset({"moderation"}))
    ),
    "not-everything-at-once": Filter(
        text="spam*",
        since_ms=SPAN[0] + 5 * DAY,
        exclude=Exclusions(
            guild_ids=frozenset({GUILDS[1]}),
            actions=frozenset({250}),
            categories=frozenset({"role"}),
            actor_ids=frozenset({ACTORS[3]}),
            target_ids=frozenset({TARGETS[0]}),
            text='"alt account" phishing',
        ),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
async def test_store_filter_matches_reference(request: pytest.FixtureRequest, backend: str, name: str) -> None:
    flt = CASES[name]
    want = reference(ROWS, flt, NAMES)
    s = await _open_filled(request, backend)
    try:
        got = [e.id for page in [p async for p in s.iter_entries(flt, batch=37)] for e in page]
        assert got == want
        assert await s.count(flt) == len(want)
    finally:
        await s.close()
    # Sanity: the cases are not vacuous (most match something, some match nothing on purpose).
    nothing = {"not-source", "not-audit", "not-actors-keeps-no-actor", "same-word-kept-and-dropped"}
    if name not in {"empty-range", "kinds-other", "text-missing", "text-syntax", "category-excludes-action"} | nothing:
        assert want
    # Exclusions drop something, and never everything (but where they mean to).
    if flt.exclude.text != "!!!" and "other-source" not in name and not flt.exclude.is_empty:
        kept = reference(ROWS, flt.with_(exclude=Exclusions()), NAMES)
        assert len(want) < len(kept)
    if name == "not-actors-keeps-no-actor":
        assert want
        assert all(r.raw["user_id"] is None for r in ROWS if r.id in set(want))


guild_sets = st.frozensets(st.sampled_from(GUILDS), max_size=2)
filters = st.builds(
    Filter,
    guild_ids=guild_sets,
    kinds=st.sampled_from([frozenset(), frozenset({"audit"}), frozenset({"gap"})]),
    actions=st.frozensets(st.sampled_from((*ACTIONS, 23, 777)), max_size=3),
    categories=st.frozensets(
        st.sampled_from(("moderation", "role", "member", "message", "channel", "permission", "unknown")),
        max_size=2,
    ),
    actor_ids=st.frozensets(st.sampled_from(ACTORS), max_size=2),
    target_ids=st.frozensets(st.sampled_from(TARGETS), max_size=3),
    member_ids=st.frozensets(st.sampled_from((*ACTORS, *TARGETS)), max_size=2),
    since_ms=st.none() | st.integers(SPAN[0] - DAY, SPAN[1] + DAY),
    until_ms=st.none() | st.integers(SPAN[0] - DAY, SPAN[1] + DAY),
    text=st.sampled_from(
        (
            "",
            "",
            "raid",
            "spam alt",
            '"alt account"',
            '"account alt"',
            "acc*",
            "ph*",
            "mod1",
            "helpers",
            "mention_everyone",
            "renamed",
            "nosuchword",
            "warned bot*",
        )
    ),
    newest_first=st.booleans(),
    # The fields of other kinds of record, which the reference does not know: left empty (builds
    # would fill them in, as it does every field of a NamedTuple).
    **dict.fromkeys(
        ("results", "reason_codes", "capabilities", "sources", "states", "note_words"), st.just(frozenset())
    ),
    exclude=st.builds(
        Exclusions,
        guild_ids=guild_sets,
        kinds=st.sampled_from([frozenset(), frozenset(), frozenset({"gap"}), frozenset({"audit"})]),
        actions=st.frozensets(st.sampled_from((*ACTIONS, 777)), max_size=2),
        categories=st.frozensets(st.sampled_from(("moderation", "role", "member", "unknown")), max_size=2),
        actor_ids=st.frozensets(st.sampled_from(ACTORS), max_size=2),
        target_ids=st.frozensets(st.sampled_from(TARGETS), max_size=2),
        text=st.sampled_from(("", "", "", "raid", "spam alt", '"alt account"', "ph*", "keeper", "!!!")),
        sources=st.sampled_from([frozenset(), frozenset(), frozenset({"gateway"}), frozenset({"backfill"})]),
        # Notes the reference does not know (the notes' own tests cover -note:).
        **dict.fromkeys(("results", "reason_codes", "capabilities", "states", "note_words"), st.just(frozenset())),
    ),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flt=filters, size=st.integers(1, 60))
def test_any_filter_matches_reference(ro: sqlite3.Connection, flt: Filter, size: int) -> None:
    want = reference(ROWS, flt, NAMES)
    assert _all_pages(ro, flt, size) == want
    assert _count(ro, flt) == len(want)


async def _pg_pages(url: str, flt: Filter, size: int) -> tuple[list[int], int]:
    s = await PgStore.open(url, readonly=True, names=False)
    try:
        return [e.id for page in [p async for p in s.iter_entries(flt, batch=size)] for e in page], await s.count(flt)
    finally:
        await s.close()


@pytest.mark.backends("postgres")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flt=filters, size=st.integers(1, 60))
def test_any_filter_matches_reference_on_postgres(filled_pg: str, backend: str, flt: Filter, size: int) -> None:
    want = reference(ROWS, flt, NAMES)
    assert asyncio.run(_pg_pages(filled_pg, flt, size)) == (want, len(want))


# -- keyset paging over random id sets ----------------------------------------------------------


async def _pages_both_ways(path: Path, ids: list[int], size: int, start: int) -> None:
    s = await Store.open(path)
    try:
        for i in range(0, len(ids), 250):
            await s.add_entries([raw_entry(x, 22) for x in ids[i : i + 250]], source="backfill", guild_id=1)
        newest = sorted(ids, reverse=True)
        oldest = sorted(ids)
        for flt, expected in ((Filter(), newest), (Filter(newest_first=False), oldest)):
            seen = [e.id for page in [p async for p in s.iter_entries(flt, batch=size)] for e in page]
            assert seen == expected
        # From any cursor, `before` walks strictly older and `after` strictly newer, gap-free.
        cursor = oldest[start % len(oldest)]
        older: list[int] = []
        before = cursor
        while page := await s.page(before=before, limit=size):
            assert len(page) <= size
            older += [e.id for e in page]
            before = page[-1].id
        assert older == [x for x in newest if x < cursor]
        newer: list[int] = []
        after = cursor
        while page := await s.page(after=after, limit=size):
            newer += [e.id for e in page]
            after = page[-1].id
        assert newer == [x for x in oldest if x > cursor]
        # Paging back up from the oldest end with `after` gives the newest-first order reversed.
        assert list(reversed(newer)) + [cursor] + older == newest
    finally:
        await s.close()


@settings(max_examples=25, deadline=None)
@given(
    offsets=st.sets(st.integers(0, 2**40), min_size=1, max_size=300),
    size=st.integers(1, 50),
    start=st.integers(0, 10_000),
)
def test_keyset_pages_never_skip_or_repeat(offsets: set[int], size: int, start: int) -> None:
    base = snowflake(T0_MS)
    ids = [base + o for o in offsets]
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(_pages_both_ways(Path(tmp) / "k.db", ids, size, start))


async def test_keyset_is_stable_while_newer_entries_arrive(store: Store) -> None:
    first = [snowflake(T0_MS + i * 1000) for i in range(50)]
    await store.add_entries([raw_entry(x, 22) for x in first], source="backfill", guild_id=1)
    page = await store.page(limit=20)
    # Live ingest adds newer entries between page fetches: the older pages are unaffected.
    newer = [snowflake(T0_MS + 10**6 + i) for i in range(30)]
    await store.add_entries([raw_entry(x, 22) for x in newer], source="gateway", guild_id=1)
    rest = [e.id for p in [await store.page(before=page[-1].id, limit=100)] for e in p]
    assert [e.id for e in page] + rest == sorted(first, reverse=True)


@pytest.mark.parametrize("name", list(CASES))
async def test_timeline_matches_reference(filled_db: Path, name: str) -> None:
    """The feed's timeline (compound query, anchor + offset pages, capped counts) shows exactly
    what the reference filter keeps — including text-only filters read from the index directly."""
    from console.store import timeline

    flt = CASES[name]
    want = reference(ROWS, flt, NAMES)
    s = await Store.open(filled_db, readonly=True)
    try:
        got: list[int] = []
        refs = await timeline.page_refs(s.reader, flt, limit=41)
        anchor = refs[0].id if refs else None
        offset = 0
        while refs:
            got += [r.id for r in refs]
            offset += len(refs)
            refs = await timeline.page_refs(s.reader, flt, anchor=anchor, offset=offset, limit=41)
        assert got == want
        assert await timeline.count(s.reader, flt) == len(want)
        assert await timeline.count(s.reader, flt, cap=10) == min(10, len(want))
        if want:
            total, anchors = await timeline.sparse_index(s.reader, flt, every=7)
            assert total == len(want)
            assert anchors == want[::7]
            middle = want[len(want) // 2]
            assert await timeline.count(s.reader, flt, newer_than=middle) == want.index(middle)
    finally:
        await s.close()
