"""The store's interface (console/store/api.py): the SQLite store has every member the interface
lists, in the same shape, and the named methods that replaced raw SQL elsewhere do what their
contract says. Nothing outside console/store imports a database driver."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
from store_helpers import NOW_MS, OpenStore, raw_entry, snowflake

from console.model.alert import Alert
from console.model.filters import Filter
from console.model.records import Decision
from console.model.retention import DAY_MS, Retention
from console.model.snowflake import from_ms
from console.store import AuditStore, IngestResult, Ref, Store
from console.store.postgres.store import PgStore

#: Every test of a store here holds on both backends.
BACKENDS = ("sqlite", "postgres")

G = 1_000_000_000_000_001
ACTOR = 2_000_000_000_000_002
CONSOLE = Path(__file__).resolve().parents[2] / "console"


def _members(cls: type) -> dict[str, object]:
    found = {n: v for n, v in vars(cls).items() if not n.startswith("_") or n in ("__aenter__", "__aexit__")}
    found.update(dict.fromkeys(getattr(cls, "__annotations__", {}), None))
    return found


@pytest.mark.parametrize("Store", [Store, PgStore], ids=["sqlite", "postgres"])
def test_each_store_has_every_member_of_the_interface_in_its_shape(Store: type) -> None:  # noqa: N803
    for name, member in _members(AuditStore).items():
        assert hasattr(Store, name) or name in Store.__init__.__code__.co_names, f"Store lacks {name}"
        if not callable(member) or isinstance(member, property):
            continue
        mine = getattr(Store, name)
        assert inspect.iscoroutinefunction(mine) == inspect.iscoroutinefunction(member), name
        theirs, ours = inspect.signature(member).parameters, inspect.signature(mine).parameters
        assert [(p.name, p.kind) for p in theirs.values()] == [(p.name, p.kind) for p in ours.values()], name
        for p in theirs.values():
            if p.default is not inspect.Parameter.empty:
                assert ours[p.name].default == p.default, f"{name}({p.name}=…)"


async def test_settings_health_and_counts(open_store: OpenStore) -> None:
    store = await open_store(clock=lambda: NOW_MS)
    other = await open_store(readonly=True)
    assert await store.setting("k") is None
    await store.set_setting("k", "v1")
    await store.set_setting("k", "v2")
    assert await other.setting("k") == "v2"
    await store.set_setting("k", None)
    assert await store.setting("k") is None
    await store.probe_write()
    assert await store.setting("write_probe") is None
    assert await store.quick_check() is None
    assert await other.stats() == {"entries": 0, "oldest_id": None, "newest_id": None, "open_gaps": 0}
    seen = await other.data_version()
    ids = [snowflake(NOW_MS - 2000, 1), snowflake(NOW_MS - 1000, 2)]
    await store.add_entries([raw_entry(i, 20, user_id=ACTOR) for i in ids], source="gateway", guild_id=G)
    assert await other.data_version() != seen  # another connection committed
    assert await other.stats() == {"entries": 2, "oldest_id": ids[0], "newest_id": ids[1], "open_gaps": 0}
    assert await other.max_entry_id(G) == ids[1]
    assert (await other.get_entry(ids[0])) == (await store.page(Filter(newest_first=False)))[0]


@pytest.mark.backends("postgres")
async def test_the_postgresql_health_check_names_what_is_missing(open_store: OpenStore) -> None:
    store = await open_store()
    async with store.transaction() as db:  # type: ignore[attr-defined]
        await db.execute("DROP TABLE alerts")
    assert await store.quick_check() == f"{store.where} is missing tables of the store: alerts"  # type: ignore[attr-defined]


def _decision(at_ms: int, result: str = "ALLOW", low: int = 1) -> Decision:
    return Decision(
        id=from_ms(at_ms) | low,
        guild_id=G,
        created_at=at_ms,
        actor_id=ACTOR,
        actor_name="mod",
        actor_roles=[],
        actor_admin=False,
        actor_owner=False,
        capability="roles.grant",
        resource_type="role",
        resource_id=3,
        source="TUI",
        result=result,
        reason_code="GRANT",
        path=[],
        policy_version="v1",
    )


async def test_what_the_alert_rules_read(store: AuditStore) -> None:
    kick, other = snowflake(NOW_MS - 5000, 1), snowflake(NOW_MS - 4000, 2)
    await store.add_entries(
        [raw_entry(kick, 20, user_id=ACTOR, target_id=5), raw_entry(other, 1, user_id=ACTOR)],
        source="gateway",
        guild_id=G,
    )
    found = await store.raw_entries([other, kick], [20, 22])
    assert [(g, '"action_type":20' in raw) for raw, g in found] == [(G, True)]
    assert await store.last_decision_id() == 0
    first, second = _decision(NOW_MS - 3000), _decision(NOW_MS - 2000, low=2)
    for d in (first, second):
        await store.record_decision(d)
    assert await store.last_decision_id() == second.id
    assert [d.id for d in await store.decisions_after(first.id)] == [second.id]
    assert not await store.allowed_before(first)
    assert await store.allowed_before(second)
    assert await store.first_decision_ms(G) == first.created_at
    assert await store.first_decision_ms(G + 1) is None
    await store.start_break_glass(
        G, ACTOR, session_id=from_ms(NOW_MS), started_ms=NOW_MS, expires_ms=NOW_MS + 60_000, decision_id=None
    )
    assert await store.last_break_glass_id() == from_ms(NOW_MS)
    assert await store.break_glass_after(0) == [(from_ms(NOW_MS), G, ACTOR, NOW_MS + 60_000, None)]


async def test_alerts_are_stored_with_an_id_and_listed_newest_first(store: AuditStore) -> None:
    assert await store.alerts() == []
    saved = [await store.save_alert(Alert(NOW_MS - n, "mass_ban", G, "error", f"wave {n}", (1, 2))) for n in (2, 1)]
    assert all(a.id for a in saved)
    await store.set_alert_posted(saved[0].id or 0, "posted")
    listed = await store.alerts()
    assert [a.summary for a in listed] == ["wave 1", "wave 2"]
    assert listed[1].posted == "posted"
    assert [a.summary for a in await store.alerts(after_id=saved[0].id)] == ["wave 1"]


async def test_period_counts_and_reach(store: AuditStore) -> None:
    await store.add_entries([raw_entry(snowflake(NOW_MS - 1000, 1), 20, user_id=ACTOR)], source="gateway", guild_id=G)
    await store.record_decision(_decision(NOW_MS - 500, "DENY"))
    counts = await store.period_counts(NOW_MS - DAY_MS, NOW_MS)
    assert counts.entries_by_actor == [(ACTOR, 1)]
    assert counts.entries_by_type == [(20, 1)]
    assert [(r, n) for r, *_, n in counts.decisions] == [("DENY", 1)]
    assert counts.guilds_with_entries == [G]
    assert counts.alerts_recorded
    assert counts.alerts_by_rule == []
    assert (await store.period_counts(NOW_MS - DAY_MS, NOW_MS, [G + 1])).entries_by_actor == []
    oldest, cut = await store.reach()
    assert oldest == NOW_MS - 1000
    assert cut == {}


async def test_pruning_tells_the_listeners_through_the_store(open_store: OpenStore) -> None:
    store = await open_store(clock=lambda: NOW_MS)
    old = raw_entry(snowflake(NOW_MS - 40 * DAY_MS, 1), 20, user_id=ACTOR)
    await store.add_entries([old], source="backfill", guild_id=G)
    seen: list[IngestResult] = []
    store.add_listener(seen.append)
    assert [r.total for r in await store.prune(Retention(30))] == [1]
    assert [r.guild_ids for r in seen] == [{G}]
    assert await store.kept_since() == NOW_MS - 30 * DAY_MS


async def test_the_timeline_through_named_methods(store: AuditStore) -> None:
    ids = [snowflake(NOW_MS - 3000 + n, n) for n in range(3)]
    await store.add_entries([raw_entry(i, 20, user_id=ACTOR) for i in ids], source="gateway", guild_id=G)
    flt = Filter()
    refs = await store.timeline_page(flt, limit=2)
    assert refs == [Ref("audit", ids[2]), Ref("audit", ids[1])]
    assert [r.id for r in await store.timeline_records(refs)] == [ids[2], ids[1]]
    assert await store.timeline_count(flt) == 3
    assert await store.timeline_count(flt, cap=2) == 2
    assert await store.timeline_count(flt, newer_than=ids[1]) == 1
    assert await store.timeline_total(flt) == 3
    assert await store.timeline_index(flt, every=2) == (3, [ids[2], ids[0]])
    assert sum(await store.activity(flt, start_ms=NOW_MS - DAY_MS, end_ms=NOW_MS, buckets=24)) == 3


#: Modules still catching the driver's own errors; the UI's work moves them to StoreError.
DRIVER_USERS_TO_MOVE = {"console/ui/app.py", "console/ui/widgets/feed.py", "console/ui/alerts.py"}


def test_nothing_outside_the_store_imports_a_database_driver() -> None:
    found = set()
    for path in CONSOLE.rglob("*.py"):
        rel = path.relative_to(CONSOLE.parent).as_posix()
        if rel.startswith("console/store/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(n.split(".")[0] in ("sqlite3", "aiosqlite", "psycopg", "asyncpg") for n in names):
                found.add(rel)
    assert found <= DRIVER_USERS_TO_MOVE, sorted(found - DRIVER_USERS_TO_MOVE)
