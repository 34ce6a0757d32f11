"""Role changes that are confirmed, against the simulated Discord (real hikari client, real store):
drops and delays, a revert by someone else, permanent errors, and the audit messages."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from backends import BOTH

from console.model.location import StoreLocation
from console.model.records import RoleChange
from console.roles.reconciler import Schedule, audit_channel_key, audit_reason, new_change
from console.sim import SimConfig, SimServer
from console.sim.demo_policy import demo_operator, demo_policy_text

from .conftest import eventually
from .test_slash_commands import Live, start_live, stop_live

#: Waits here are on the real condition; this bound only stops a hung test (a loaded 2-core CI
#: runs them many times slower than alone), and its failure says what was still outstanding.
HANG_S = 600.0


@pytest.fixture
async def big_sim() -> AsyncIterator[SimServer]:
    server = SimServer(SimConfig(seed=11, heartbeat_interval_ms=500, member_count=80))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def live(big_sim: SimServer, tmp_path: Path, location: StoreLocation) -> AsyncIterator[Live]:
    lv = await start_live(big_sim, tmp_path, demo_policy_text(big_sim), location=location)
    # Fast retries; no change expires, nor a revert goes unlinked, because the machine is slow
    # (an expired change would be a wrong final state): HANG_S stops a hung test instead.
    lv.services.reconciler.schedule = Schedule(first_s=0.3, cap_s=1.0, deadline_s=3600, link_wait_s=HANG_S)
    lv.services.poster.retry_s = 0.2
    try:
        yield lv
    finally:
        await stop_live(lv)


def roles_of(sim: SimServer, uid: int) -> set[int]:
    return {int(r) for r in sim.guild.member_object(uid)["roles"]} if uid in sim.guild.members else set()


def applications(sim: SimServer) -> Counter:
    """How many times each (member, role, add) was really applied: one audit entry each (the
    drop knob is set not to log, so an entry means the change happened)."""
    seen: Counter = Counter()
    for e in sim.guild.audit_log:
        if e["action_type"] == 25:
            for ch in e["changes"]:
                for r in ch["new_value"]:
                    seen[(int(e["target_id"]), int(r["id"]), ch["key"] == "$add")] += 1
    return seen


async def still_pending(live: Live, ids: list[int]) -> list[str]:
    """The changes not final yet, each with its attempts and last error."""
    pending = []
    for i in ids:
        change = await live.store.role_change(i)
        if change is None:
            pending.append(f"{i}: not stored")
        elif change.state == "pending":
            pending.append(f"{i}: pending, {change.attempts} attempts, {change.error or 'no error'}")
    return pending


async def until_all_final(live: Live, ids: list[int]) -> None:
    outstanding: list[str] = []

    async def final() -> bool:
        outstanding[:] = await still_pending(live, ids)
        return not outstanding

    await eventually(
        final,
        timeout=HANG_S,
        what="every change final",
        describe=lambda: f"{len(outstanding)} of {len(ids)} still pending: {outstanding[:20]}",
    )


# SQLite alone: 40 s of the simulator's drops and delays, the same store calls as the tests on
# both backends below (record, pending, attempts, role_change) many more times.
async def test_200_requests_under_drops_and_delays_all_reach_a_true_final_state(big_sim: SimServer, live: Live) -> None:
    sim = big_sim
    operator = demo_operator(sim)
    before = applications(sim)
    grantable = [sim.guild.role_id(n) for n in ("Muted", "Members", "Verified", "Event Hosts", "Helpers")]
    members = sim.guild.regular_ids()
    forbidden = sim.guild.role_id("Event Hosts")
    leavers = members[:10]
    plan: list[tuple[int, int, str]] = []
    for uid in members[10:]:
        for rid in grantable:
            if rid != forbidden:
                plan.append((uid, rid, "revoke" if rid in roles_of(sim, uid) else "grant"))
    plan = (
        plan[:180]
        + [(uid, forbidden, "grant") for uid in members[10:20]]
        + [(uid, grantable[2], "grant") for uid in leavers]
    )
    assert len(plan) == 200

    sim.knobs.role_drop_probability = 0.2
    sim.knobs.role_drop_logs_entry = False
    sim.knobs.role_delay_probability = 0.3
    sim.knobs.role_delay_s = 0.5
    sim.knobs.forbidden_role_ids = {forbidden}
    for uid in leavers:
        sim.member_leave(uid)

    ids = []
    for uid, rid, op in plan:
        done = await live.services.roles.request(sim.guild_id, operator, uid, rid, op, reason="bulk", source="CLI")
        assert done.change is not None, done.checked.verdict.path
        ids.append(done.change.id)
    await until_all_final(live, ids)

    changes = [await live.store.role_change(i) for i in ids]
    states = Counter(c.state for c in changes)
    assert states == {"confirmed": 180, "failed": 20}, states
    after = applications(sim)
    for (uid, rid, op), c in zip(plan, changes, strict=True):
        key = (uid, rid, op == "grant")
        if c.state == "confirmed":
            assert (rid in roles_of(sim, uid)) == (op == "grant"), "confirmed means really applied"
            assert after[key] - before[key] == 1, "applied exactly once"
            assert c.observed_at is not None
        else:
            assert after[key] - before[key] == 0
            assert ("403 Missing Permissions" if rid == forbidden else "404 Unknown Member") in c.error
    dropped = sum(1 for c in changes if c.state == "confirmed" and c.attempts > 1)
    assert dropped > 0, "some were dropped by Discord and applied on a retry"


@pytest.mark.backends(*BOTH)
async def test_a_revert_by_someone_else_is_linked_to_its_audit_entry(big_sim: SimServer, live: Live) -> None:
    sim = big_sim
    verified = sim.guild.role_id("Verified")
    uid = next(u for u in sim.guild.regular_ids() if verified not in roles_of(sim, u))
    sim.knobs.role_revert_probability = 1.0
    sim.knobs.role_revert_after_s = 0.5
    done = await live.services.roles.request(
        sim.guild_id, demo_operator(sim), uid, verified, "grant", reason="trial", source="TUI"
    )

    async def linked() -> bool:
        c = await live.store.role_change(done.change.id)
        return c.state == "reverted" and c.linked_entry_id is not None

    await eventually(linked, timeout=HANG_S, what="reverted and linked")
    c = await live.store.role_change(done.change.id)
    undo = next(e for e in sim.guild.audit_log if int(e["id"]) == c.linked_entry_id)
    assert undo["changes"][0]["key"] == "$remove"
    assert int(undo["target_id"]) == uid
    assert int(undo["user_id"]) != sim.bot_id
    assert c.observed_at is not None, "it was seen applied before it was undone"
    stored = await live.store.get_entry(c.linked_entry_id)
    assert stored is not None, "the linked entry is in the store"


def applied_per_request(sim: SimServer) -> Counter:
    """How many times the simulator applied (really changed) a role op, per request id."""
    return Counter(
        int(m[1]) for *_, reason in sim.role_ops_applied if (m := re.search(r"\[request (\d+)\]", reason or ""))
    )


@pytest.mark.backends(*BOTH)
async def test_a_change_undone_before_its_confirmation_is_reverted_not_applied_again(
    big_sim: SimServer, live: Live
) -> None:
    """Someone undoes each grant at once, before the reconciler's next turn: the event that showed
    it applied counts (the undo's event came after it), so each ends reverted, applied once. It
    was called again and again (up to 10 applications each) while the later event hid the first."""
    sim = big_sim
    verified = sim.guild.role_id("Verified")
    members = [u for u in sim.guild.regular_ids() if verified not in roles_of(sim, u)][:6]
    sim.knobs.role_revert_probability = 1.0
    sim.knobs.role_revert_after_s = 0.0
    ids = []
    for uid in members:
        done = await live.services.roles.request(
            sim.guild_id, demo_operator(sim), uid, verified, "grant", reason="undone at once", source="TUI"
        )
        ids.append(done.change.id)

    async def reverted_and_linked() -> bool:
        changes = [await live.store.role_change(i) for i in ids]
        return all(c.state == "reverted" and c.linked_entry_id is not None for c in changes)

    await eventually(reverted_and_linked, timeout=HANG_S, what="every change reverted and linked")
    assert applied_per_request(sim) == Counter({i: 1 for i in ids})
    for i in ids:
        c = await live.store.role_change(i)
        assert c.observed_at is not None, "seen applied before the undo"
        undo = next(e for e in sim.guild.audit_log if int(e["id"]) == c.linked_entry_id)
        assert undo["changes"][0]["key"] == "$remove"
        assert int(undo["user_id"]) != sim.bot_id


def called_by_the_old_leader(live: Live, sim: SimServer, uid: int, role: int) -> RoleChange:
    """A grant a collector before this one called, and Discord applied; not stored yet."""
    change = new_change(
        live.store,
        sim.guild_id,
        uid,
        role,
        "grant",
        reason="called by the collector before",
        requested_by=demo_operator(sim),
        source="CLI",
        decision_id=None,
        deadline_s=3600,  # not expired because the machine is slow
    )
    sim.member_role_change(uid, role, add=True, reason=audit_reason(change))  # the old leader's call
    return change


async def removed_by_a_moderator(live: Live, sim: SimServer, uid: int, role: int) -> int:
    """A moderator removes ``role`` from ``uid``; the removal's entry id, once stored."""
    moderator = next(m for m in sim.guild.staff_ids() if m != sim.bot_id)
    undo = sim.emit(
        {
            "action_type": 25,
            "target_id": uid,
            "user_id": moderator,
            "changes": [{"key": "$remove", "new_value": [sim.guild.partial_role(role)]}],
        }
    )
    entry_id = int(undo["id"])

    async def stored() -> bool:
        return await live.store.get_entry(entry_id) is not None

    await eventually(stored, timeout=HANG_S, what="the removal stored")
    return entry_id


@pytest.mark.backends(*BOTH)
async def test_an_adopted_change_applied_and_undone_unseen_is_reverted_not_called_again(
    big_sim: SimServer, live: Live
) -> None:
    """A collector killed right after its call was applied: the change is pending with one
    attempt, and a moderator removed the role before the collector taking over looked. Its member
    fetch finds the role absent with no event to say why; the undo in the audit log makes the
    change reverted (linked), where a new call applied it a second time."""
    sim = big_sim
    verified = sim.guild.role_id("Verified")
    uid = next(u for u in sim.guild.regular_ids() if verified not in roles_of(sim, u))
    change = called_by_the_old_leader(live, sim, uid, verified)
    undo = await removed_by_a_moderator(live, sim, uid, verified)
    assert verified not in roles_of(sim, uid)
    # Handed over as the old leader left it: pending, its call made (adopted within 2 s).
    await live.store.record_role_change(change.with_(attempts=1))

    async def final() -> bool:
        return (await live.store.role_change(change.id)).state != "pending"

    await eventually(final, timeout=HANG_S, what="the adopted change final")
    c = await live.store.role_change(change.id)
    assert (c.state, c.linked_entry_id) == ("reverted", undo)
    assert applied_per_request(sim)[change.id] == 1
    assert verified not in roles_of(sim, uid), "the moderator's removal stands"


@pytest.mark.backends(*BOTH)
async def test_a_change_called_but_never_recorded_is_looked_at_not_called_again(big_sim: SimServer, live: Live) -> None:
    """A collector killed between its call and recording it: the change is pending with no
    attempt, and Discord applied it. For one member it stands; for another a moderator removed the
    role before the collector taking over got to it. The taker looks before calling: the first is
    confirmed, the second reverted (linked to the removal), and neither applied a second time."""
    sim = big_sim
    verified = sim.guild.role_id("Verified")
    kept, undone = [u for u in sim.guild.regular_ids() if verified not in roles_of(sim, u)][:2]
    changes = {uid: called_by_the_old_leader(live, sim, uid, verified) for uid in (kept, undone)}
    removal = await removed_by_a_moderator(live, sim, undone, verified)
    for change in changes.values():  # handed over as the old leader left them: no attempt
        await live.store.record_role_change(change)

    async def final() -> bool:
        return all([(await live.store.role_change(c.id)).state != "pending" for c in changes.values()])

    await eventually(final, timeout=HANG_S, what="both changes final")
    confirmed = await live.store.role_change(changes[kept].id)
    reverted = await live.store.role_change(changes[undone].id)
    assert confirmed.state == "confirmed"
    assert (reverted.state, reverted.linked_entry_id) == ("reverted", removal)
    assert applied_per_request(sim) == Counter({changes[kept].id: 1, changes[undone].id: 1})
    for change in changes.values():
        first, *_ = await live.store.attempts(change.id)
        assert (first.observed or "").startswith("member fetch"), "looked at before any call"


@pytest.mark.backends(*BOTH)
async def test_audit_messages_say_what_happened_and_failures_are_retried(big_sim: SimServer, live: Live) -> None:
    sim = big_sim
    mod_log = sim.guild.core_channels["mod-log"]
    verified = sim.guild.role_id("Verified")
    uid = next(u for u in sim.guild.regular_ids() if verified not in roles_of(sim, u))
    # First an audit channel that does not exist: the message fails visibly, then is retried.
    await live.store.set_setting(audit_channel_key(sim.guild_id), "123456789012345678")
    done = await live.services.roles.request(
        sim.guild_id, demo_operator(sim), uid, verified, "grant", reason="Passed @everyone verification", source="TUI"
    )

    async def message_state(state: str) -> bool:
        return (await live.store.role_change(done.change.id)).message_state == state

    await eventually(lambda: message_state("failed"), timeout=HANG_S, what="the post failed")
    assert "Unknown Channel" in (await live.store.role_change(done.change.id)).message_error
    await live.store.set_setting(audit_channel_key(sim.guild_id), str(mod_log))
    await eventually(lambda: message_state("posted"), timeout=HANG_S, what="posted after the channel was fixed")

    change = await live.store.role_change(done.change.id)
    message = next(m for m in sim.guild.messages if m["id"] == change.message_id)
    assert int(message["channel_id"]) == mod_log
    text = message["content"]
    assert text.splitlines()[0] == f"✅ Grant <@&{verified}> — confirmed"
    assert f"Member: <@{uid}> ({uid})" in text
    assert f"Observed: <t:{change.observed_at // 1000}:F>" in text
    assert "Reason: Passed @\u200beveryone verification" in text, "no @everyone in the audit channel"
    assert re.search(rf"Request {change.id} by <@\d+> via TUI, 1 attempt", text)

    muted = sim.guild.role_id("Muted")
    sim.knobs.forbidden_role_ids = {muted}
    other = next(u for u in sim.guild.regular_ids() if muted not in roles_of(sim, u))
    failed = await live.services.roles.request(
        sim.guild_id, demo_operator(sim), other, muted, "grant", reason="x", source="TUI"
    )

    async def failed_posted() -> bool:
        return (await live.store.role_change(failed.change.id)).message_state == "posted"

    await eventually(failed_posted, timeout=HANG_S, what="the failure posted")
    c = await live.store.role_change(failed.change.id)
    text = next(m for m in sim.guild.messages if m["id"] == c.message_id)["content"]
    assert text.splitlines()[0] == f"❌ Grant <@&{muted}> — failed"
    assert "Cause: 403 Missing Permissions" in text
    assert "Observed:" not in text


@pytest.mark.backends(*BOTH)
async def test_429_bursts_are_waited_out(big_sim: SimServer, live: Live) -> None:
    """Every third REST call is answered 429: the retry-after is honoured and every change still
    ends confirmed, applied once."""
    sim = big_sim
    verified = sim.guild.role_id("Verified")
    members = [u for u in sim.guild.regular_ids() if verified not in roles_of(sim, u)][:12]
    before = applications(sim)
    sim.knobs.rate_limit_every = 3
    sim.knobs.rate_limit_retry_after = 0.2
    ids = []
    for uid in members:
        done = await live.services.roles.request(
            sim.guild_id, demo_operator(sim), uid, verified, "grant", reason="burst", source="CLI"
        )
        ids.append(done.change.id)
    await until_all_final(live, ids)
    assert {(await live.store.role_change(i)).state for i in ids} == {"confirmed"}
    after = applications(sim)
    assert all(after[(u, verified, True)] - before[(u, verified, True)] == 1 for u in members)
