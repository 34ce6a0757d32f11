"""The timeline contract on both backends: the same records (entries, decisions, role changes and
gaps, interleaved by id) give the same pages in both orders and at any depth, the same counts
(exact, capped, newer than), the same jump index and the same activity on SQLite and PostgreSQL,
and the entries among them are exactly what the Python reference filter keeps.

The records are stored once through the SQLite store's interface and copied row for row into a
PostgreSQL database (as ``audit-console migrate`` copies): what is compared is what each backend makes of the same
rows. Hypothesis then throws random filters at both."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pgtest import create_database, drop_database
from store_helpers import ACTIONS, ACTORS, GUILDS, NAMES, TARGETS, WORDS, Row, copy_to_postgres, dataset, reference

from console.model.filters import REASON_CODES, ROLE_CHANGE_STATES, Exclusions, Filter, text_terms
from console.model.records import Decision, RoleChange
from console.model.snowflake import from_ms, to_ms
from console.store import AuditStore, Ref, Store
from console.store.postgres.store import PgStore

ROWS = dataset(seed=11, n=300)
START, END = to_ms(ROWS[0].id), to_ms(ROWS[-1].id)
DAY = 86_400_000


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def _decision(rnd: random.Random, at_ms: int, n: int) -> Decision:
    return Decision(
        id=from_ms(at_ms) | (1 << 17) | n,
        guild_id=rnd.choice(GUILDS),
        created_at=at_ms,
        actor_id=rnd.choice(ACTORS),
        actor_name=rnd.choice(("mod0 keeper", "Ünïcode mod", "raid_bot", None)),
        actor_roles=[TARGETS[4]],
        actor_admin=False,
        actor_owner=False,
        capability=rnd.choice(("roles.grant", "roles.revoke", "members.ban")),
        resource_type="role",
        resource_id=rnd.choice(TARGETS),
        source=rnd.choice(("TUI", "CLI", "BOT")),
        result=rnd.choice(("ALLOW", "DENY")),
        reason_code=rnd.choice(REASON_CODES),
        path=[],
        policy_version="v1",
    )


def _change(rnd: random.Random, at_ms: int, n: int) -> RoleChange:
    return RoleChange(
        id=from_ms(at_ms) | (2 << 17) | n,
        guild_id=rnd.choice(GUILDS),
        member_id=rnd.choice(TARGETS),
        role_id=TARGETS[4],
        op=rnd.choice(("grant", "revoke")),
        reason=rnd.choice(("promotion", "raid cleanup", "Spam wave", None)),
        requested_by=rnd.choice(ACTORS),
        source="TUI",
        decision_id=None,
        state=rnd.choice(ROLE_CHANGE_STATES),
        created_at=at_ms,
        updated_at=at_ms,
        next_attempt_at=None,
        deadline_at=None,
        attempts=0,
        observed_at=None,
        error=rnd.choice((None, "Missing Permissions")),
        linked_entry_id=None,
        message_id=None,
        cancelled_by=None,
    )


async def _fill(path: Path) -> None:
    clock = Clock(END)
    s = await Store.open(path, clock=clock)
    try:
        for kind in ("user", "role"):
            await s.upsert_names(None, kind, [(i, n) for (k, i), n in NAMES.items() if k == kind])
        by_guild: dict[int, list[Row]] = {}
        for r in ROWS:
            by_guild.setdefault(r.guild_id, []).append(r)
        for gid, group in by_guild.items():
            for i in range(0, len(group), 97):
                await s.add_entries([r.raw for r in group[i : i + 97]], source="backfill", guild_id=gid)
        # Every other kind, spread over the same weeks so that the kinds interleave.
        rnd = random.Random(5)
        for n in range(60):
            await s.record_decision(_decision(rnd, rnd.randint(START, END), n))
        for n in range(40):
            await s.record_role_change(_change(rnd, rnd.randint(START, END), n))
        for _ in range(12):
            clock.now = rnd.randint(START, END)
            gap = await s.open_gap(rnd.choice(GUILDS), "gateway reconnect", from_id=None, started_at=None)
            if rnd.random() < 0.5:
                await s.close_gap(gap, status="recovered", recovered=3)
    finally:
        await s.close()


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """The SQLite file and a PostgreSQL database holding the same rows."""
    path = tmp_path_factory.mktemp("timeline") / "audit.db"
    asyncio.run(_fill(path))
    url = create_database()
    try:
        asyncio.run(copy_to_postgres(path, url))
        yield path, url
    finally:
        drop_database(url)


@pytest.fixture
async def both(stored: tuple[Path, str]) -> AsyncIterator[tuple[AuditStore, AuditStore]]:
    path, url = stored
    lite, pg = await Store.open(path, readonly=True), await PgStore.open(url, readonly=True)
    try:
        yield lite, pg
    finally:
        await lite.close()
        await pg.close()


async def _walk(store: AuditStore, flt: Filter, size: int) -> list[Ref]:
    """Every ref, by pages of ``size`` from an anchor at the first record and growing offsets
    (as the feed pages), then checked against keyset pages anchored at each page's last ref."""
    refs = await store.timeline_page(flt, limit=size)
    anchor = refs[0].id if refs else None
    got: list[Ref] = []
    while refs:
        got += refs
        refs = await store.timeline_page(flt, anchor=anchor, offset=len(got), limit=size)
    keyset: list[Ref] = []
    page = await store.timeline_page(flt, limit=size)
    while page:
        keyset += page
        page = await store.timeline_page(flt, anchor=page[-1].id, offset=1, limit=size)
    assert keyset == got
    return got


