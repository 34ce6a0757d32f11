"""The member view's reads on both backends: the timeline of everything involving a person (what
they did, what was done to them, the decisions on their requests, the role changes they asked
for or that aim at them), its counts checked against direct SQL counts in the store, capped
counts, and the names a person went by with when each was first and last seen."""

from __future__ import annotations

from store_helpers import NOW_MS, raw_entry, snowflake, table_rows

from console.model.filters import Filter
from console.model.member import headline
from console.model.records import Decision, RoleChange
from console.model.snowflake import from_ms
from console.store import AuditStore

BACKENDS = ("sqlite", "postgres")

G, G2 = 1_000_000_000_000_001, 1_000_000_000_000_002
ME, MOD, OTHER = 3_000_000_000_000_001, 2_000_000_000_000_001, 3_000_000_000_000_002
T0 = 1_700_000_000_000
TIMEOUT = "communication_disabled_until"


def _timeout(entry_id: int, actor: int, target: int, until: str | None) -> dict[str, object]:
    change = (
        {"key": TIMEOUT, "new_value": until} if until else {"key": TIMEOUT, "old_value": "2026-01-01T00:00:00+00:00"}
    )
    return raw_entry(entry_id, 24, user_id=actor, target_id=target, changes=[change], guild_id=G)


def _entries() -> list[dict[str, object]]:
    n = iter(range(1, 1000))

    def sid() -> int:
        return snowflake(T0 + next(n) * 60_000)

    out = [
        raw_entry(sid(), 22, user_id=MOD, target_id=ME, reason="raid", guild_id=G),  # banned
        raw_entry(sid(), 23, user_id=MOD, target_id=ME, guild_id=G),  # unbanned
        raw_entry(sid(), 20, user_id=MOD, target_id=ME, guild_id=G),  # kicked
        raw_entry(sid(), 22, user_id=ME, target_id=OTHER, guild_id=G),  # they banned someone
        raw_entry(sid(), 22, user_id=MOD, target_id=ME, guild_id=G2),  # another guild: not counted
        _timeout(sid(), MOD, ME, "2026-12-01T00:00:00+00:00"),  # timed out
        _timeout(sid(), MOD, ME, None),  # lifted: not a timeout given
        _timeout(sid(), ME, OTHER, "2026-12-02T00:00:00+00:00"),  # they timed someone out
        raw_entry(
            sid(),
            24,
            user_id=MOD,
            target_id=ME,
            changes=[{"key": "nick", "old_value": "Spammy", "new_value": "Calm"}],
            guild_id=G,
        ),
        raw_entry(
            sid(), 25, user_id=MOD, target_id=ME, changes=[{"key": "$add", "new_value": [{"id": "5"}]}], guild_id=G
        ),
        raw_entry(sid(), 143, user_id=ME, target_id=ME, guild_id=G),  # AutoMod: the member as both
        raw_entry(sid(), 145, user_id=ME, target_id=ME, guild_id=G),
        raw_entry(sid(), 72, user_id=OTHER, target_id=MOD, guild_id=G),  # nothing to do with them
        raw_entry(sid(), 24, user_id=ME, target_id=ME, changes=[{"key": "nick", "new_value": "Me again"}], guild_id=G),
    ]
    return out


def _decision(at: int, actor: int, result: str) -> Decision:
    return Decision(
        id=from_ms(at) | 1,
        guild_id=G,
        created_at=at,
        actor_id=actor,
        actor_name=None,
        actor_roles=[],
        actor_admin=False,
        actor_owner=False,
        capability="roles.grant",
        resource_type="role",
        resource_id=5,
        source="TUI",
        result=result,
        reason_code="NO_GRANT",
        path=[],
        policy_version="v1",
    )


def _change(at: int, member: int, by: int) -> RoleChange:
    return RoleChange(
        id=from_ms(at) | 2,
        guild_id=G,
        member_id=member,
        role_id=5,
        op="grant",
        reason=None,
        requested_by=by,
        source="TUI",
        decision_id=None,
        state="confirmed",
        created_at=at,
        updated_at=at,
        next_attempt_at=None,
        deadline_at=None,
        attempts=1,
        observed_at=at,
        error=None,
        linked_entry_id=None,
        message_id=None,
        cancelled_by=None,
    )


async def _fill(store: AuditStore) -> None:
    await store.add_entries(_entries(), source="gateway")
    await store.record_decision(_decision(T0 + 100 * 60_000, ME, "DENY"))
    await store.record_decision(_decision(T0 + 101 * 60_000, ME, "ALLOW"))
    await store.record_decision(_decision(T0 + 102 * 60_000, MOD, "ALLOW"))
    await store.record_role_change(_change(T0 + 103 * 60_000, ME, MOD))  # aimed at them
    await store.record_role_change(_change(T0 + 104 * 60_000, OTHER, ME))  # asked for by them
    await store.record_role_change(_change(T0 + 105 * 60_000, OTHER, MOD))  # neither


async def _sql_count(store: AuditStore, where: str) -> int:
    return int((await table_rows(store, f"SELECT count(*) FROM audit_entries WHERE guild_id = {G} AND {where}"))[0][0])


