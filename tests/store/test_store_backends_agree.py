"""The two backends agree where agreeing is the point: full text finds the same entries for the
same query (accents, punctuation, phrases, ``prefix*``, phrases never across columns), and the
integrity chain of the same entries is the same, byte for byte."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from store_helpers import NOW_MS, T0_MS, raw_entry, snowflake, table_rows

from console.model.filters import Filter
from console.store import AuditStore, Store, chain
from console.store.fts_tokens import tokens
from console.store.postgres.store import PgStore

G = 1_000_000_000_000_001
ACTOR = 2_000_000_000_000_001

# -- tokens ---------------------------------------------------------------------------------------

_probe = sqlite3.connect(":memory:")
_probe.execute("CREATE VIRTUAL TABLE t USING fts5 (a, tokenize = 'unicode61 remove_diacritics 2')")
_probe.execute("CREATE VIRTUAL TABLE v USING fts5vocab (t, 'instance')")


def _fts5_tokens(text: str) -> list[str]:
    _probe.execute("DELETE FROM t")
    _probe.execute("INSERT INTO t (rowid, a) VALUES (1, ?)", (text,))
    return [r[0] for r in _probe.execute("SELECT term FROM v ORDER BY offset")]


TRICKY = (
    "Café naïve RÉSUMÉ ÅNGSTRÖM straße ǅx İstanbul ﬁx Æsir ø ł",
    "e\u0301x a\u0301\u0301b \u0301 lone",
    "foo@bar.com https://discord.gg/abc-def?x=1 C:\\path\\file.txt",
    "1.5 -3 2024-01-02 v1.2.3 0x1F 1e5 007",
    "anti-raid mention_everyone it's don't",
    "Ωμέγα άλφα йод ёлка 日本語 😀smile Ａｂｃ x² ½ Ⅻ",
)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_tokens_are_fts5s_own(text: str) -> None:
    assert tokens(text) == _fts5_tokens(text)


def test_tokens_of_tricky_text_are_fts5s_own() -> None:
    for text in TRICKY:
        assert tokens(text) == _fts5_tokens(text), text


# -- full text on both backends -------------------------------------------------------------------

QUERIES = (
    "cafe",
    "CAFÉ",
    "naive*",
    "resume",
    "angstrom",
    "strasse",
    "straße",
    "ǆx",
    "istanbul",
    "ex",
    "ab",
    "foo",
    "bar.com",
    '"bar com"',
    "discord.gg",
    "gg/abc*",
    "abc-def",
    "https",
    "path",
    "file.txt",
    "1.5",
    "5",
    "-3",
    "2024-01-02",
    "v1.2.3",
    "0x1f",
    "1e5",
    "007",
    "anti-raid",
    "anti",
    "raid",
    "anti-ra*",
    "mention",
    "everyone",
    "mention_everyone",
    "it's",
    "don",
    "ωμεγα",
    "ωμέγα",
    "αλφα",
    "άλφα",
    "йод",
    "иод",
    "ёлка",
    "елка",
    "日本語",
    "日本*",
    "smile",
    "abc",
    "ａｂｃ",
    "x²",
    "½",
    '"alt account"',  # "alt" ends a reason, "account" begins a name: no phrase across columns
    '"raid alt"',
    "alt account",
    "!!!",
    '"!!!"',
    "raid !!!",
    "*",
    '""',
    "nosuch*",
)


async def _fill(store: AuditStore) -> list[int]:
    await store.upsert_names(G, "user", [(ACTOR, "account keeper")])
    raws: list[dict[str, Any]] = [
        raw_entry(snowflake(T0_MS, i), 22, user_id=ACTOR, target_id=5, reason=text)
        for i, text in enumerate((*TRICKY, "raid alt"))
    ]
    await store.add_entries(raws, source="backfill", guild_id=G)
    return [int(r["id"]) for r in raws]


async def test_full_text_finds_the_same_entries_on_both_backends(db_path: Path, pg_url: str) -> None:
    lite = await Store.open(db_path, clock=lambda: NOW_MS)
    pg = await PgStore.open(pg_url, clock=lambda: NOW_MS)
    try:
        assert await _fill(lite) == await _fill(pg)
        for text in QUERIES:
            for newest_first in (True, False):
                flt = Filter(text=text, newest_first=newest_first)
                want = [e.id for e in await lite.page(flt)]
                assert [e.id for e in await pg.page(flt)] == want, text
                assert await pg.count(flt) == await lite.count(flt) == len(want), text
                narrowed = flt.with_(actions=frozenset({22, 20}))  # the text beside other clauses
                assert [e.id for e in await pg.page(narrowed)] == want, text
        # Not vacuous: most queries find something, a few find nothing on purpose.
        found = [text for text in QUERIES if await lite.count(Filter(text=text))]
        assert len(found) > len(QUERIES) * 2 // 3
        assert await lite.count(Filter(text='"alt account"')) == 0
        assert await lite.count(Filter(text="alt account")) == 1
    finally:
        await lite.close()
        await pg.close()


# -- the chain ------------------------------------------------------------------------------------

CHAIN_SQL = (
    "SELECT guild_id, seq, kind, record_id, revision, at, content_hash, link, note FROM chain ORDER BY guild_id, seq"
)
HEADS_SQL = "SELECT guild_id, seq, link FROM chain_heads ORDER BY guild_id"


async def _ingest_history(store: AuditStore) -> None:
    first = [
        raw_entry(snowflake(T0_MS + n * 1000, n), 22, user_id=ACTOR, target_id=5, reason=f"réason {n} ✓")
        for n in range(30)
    ]
    await store.add_entries(first[:20], source="backfill", guild_id=G, received_at=NOW_MS)
    await store.add_entries(first[10:], source="gateway", guild_id=G, received_at=NOW_MS + 1)  # 10 duplicates
    other = [raw_entry(snowflake(T0_MS + n, 200 + n), 20, user_id=ACTOR, reason="ĝ") for n in range(5)]
    await store.add_entries(other, source="gateway", guild_id=G + 1, received_at=NOW_MS + 2)
    bumped = raw_entry(snowflake(T0_MS, 99), 72, user_id=ACTOR, target_id=5, options={"count": "1"})
    await store.add_entries([bumped], source="gateway", guild_id=G, received_at=NOW_MS + 3)
    for count in ("2", "3"):  # in-place updates: revisions, each a link
        changed = {**bumped, "options": {"count": count}}
        again = [changed, {**changed, "reason": "x"}]
        await store.add_entries(again, source="backfill", guild_id=G, received_at=NOW_MS + 4)


async def _chain(store: AuditStore) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    return await table_rows(store, CHAIN_SQL), await table_rows(store, HEADS_SQL)


async def test_the_same_entries_make_the_same_chain_on_both_backends(db_path: Path, pg_url: str) -> None:
    lite = await Store.open(db_path, clock=lambda: NOW_MS)
    pg = await PgStore.open(pg_url, clock=lambda: NOW_MS)
    try:
        await _ingest_history(lite)
        await _ingest_history(pg)
        links, heads = await _chain(lite)
        assert len(links) == 20 + 10 + 5 + 1 + 4  # new entries, and each changed content (revisions 1-4)
        assert len(heads) == 2
        assert await _chain(pg) == (links, heads)
    finally:
        await lite.close()
        await pg.close()


async def test_adopting_records_older_than_the_chain_links_them_alike(db_path: Path, pg_url: str) -> None:
    """A store filled before its chain was started (as the SQLite store's schema 4 was, or a copy
    made without links) is adopted on the next writable open: the same links on both."""
    lite: AuditStore = await Store.open(db_path, clock=lambda: NOW_MS)
    await _ingest_history(lite)
    await lite.close()
    db = sqlite3.connect(db_path)
    db.execute("DELETE FROM chain")
    db.execute("DELETE FROM chain_heads")
    db.execute("DELETE FROM meta WHERE key = ?", (chain.STARTED_KEY,))
    db.commit()
    db.close()
    pg = await PgStore.open(pg_url, clock=lambda: NOW_MS)
    await _ingest_history(pg)
    async with pg.transaction() as c:
        await c.execute("DELETE FROM chain")
        await c.execute("DELETE FROM chain_heads")
        await c.execute("DELETE FROM meta WHERE key = $1", chain.STARTED_KEY)
    await pg.close()
    lite = await Store.open(db_path, clock=lambda: NOW_MS + 7)  # both adopt on this open
    pg = await PgStore.open(pg_url, clock=lambda: NOW_MS + 7)
    try:
        links, heads = await _chain(lite)
        assert len(links) == 40
        assert {at for *_, at, _, _, _ in links} == {NOW_MS + 7}
        assert await _chain(pg) == (links, heads)
    finally:
        await lite.close()
        await pg.close()