def _day_ms(days: float) -> int:
    return START + int(days * DAY)


FILTERS: dict[str, Filter] = {
    "everything": Filter(),
    "entries": Filter(kinds=frozenset({"audit"})),
    "decisions": Filter(kinds=frozenset({"decision"})),
    "role changes": Filter(kinds=frozenset({"role_change"})),
    "gaps": Filter(kinds=frozenset({"gap"})),
    "decisions and gaps": Filter(kinds=frozenset({"decision", "gap"})),
    "guild": Filter(guild_ids=frozenset({GUILDS[0]})),
    "actor": Filter(actor_ids=frozenset({ACTORS[1], ACTORS[3]})),
    "target": Filter(target_ids=frozenset({TARGETS[2]})),
    "action": Filter(actions=frozenset({22})),
    "category": Filter(categories=frozenset({"role", "moderation"})),
    "unknown category": Filter(categories=frozenset({"unknown"})),
    "action outside its category": Filter(actions=frozenset({22}), categories=frozenset({"role"})),
    "date range": Filter(since_ms=_day_ms(5), until_ms=_day_ms(12)),
    "word": Filter(text="raid"),
    "word and kind": Filter(text="raid", kinds=frozenset({"audit"})),
    "two words": Filter(text="spam account"),
    "phrase": Filter(text='"alt account"'),
    "prefix": Filter(text="app*"),
    "one-letter prefix": Filter(text="p*"),
    "hyphenated": Filter(text="alt-account"),
    "a name": Filter(text="keeper"),
    "a change value": Filter(text="renamed"),
    "a permission": Filter(text="administrator"),
    "no token": Filter(text="!!!"),
    "text and guild": Filter(text="raid", guild_ids=frozenset({GUILDS[1]})),
    "text in decisions": Filter(text="roles"),
    "text, case": Filter(text="SPAM"),
    "unicode name": Filter(text="ünïcode"),
    "deny": Filter(results=frozenset({"DENY"})),
    "reason code": Filter(reason_codes=frozenset({"NO_GRANT", "BREAK_GLASS"})),
    "decision source": Filter(sources=frozenset({"CLI"})),
    "entry source": Filter(sources=frozenset({"backfill"})),
    "state": Filter(states=frozenset({"failed", "confirmed"})),
    "actor and range": Filter(actor_ids=frozenset({ACTORS[0]}), since_ms=_day_ms(3), until_ms=_day_ms(20)),
    # The member view: what they did, what was done to them, their decisions and role changes.
    "member who acts": Filter(member_ids=frozenset({ACTORS[2]})),
    "member acted on": Filter(member_ids=frozenset({TARGETS[1]}), guild_ids=frozenset({GUILDS[0]})),
    "member and words": Filter(member_ids=frozenset({ACTORS[1]}), text="raid"),
}
# Exclusions (``-field:value``, ``-word``): each field NOT(any of its values), fields ANDed.
EXCLUSIONS: dict[str, Exclusions] = {
    "not deny": Exclusions(results=frozenset({"DENY"})),
    "not reason codes": Exclusions(reason_codes=frozenset({"NO_GRANT", "BREAK_GLASS"})),
    "not capability": Exclusions(capabilities=frozenset({"roles.grant"})),
    "not decision source": Exclusions(sources=frozenset({"CLI", "BOT"})),
    "not entry source": Exclusions(sources=frozenset({"backfill"})),
    "not states": Exclusions(states=frozenset({"failed", "confirmed"})),
    "not actor": Exclusions(actor_ids=frozenset({ACTORS[1], ACTORS[3]})),
    "not target": Exclusions(target_ids=frozenset({TARGETS[2]})),
    "not guild": Exclusions(guild_ids=frozenset({GUILDS[0]})),
    "not gaps": Exclusions(kinds=frozenset({"gap"})),
    "not category": Exclusions(categories=frozenset({"role", "moderation"})),
    "not word": Exclusions(text="raid"),
    "not phrase": Exclusions(text='"mod0 keeper"'),
    "not words": Exclusions(text="spam roles"),
    "not no token": Exclusions(text="!!!"),
    "not actor, not deny, not word": Exclusions(
        actor_ids=frozenset({ACTORS[0]}), results=frozenset({"DENY"}), text="spam"
    ),
}
FILTERS |= {name: Filter(exclude=ex) for name, ex in EXCLUSIONS.items()}
FILTERS["deny, not reason code"] = Filter(
    results=frozenset({"DENY"}), exclude=Exclusions(reason_codes=frozenset({"NO_GRANT"}))
)
FILTERS["word, not actor"] = Filter(text="raid", exclude=Exclusions(actor_ids=frozenset({ACTORS[2]})))
FILTERS |= {f"{name}, oldest first": flt.with_(newest_first=False) for name, flt in list(FILTERS.items())[:12]}
FILTERS["phrase, oldest first"] = FILTERS["phrase"].with_(newest_first=False)
FILTERS["prefix, oldest first"] = FILTERS["prefix"].with_(newest_first=False)