async def test_the_member_timeline_holds_everything_involving_them_in_one_guild(store: AuditStore) -> None:
    await _fill(store)
    flt = Filter(member_ids=frozenset({ME}), guild_ids=frozenset({G}))
    refs = await store.timeline_page(flt, limit=100)
    direct = await _sql_count(store, f"(actor_id = {ME} OR target_id = {ME})")
    assert [r.kind for r in refs].count("audit") == direct == 12
    # Their two decisions, the role change aimed at them and the one they asked for; no gaps.
    assert sorted(r.kind for r in refs if r.kind != "audit") == ["decision", "decision", "role_change", "role_change"]
    assert [r.id for r in refs] == sorted((r.id for r in refs), reverse=True)
    assert await store.timeline_count(flt) == len(refs) == 16
    records = await store.timeline_records(refs)
    for r in records:
        involved = {getattr(r, a, None) for a in ("actor_id", "target_id", "member_id", "requested_by")}
        assert ME in involved
    # Oldest first, in pages, the same records.
    older = flt.with_(newest_first=False)
    assert [r.id for r in await store.timeline_page(older, limit=5)] == [r.id for r in refs[::-1][:5]]


async def test_counts_match_direct_counts_in_the_store(store: AuditStore) -> None:
    await _fill(store)
    counts = await store.member_counts(G, ME)
    assert (
        counts.groups["bans"]
        == (
            await _sql_count(store, f"action_type = 22 AND actor_id = {ME}"),
            await _sql_count(store, f"action_type = 22 AND target_id = {ME} AND actor_id <> {ME}"),
        )
        == (1, 1)
    )
    assert counts.groups["kicks"] == (0, await _sql_count(store, f"action_type = 20 AND target_id = {ME}")) == (0, 1)
    assert counts.groups["role changes"] == (0, 1)
    # AutoMod's entries name the member on both sides: counted once, as theirs.
    assert (
        counts.groups["AutoMod hits"]
        == (
            await _sql_count(store, f"action_type IN (143, 144, 145, 146) AND actor_id = {ME}"),
            0,
        )
        == (2, 0)
    )
    assert counts.decisions == {"ALLOW": 1, "DENY": 1}
    assert counts.role_changes == (1, 1)
    by_label = {h.label: h for h in headline(counts, ME)}
    assert (by_label["timeouts"].by, by_label["timeouts"].to) == (1, 1)  # the lifted one is not a timeout
    assert (by_label["role changes"].by, by_label["role changes"].to) == (1, 2)  # Discord's + the console's
    assert by_label["AutoMod hits"].to == 2
    assert not any(h.at_least for h in by_label.values())
    # The lifted timeout is still a change the log shows (newest first).
    assert [t.until_ms is None for t in counts.timeouts] == [False, True, False]


async def test_capped_counts_stop_at_the_cap_and_say_so(store: AuditStore) -> None:
    await _fill(store)
    counts = await store.member_counts(G, ME, cap=1)
    assert counts.groups["AutoMod hits"] == (1, 0)
    lines = {h.label: h for h in headline(counts, ME)}
    assert lines["AutoMod hits"].at_least
    assert lines["kicks"].at_least  # 1 of at most 1: maybe more
    exact = await store.member_counts(G, ME, cap=None)
    assert exact.groups["AutoMod hits"] == (2, 0)


async def test_a_stranger_has_nothing(store: AuditStore) -> None:
    await _fill(store)
    counts = await store.member_counts(G, 42)
    assert all(v == (0, 0) for v in counts.groups.values())
    assert counts.timeouts == ()
    assert counts.decisions == {}
    assert counts.role_changes == (0, 0)
    assert await store.timeline_page(Filter(member_ids=frozenset({42})), limit=10) == []
    assert await store.name_history(42) == []


async def test_names_are_kept_with_when_each_was_first_and_last_seen(open_store: object) -> None:
    now = [NOW_MS]
    store = await open_store(clock=lambda: now[0])  # type: ignore[operator]
    await store.upsert_names(G, "user", [(ME, "spammer01")])
    await store.upsert_names(G, "member", [(ME, "Spammy")])
    await store.upsert_names(G, "role", [(5, "Helpers")])  # not a person's: no history
    now[0] += 1000
    await store.upsert_names(G, "member", [(ME, "Spammy")])  # unchanged: nothing written
    now[0] += 1000
    await store.upsert_names(G, "member", [(ME, "Calm Person")])
    now[0] += 1000
    await store.upsert_names(G, "member", [(ME, "Spammy")])  # back again: the same row, seen now
    assert await store.name_history(ME) == [
        ("member", "Spammy", NOW_MS, NOW_MS + 3000),
        ("user", "spammer01", NOW_MS, NOW_MS),
        ("member", "Calm Person", NOW_MS + 2000, NOW_MS + 3000),
    ]
    assert await store.name_history(5) == []
    # Kept: a store opened again reads the same.
    again = await open_store(clock=lambda: now[0], readonly=True)  # type: ignore[operator]
    assert await again.name_history(ME) == await store.name_history(ME)


async def test_an_entry_they_did_to_themselves_is_read_once(store: AuditStore) -> None:
    await _fill(store)
    refs = await store.timeline_page(Filter(member_ids=frozenset({ME}), actions=frozenset({143, 145})), limit=10)
    assert len(refs) == len({r.id for r in refs}) == 2