BACKENDS_SAY = "SQLite and PostgreSQL differ"


@pytest.mark.parametrize("name", list(FILTERS))
async def test_both_backends_show_the_same_timeline(both: tuple[AuditStore, AuditStore], name: str) -> None:
    lite, pg = both
    flt = FILTERS[name]
    refs = await _walk(lite, flt, 37)
    assert await _walk(pg, flt, 37) == refs, BACKENDS_SAY
    ids = [r.id for r in refs]
    assert ids == sorted(ids, reverse=flt.newest_first)
    # The entries among them are exactly what the reference keeps (with words too: FTS5 on one
    # side, a tsvector on the other).
    entries = [r.id for r in refs if r.kind == "audit"]
    assert entries == (reference(ROWS, flt, NAMES) if flt.includes_kind("audit") else [])
    for store in (lite, pg):
        assert await store.timeline_count(flt) == len(refs)
        assert await store.timeline_total(flt) == len(refs)
        assert await store.timeline_count(flt, cap=25) == min(25, len(refs))
        assert await store.timeline_index(flt, every=13) == (len(refs), ids[::13])
        if refs:
            middle = ids[len(ids) // 2]
            assert await store.timeline_count(flt, newer_than=middle) == ids.index(middle)
            assert await store.timeline_count(flt, newer_than=middle, cap=5) == min(5, ids.index(middle))
            # From a record on (the feed's first page's first) to another: those between, that one too.
            quarter = ids[len(ids) // 4]
            assert await store.timeline_count(flt, up_to=quarter) == len(ids) - ids.index(quarter)
            between = ids.index(middle) - ids.index(quarter)
            assert await store.timeline_count(flt, newer_than=middle, up_to=quarter) == between
    assert await pg.activity(flt, start_ms=START, end_ms=END + 1, buckets=30) == await lite.activity(
        flt, start_ms=START, end_ms=END + 1, buckets=30
    )
    assert sum(await pg.activity(flt, start_ms=START, end_ms=END + 1, buckets=30)) == len(refs)


def _like(value: str | None, term: str) -> bool:
    """SQLite's LIKE '%term%': case-blind for ASCII letters only."""
    return value is not None and term.translate(_ASCII_LOWER) in value.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _dropped(record: object, ex: Exclusions) -> bool:
    """Whether ``ex`` drops a decision, role change or gap (entries: the reference's own)."""
    terms = [term for term, _ in text_terms(ex.text)]
    if getattr(record, "guild_id", None) in ex.guild_ids:
        return True
    if isinstance(record, Decision):
        return (
            record.result in ex.results
            or record.reason_code in ex.reason_codes
            or record.capability in ex.capabilities
            or record.source in ex.sources
            or record.actor_id in ex.actor_ids
            or record.resource_id in ex.target_ids
            or any(_like(v, t) for t in terms for v in (record.capability, record.reason_code, record.actor_name))
        )
    if isinstance(record, RoleChange):
        return (
            record.state in ex.states
            or record.requested_by in ex.actor_ids
            or record.member_id in ex.target_ids
            or any(_like(v, t) for t in terms for v in (record.reason, record.error))
        )
    return "gap" in ex.kinds


@pytest.mark.parametrize("name", list(EXCLUSIONS))
async def test_exclusions_drop_exactly_their_records(both: tuple[AuditStore, AuditStore], name: str) -> None:
    """Every record but those the exclusion names, on both backends: decisions, role changes and
    gaps by a plain reading of each record, entries by the reference filter."""
    ex = EXCLUSIONS[name]
    lite, pg = both
    everything = await lite.timeline_records(await _walk(lite, Filter(), 97))
    want = [
        (type(r).__name__, r.id)
        for r in everything
        if (type(r).__name__ == "StoredEntry" and r.id in set(reference(ROWS, Filter(exclude=ex), NAMES)))
        or (type(r).__name__ != "StoredEntry" and not _dropped(r, ex))
    ]
    for store in (lite, pg):
        got = await store.timeline_records(await _walk(store, Filter(exclude=ex), 41))
        assert [(type(r).__name__, r.id) for r in got] == want
    if name != "not no token":
        assert len(want) < len(everything)


async def test_both_backends_read_back_the_same_records(both: tuple[AuditStore, AuditStore]) -> None:
    lite, pg = both
    refs = await lite.timeline_page(Filter(), limit=10_000)
    assert {r.kind for r in refs} == {"audit", "decision", "role_change", "gap"}
    shuffled = random.Random(1).sample(refs, len(refs)) + [Ref("audit", 1), Ref("gap", 2)]
    assert await pg.timeline_records(shuffled) == await lite.timeline_records(shuffled)
    assert [(type(r).__name__, r.id) for r in await pg.timeline_records(shuffled)] == [
        (type(r).__name__, r.id) for r in await lite.timeline_records(shuffled[:-2])
    ]


async def test_activity_of_a_window_inside_the_history(both: tuple[AuditStore, AuditStore]) -> None:
    lite, pg = both
    for flt in (Filter(), Filter(text="raid"), Filter(kinds=frozenset({"gap"}), since_ms=_day_ms(4))):
        window = {"start_ms": _day_ms(2), "end_ms": _day_ms(9), "buckets": 7}
        assert await pg.activity(flt, **window) == await lite.activity(flt, **window)


_sets = st.frozensets
FILTER_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "kinds": _sets(st.sampled_from(("audit", "decision", "role_change", "gap")), min_size=1),
        "guild_ids": _sets(st.sampled_from(GUILDS), min_size=1),
        "actions": _sets(st.sampled_from(ACTIONS), min_size=1, max_size=3),
        "categories": _sets(st.sampled_from(("role", "moderation", "member", "unknown")), min_size=1, max_size=2),
        "actor_ids": _sets(st.sampled_from(ACTORS), min_size=1, max_size=2),
        "target_ids": _sets(st.sampled_from(TARGETS), min_size=1, max_size=2),
        "member_ids": _sets(st.sampled_from(ACTORS + TARGETS), min_size=1, max_size=2),
        "text": st.lists(
            st.one_of(
                st.sampled_from(WORDS),
                st.sampled_from(WORDS).map(lambda w: w[: max(1, len(w) // 2)] + "*"),
                st.tuples(st.sampled_from(WORDS), st.sampled_from(WORDS)).map(lambda p: f'"{p[0]} {p[1]}"'),
            ),
            min_size=1,
            max_size=2,
        ).map(" ".join),
        "results": _sets(st.sampled_from(("ALLOW", "DENY")), min_size=1),
        "reason_codes": _sets(st.sampled_from(REASON_CODES), min_size=1, max_size=2),
        "states": _sets(st.sampled_from(ROLE_CHANGE_STATES), min_size=1, max_size=2),
        "sources": _sets(st.sampled_from(("TUI", "CLI", "BOT", "gateway", "backfill")), min_size=1, max_size=2),
        "since_ms": st.integers(START, END),
        "newest_first": st.booleans(),
        # What the filter excludes, any of the same fields (and words).
        "exclude": st.builds(
            Exclusions,
            **{
                name: _sets(st.sampled_from(values), max_size=2)
                for name, values in (
                    ("kinds", ("decision", "gap")),
                    ("guild_ids", GUILDS),
                    ("actions", ACTIONS),
                    ("categories", ("role", "moderation", "unknown")),
                    ("actor_ids", ACTORS),
                    ("target_ids", TARGETS),
                    ("results", ("ALLOW", "DENY")),
                    ("reason_codes", REASON_CODES),
                    ("capabilities", ("roles.grant", "members.ban")),
                    ("states", ROLE_CHANGE_STATES),
                    ("sources", ("TUI", "CLI", "BOT", "gateway", "backfill")),
                )
            },
            text=st.sampled_from(("", "raid", '"alt account"', "spam*", "Spam wave", "!!!")),
            note_words=_sets(st.sampled_from(("raid", "100%", "handled")), max_size=2),
        ),
    },
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fields=FILTER_FIELDS, size=st.integers(1, 60))
async def test_random_filters_agree_on_both_backends(
    both: tuple[AuditStore, AuditStore], fields: dict[str, object], size: int
) -> None:
    lite, pg = both
    flt = Filter(**fields)  # type: ignore[arg-type]
    first = await lite.timeline_page(flt, limit=size)
    assert await pg.timeline_page(flt, limit=size) == first
    if first:
        deeper = {"anchor": first[-1].id, "offset": 1, "limit": size}
        assert await pg.timeline_page(flt, **deeper) == await lite.timeline_page(flt, **deeper)  # type: ignore[arg-type]
    assert await pg.timeline_count(flt) == await lite.timeline_count(flt)
    assert await pg.timeline_count(flt, cap=size) == await lite.timeline_count(flt, cap=size)
