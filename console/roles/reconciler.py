"""The reconciler: a grant or revoke is done when the console *sees* it applied.

Discord sometimes answers a role PUT/DELETE with 204 and never applies it, or applies it and a
concurrent update undoes it. So an HTTP 204 is not a confirmation. For each change:

- the intent is committed before the first API call (a crash never loses a request);
- one change per member at a time, oldest first (a grant and a revoke of one member never race);
- PUT/DELETE with ``X-Audit-Log-Reason`` = the reason and the request id;
- confirmation only by observing the member: GUILD_MEMBER_UPDATE, or a member fetch when the
  next attempt is due and no event came;
- an event that showed it applied counts even when a later one shows it undone before the next
  turn (confirmed, then reverted), and a fetch that finds it undone after a call looks for the
  undo in the stored audit log first: a change someone else undid is never called again;
- a change this process inherited (pending when it started) waits until its guild's audit log
  since then is stored (the collector's start backfill): that is where such an undo would be;
- a change this process did not make (a request handed in, one pending at its start) is looked
  at before its first call even with no attempt recorded: a collector killed between its call
  and recording it leaves none;
- while not observed: retry after ``first_s``, backing off by ``factor`` with ± ``jitter`` up to
  ``cap_s``, until ``deadline_s`` (then ``expired``); a 429's retry-after is honoured;
- final states: ``confirmed`` (observed time), ``reverted`` (applied, then undone by someone else,
  linked to the audit entry that undid it), ``failed`` (403/404/400, with the error), ``expired``,
  ``cancelled`` (who cancelled).

Every HTTP call and observation is an attempt row (time, status, latency, what was seen): the
drawer's timeline. Pending changes survive a restart: :meth:`Reconciler.start` resumes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from console.model.records import Attempt, RoleChange
from console.model.snowflake import from_ms
from console.model.snowflake import parse as parse_id
from console.roles.api import ApiResult, RoleApi
from console.store import AuditStore
from console.store.errors import DeposedError, StoreError

log = logging.getLogger("console.roles")

REASON_MAX = 512  # Discord's limit for X-Audit-Log-Reason


@dataclass(frozen=True, slots=True)
class Schedule:
    first_s: float = 2.0
    factor: float = 2.0
    cap_s: float = 30.0
    jitter: float = 0.25
    deadline_s: float = 600.0
    #: How long after confirming a change the console still watches for someone undoing it.
    revert_watch_s: float = 120.0
    #: How long to look for the audit entry of a revert (it can arrive after the member update).
    link_wait_s: float = 30.0
    concurrency: int = 8

    def delay_s(self, attempts: int, rng: random.Random) -> float:
        base = min(self.cap_s, self.first_s * self.factor ** max(0, attempts - 1))
        return max(0.05, base * (1 + rng.uniform(-self.jitter, self.jitter)))


def applied(change: RoleChange, roles: frozenset[int]) -> bool:
    return (change.role_id in roles) == (change.op == "grant")


def audit_reason(change: RoleChange) -> str:
    tag = f" [request {change.id}]"
    text = (change.reason or "").strip() or "no reason given"
    return text[: REASON_MAX - len(tag)] + tag


def describe_error(result: ApiResult) -> str:
    known = {
        (403, 50013): "403 Missing Permissions: the role is at or above the bot's highest role, or the bot "
        "lacks MANAGE_ROLES",
        (404, 10007): "404 Unknown Member: the member left the guild",
        (404, 10011): "404 Unknown Role: the role no longer exists",
    }
    found = known.get((result.status, result.code))  # type: ignore[arg-type]
    if found:
        return found
    status = "no answer" if result.status is None else str(result.status)
    return f"{status}: {result.error or 'error'}"


class Reconciler:
    def __init__(
        self,
        store: AuditStore,
        api: RoleApi,
        *,
        bot_id: int | None = None,
        schedule: Schedule = Schedule(),
        rng: random.Random | None = None,
        on_final: Callable[[RoleChange], Any] | None = None,
        holds: Callable[[int], bool] | None = None,
        caught_up: Callable[[int], tuple[bool, str | None]] | None = None,
    ) -> None:
        """``holds``: whether a guild's requests are this collector's (its shard group holds the
        guild; None: every guild's). Another group's requests are left to that group's leader.
        ``caught_up``: whether the collector has stored a guild's audit log from the time no
        collector ran (its start backfill has ended), and why not if that backfill failed (None:
        nothing is backfilled here, changes do not wait for it)."""
        self.store = store
        self._holds = holds
        self._caught_up = caught_up
        #: The changes pending in the store when this process started: a collector before it may
        #: have called them. (Their ids, not a time: their clocks may be another machine's.)
        self._inherited: set[int] = set()
        #: Guilds whose start backfill failed, and why: their inherited changes went on without it.
        self._unread: dict[int, str] = {}
        #: The changes made here (``submit``): the only ones known never to have been called. Any
        #: other (a console's or ``role``'s request, one pending at the start) may have been taken
        #: on by a collector killed between its call and recording it, which left no attempt.
        self._ours: set[int] = set()
        self.api = api
        self.bot_id = bot_id
        self.schedule = schedule
        self._rng = rng or random.Random()
        self._on_final = on_final
        self._pending: dict[int, RoleChange] = {}
        self._watch: dict[int, tuple[RoleChange, int]] = {}  # confirmed changes: (change, watch until ms)
        self._seen: dict[tuple[int, int], tuple[frozenset[int], int]] = {}  # (guild, member) -> roles, at
        #: Pending changes an event showed applied, and when: kept even when a later event shows
        #: them undone, so an undo that comes before the next turn is a revert, not a reason to call again.
        self._seen_applied: dict[int, int] = {}
        self._busy: set[tuple[int, int]] = set()
        self._cancel: dict[int, int] = {}  # change id -> who cancelled
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop_task: asyncio.Task[Any] | None = None
        self._adopt_at = 0.0
        self._finished: set[int] = set()  # final here, maybe not yet read back by _adopt
        #: Why role changes are paused (the store cannot be written), None while they run.
        self.paused: str | None = None
        #: Why role changes stopped for good: another collector took over the store and carries
        #: them out now (its reconciler adopts the pending ones); this one calls Discord no more.
        self.deposed: str | None = None
        self.on_pause: Callable[[str | None], Any] | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> int:
        """Resume what a previous run left pending; how many changes that was."""
        await self._adopt()
        self._inherited = set(self._pending)
        self._loop_task = asyncio.get_running_loop().create_task(self._run(), name="reconciler")
        self._wake.set()
        return len(self._pending)

    async def stop(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
        for task in [*self._tasks, *([self._loop_task] if self._loop_task else [])]:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        self._tasks.clear()

    def pending(self) -> list[RoleChange]:
        return sorted(self._pending.values(), key=lambda c: c.id)

    # -- requests -------------------------------------------------------------------------------

    async def submit(
        self,
        guild_id: int,
        member_id: int,
        role_id: int,
        op: str,
        *,
        reason: str | None,
        requested_by: int | None,
        source: str,
        decision_id: int | None,
    ) -> RoleChange:
        """Commit the intent, then let the worker act on it. The caller has checked the policy."""
        change = new_change(
            self.store,
            guild_id,
            member_id,
            role_id,
            op,
            reason=reason,
            requested_by=requested_by,
            source=source,
            decision_id=decision_id,
            deadline_s=self.schedule.deadline_s,
        )
        await self.store.record_role_change(change)
        self._ours.add(change.id)
        self._pending[change.id] = change
        self._wake.set()
        return change

    async def retry_now(self, change_id: int) -> bool:
        change = self._pending.get(change_id)
        if change is None:
            return False
        self._pending[change_id] = change.with_(next_attempt_at=self._now())
        self._wake.set()
        return True

    async def cancel(self, change_id: int, by: int | None) -> bool:
        """Cancel a pending change (a person asked). A call already on its way is not recalled."""
        change = self._pending.get(change_id)
        if change is None:
            return False
        if (change.guild_id, change.member_id) in self._busy:
            self._cancel[change_id] = by or 0  # the worker finishes the call, then cancels
            return True
        await self._finish(change, "cancelled", cancelled_by=by)
        return True

    # -- observation ----------------------------------------------------------------------------

    def on_dispatch(self, name: str, payload: Mapping[str, Any]) -> None:
        """GUILD_MEMBER_UPDATE shows a member's roles now: confirmation (or a revert)."""
        if name != "GUILD_MEMBER_UPDATE":
            return
        gid = parse_id(payload.get("guild_id"))
        user = payload.get("user")
        uid = parse_id(user.get("id")) if isinstance(user, Mapping) else None
        raw_roles = payload.get("roles")
        if gid is None or uid is None or not isinstance(raw_roles, list):
            return
        roles = frozenset(r for r in (parse_id(x) for x in raw_roles) if r is not None)
        now = self._now()
        mine = [c for c in self._pending.values() if (c.guild_id, c.member_id) == (gid, uid)]
        if mine:  # only members with a change in hand: a big guild's updates are not ours to keep
            self._seen[(gid, uid)] = (roles, now)
        for change in mine:
            # Also while the first call is in flight (attempts still 0): the event then often
            # arrives before the 204, and the look that confirms it can follow the call at once.
            if applied(change, roles):
                self._seen_applied.setdefault(change.id, now)
                self._pending[change.id] = change.with_(next_attempt_at=now)  # confirm on the next turn
                self._wake.set()
        for cid, (change, until) in list(self._watch.items()):
            if now > until:
                del self._watch[cid]
            elif (change.guild_id, change.member_id) == (gid, uid) and not applied(change, roles):
                del self._watch[cid]
                self._spawn(self._reverted(change, now), f"revert-{cid}")

    # -- the worker -----------------------------------------------------------------------------

    async def _adopt(self) -> None:
        """Take on pending changes from the store that this process does not know: the ones a
        previous run left (resume) and the ones ``audit-console role`` handed in."""
        found = await self.store.pending_role_changes(limit=10_000)
        # A change finished here stays "pending" only in a read that raced its final write.
        self._finished &= {c.id for c in found}
        await self._drop_cancelled_elsewhere({c.id for c in found})
        for change in found:
            if self._holds is not None and not self._holds(change.guild_id):
                continue
            if change.id not in self._pending and change.id not in self._finished:
                # Due now: if an attempt was made before, the first look is a member fetch.
                self._pending[change.id] = change.with_(next_attempt_at=min(change.next_attempt_at or 0, self._now()))

    async def _drop_cancelled_elsewhere(self, pending_ids: set[int]) -> None:
        """Changes in hand that the store no longer has pending, asked one by one (one submitted
        here during the read above is missing from it too): those cancelled elsewhere go. One in
        the middle of a step is left to it (it asks again before calling Discord)."""
        for change_id in [c for c in self._pending if c not in pending_ids]:
            change = self._pending.get(change_id)
            if change is not None and (change.guild_id, change.member_id) not in self._busy:
                await self._cancelled_elsewhere(change)

    async def _cancelled_elsewhere(self, change: RoleChange) -> bool:
        """Whether another process (a moderator's console on a team store) cancelled the change
        in the store; if so it is dropped here, and nothing more is done for it."""
        stored = await self.store.role_change(change.id)
        if stored is None or stored.state != "cancelled":
            return False
        self._pending.pop(change.id, None)
        self._cancel.pop(change.id, None)
        self._seen_applied.pop(change.id, None)
        return True

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while self.deposed is None:
            self._wake.clear()
            if loop.time() >= self._adopt_at:
                self._adopt_at = loop.time() + 2.0
                with contextlib.suppress(StoreError):
                    await self._adopt()
            now = self._now()
            first: dict[tuple[int, int], RoleChange] = {}
            for change in sorted(self._pending.values(), key=lambda c: c.id):
                first.setdefault((change.guild_id, change.member_id), change)  # oldest per member only
            waits = []
            for key, change in first.items():
                if key in self._busy or not self._log_read(change):
                    continue  # a change waiting for its guild's backfill is looked at again within 1 s
                due = change.next_attempt_at or 0
                if due <= now and len(self._busy) < self.schedule.concurrency:
                    self._busy.add(key)
                    self._spawn(self._work(change.id), f"role-change-{change.id}")
                else:
                    waits.append(max(0, due - now))
            timeout = min([*waits, 1000]) / 1000
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def _work(self, change_id: int) -> None:
        change = self._pending.get(change_id)
        if change is None:
            return
        key = (change.guild_id, change.member_id)
        try:
            await self._step(change)
        except DeposedError as e:
            self._stop_deposed(str(e))
        except StoreError as e:
            log.error("role change %s: the store failed: %s", change_id, e)
            current = self._pending.get(change_id)
            if current is not None:  # try again later; the intent is on disk
                self._pending[change_id] = current.with_(next_attempt_at=self._now() + 5000)
        except Exception:
            log.exception("role change %s failed unexpectedly", change_id)
            current = self._pending.get(change_id)
            if current is not None:
                self._pending[change_id] = current.with_(next_attempt_at=self._now() + 5000)
        finally:
            self._busy.discard(key)
            self._wake.set()

    def _stop_deposed(self, reason: str) -> None:
        """Another collector leads: forget every change in hand (their intents are in the store,
        where the new leader adopts them) and make no more calls."""
        if self.deposed is None:
            self.deposed = reason
            log.warning("role changes stopped: %s", reason)
        self._pending.clear()
        self._watch.clear()
        self._seen_applied.clear()
        self._wake.set()

    async def _step(self, change: RoleChange) -> None:
        if self.deposed is not None:
            return
        # Asked of the store itself, not of a remembered state: a collector cut off from the
        # database, or deposed without having written since, must not call Discord.
        await self.store.check_leading()
        if self.store.write_failure is not None:
            if not await self._writable(change):
                return
        elif self.paused is not None:  # another write went through first
            self._set_paused(None)
        now = self._now()
        if change.id in self._cancel:
            await self._finish(change, "cancelled", cancelled_by=self._cancel.pop(change.id) or None)
            return
        if change.deadline_at is not None and now >= change.deadline_at:
            await self._finish(change, "expired", error=f"not observed applied after {change.attempts} attempts")
            return
        if change.id in self._seen_applied:
            await self._confirm_seen(change)
            return
        if change.attempts or change.id not in self._ours:
            # No event showed it applied (or another collector may have called it unrecorded):
            # look at the member.
            result, roles = await self.api.member_roles(change.guild_id, change.member_id)
            if roles is not None:
                seen_text = f"member fetch: role {'present' if change.role_id in roles else 'absent'}"
                unread = None if applied(change, roles) else self._unread_note(change)
                await self._attempt(change, result.status, result.latency_ms, seen_text, unread)
                if applied(change, roles):
                    await self._finish(change, "confirmed", observed_at=self._now())
                    return
                if await self._undone_unseen(change):
                    return
            else:
                await self._attempt(
                    change, result.status, result.latency_ms, "member fetch failed", describe_error(result)
                )
                if result.status == 404:
                    await self._finish(change, "failed", error=describe_error(result))
                    return
        if change.id in self._cancel:  # cancelled while we looked
            await self._finish(change, "cancelled", cancelled_by=self._cancel.pop(change.id) or None)
            return
        await self.store.check_leading()  # the member fetch took time: still the leader?
        if await self._cancelled_elsewhere(change):  # asked of the store just before the call
            return
        call = self.api.add_role if change.op == "grant" else self.api.remove_role
        result = await call(change.guild_id, change.member_id, change.role_id, audit_reason(change))
        verb = "PUT" if change.op == "grant" else "DELETE"
        attempts = change.attempts + 1
        if (current := self._pending.get(change.id)) is not None:
            # The call is made: remembered here before the store is told, so that if recording it
            # fails (the store went away) the next turn looks at the member before calling again.
            self._pending[change.id] = current.with_(attempts=attempts)
        if result.ok:
            await self._attempt(change, result.status, result.latency_ms, f"{verb} accepted; waiting to see it")
            delay = self.schedule.delay_s(attempts, self._rng)
        elif result.permanent:
            await self._attempt(change, result.status, result.latency_ms, f"{verb} refused", describe_error(result))
            await self._finish(change.with_(attempts=attempts), "failed", error=describe_error(result))
            return
        else:
            await self._attempt(
                change, result.status, result.latency_ms, f"{verb} not accepted", describe_error(result)
            )
            delay = (
                result.retry_after_s if result.retry_after_s is not None else self.schedule.delay_s(attempts, self._rng)
            )
        now = self._now()
        due = now + int(delay * 1000)
        if change.deadline_at is not None:
            due = min(due, change.deadline_at)
        updated = change.with_(
            attempts=attempts, next_attempt_at=due, updated_at=now, error=None if result.ok else describe_error(result)
        )
        await self.store.record_role_change(updated)
        if change.id in self._pending:
            current = self._pending[change.id]
            # An event that arrived during the call (or a retry asked for) marked it due now: keep
            # that. Compared for change, not order: the step began at its due time, already past,
            # so the event's "now" is later than it, and the applied change sat out a whole backoff.
            if current.next_attempt_at is not None and current.next_attempt_at != change.next_attempt_at:
                updated = updated.with_(next_attempt_at=now)
            self._pending[change.id] = updated

    async def _confirm_seen(self, change: RoleChange) -> None:
        """An event showed the change applied: confirmed then; and if a later event shows it
        undone already, reverted (the watch would wait for an event that has come and gone)."""
        observed = self._seen_applied[change.id]
        latest = self._seen.get((change.guild_id, change.member_id))
        await self._attempt(change, None, 0, "GUILD_MEMBER_UPDATE: role " + self._present(change))
        await self._finish(change, "confirmed", observed_at=observed)
        if latest is not None and latest[1] >= observed and not applied(change, latest[0]):
            final, _ = self._watch.pop(change.id)
            self._spawn(self._reverted(final, latest[1]), f"revert-{change.id}")

    async def _undone_unseen(self, change: RoleChange) -> bool:
        """The member lacks what a call already made should have done, and no event said why: a
        call applied while no event reached this process (made by a collector deposed or killed
        since) and undone by someone else before the look. An undo in the audit log since the
        request makes it reverted, linked to that entry, and not called again."""
        entry_id = await self._find_undo(change, from_ms(change.created_at))
        if entry_id is None:
            return False
        await self._finish(
            change, "reverted", error="undone by someone else after it was applied", linked_entry_id=entry_id
        )
        return True

    def _log_read(self, change: RoleChange) -> bool:
        """Whether the audit log a change may be undone in is stored, so it may be acted on. A
        change this process inherited may have been applied by a collector that died since, and
        undone by someone while none ran; that undo reaches the store only by the start backfill,
        and a member fetch before it would find the role gone, no undo, and call again. So an
        inherited change waits for its guild's backfill; one that failed (a refused audit log,
        Discord down) is not waited out, since the request's deadline runs: it is said instead."""
        if self._caught_up is None or change.id not in self._inherited:
            return True
        done, why = self._caught_up(change.guild_id)
        if why is None:
            self._unread.pop(change.guild_id, None)  # read since (a retried backfill)
        elif done and change.guild_id not in self._unread:
            self._unread[change.guild_id] = why
            log.warning(
                "guild %s: role changes pending when this collector started go on without the audit "
                "log since then (its backfill failed: %s); an undo made while no collector ran is not seen",
                change.guild_id,
                why,
            )
        return done

    def _unread_note(self, change: RoleChange) -> str | None:
        """The attempt's error when an inherited change is found not applied and its guild's
        audit log since the last collector could not be read (it may hold an undo)."""
        why = self._unread.get(change.guild_id) if change.id in self._inherited else None
        return None if why is None else f"the audit log since the last collector was not read ({why})"

    async def _writable(self, change: RoleChange) -> bool:
        """The store failed its last write (full disk, I/O error): call nothing on Discord, since
        what happens could not be recorded (docs/how-entries-are-kept.md: a degraded store pauses
        role changes). Recording the pause in the change's timeline is also the probe that
        ends it. False (and due again in a second) while the store still fails."""
        reason = self.store.write_failure
        self._set_paused(reason)
        try:
            await self._attempt(
                change, None, 0, "not called: role changes paused, the store could not be written", reason
            )
        except DeposedError:
            raise
        except StoreError:
            current = self._pending.get(change.id)
            if current is not None:
                self._pending[change.id] = current.with_(next_attempt_at=self._now() + 1000)
            return False
        self._set_paused(None)
        return True

    def _set_paused(self, reason: str | None) -> None:
        if reason == self.paused:
            return
        self.paused = reason
        if reason:
            log.error("role changes paused: the store cannot be written: %s", reason)
        else:
            log.warning("role changes resumed: the store can be written again")
        if self.on_pause is not None:
            self.on_pause(reason)

    @staticmethod
    def _present(change: RoleChange) -> str:
        return "present" if change.op == "grant" else "absent"

    async def _attempt(
        self, change: RoleChange, status: int | None, latency_ms: int, observed: str, error: str | None = None
    ) -> None:
        await self.store.record_attempt(Attempt(0, change.id, self._now(), status, latency_ms, observed, error))

    async def _finish(self, change: RoleChange, state: str, **fields: Any) -> None:
        now = self._now()
        channel = await self.store.setting(audit_channel_key(change.guild_id))
        final = change.with_(
            state=state, updated_at=now, next_attempt_at=None, message_state="pending" if channel else None, **fields
        )
        await self.store.record_role_change(final)
        self._pending.pop(change.id, None)
        self._seen_applied.pop(change.id, None)
        self._inherited.discard(change.id)
        self._ours.discard(change.id)
        self._finished.add(change.id)
        key = (change.guild_id, change.member_id)
        if not any((c.guild_id, c.member_id) == key for c in self._pending.values()):
            self._seen.pop(key, None)
        self._cancel.pop(change.id, None)
        if state == "confirmed":
            self._watch[change.id] = (final, now + int(self.schedule.revert_watch_s * 1000))
        if self._on_final is not None:
            self._on_final(final)

    async def _reverted(self, change: RoleChange, seen_ms: int) -> None:
        """Someone undid a confirmed change: record it, then find the audit entry that did it."""
        latest = await self.store.role_change(change.id) or change
        await self._attempt(
            latest,
            None,
            0,
            f"GUILD_MEMBER_UPDATE: role {'absent' if change.op == 'grant' else 'present'} again after confirmation",
        )
        channel = await self.store.setting(audit_channel_key(change.guild_id))
        reverted = latest.with_(
            state="reverted",
            updated_at=seen_ms,
            error="undone by someone else after it was applied",
            message_state="pending" if channel else None,
        )
        await self.store.record_role_change(reverted)
        if self._on_final is not None:
            self._on_final(reverted)
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.schedule.link_wait_s
        after = from_ms(change.created_at)  # the undo came after the request
        while loop.time() < give_up:
            entry_id = await self._find_undo(change, after)
            if entry_id is not None:
                await self.store.record_role_change(reverted.with_(linked_entry_id=entry_id))
                return
            await asyncio.sleep(0.5)
        log.warning("role change %s was reverted; no audit entry for it arrived", change.id)

    async def _find_undo(self, change: RoleChange, after_id: int) -> int | None:
        key = "$remove" if change.op == "grant" else "$add"
        for entry in await self.store.role_entries(change.guild_id, change.member_id, after_id):
            raw = entry.raw if isinstance(entry.raw, Mapping) else orjson.loads(entry.raw)
            if self.bot_id is not None and parse_id(raw.get("user_id")) == self.bot_id:
                continue  # our own change, not the undo
            for ch in raw.get("changes") or ():
                if ch.get("key") == key and any(
                    parse_id(r.get("id")) == change.role_id for r in ch.get("new_value") or () if isinstance(r, Mapping)
                ):
                    return entry.id
        return None

    # -- helpers --------------------------------------------------------------------------------

    def _now(self) -> int:
        return self.store.now_ms()

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def new_change(
    store: AuditStore,
    guild_id: int,
    member_id: int,
    role_id: int,
    op: str,
    *,
    reason: str | None,
    requested_by: int | None,
    source: str,
    decision_id: int | None,
    deadline_s: float,
) -> RoleChange:
    """A pending change, due now (to be committed before any call is made)."""
    if op not in ("grant", "revoke"):
        raise ValueError("op must be grant or revoke")
    now = store.now_ms()
    return RoleChange(
        id=store.ids.make(now),
        guild_id=guild_id,
        member_id=member_id,
        role_id=role_id,
        op=op,
        reason=(reason or "")[:REASON_MAX] or None,
        requested_by=requested_by,
        source=source,
        decision_id=decision_id,
        state="pending",
        created_at=now,
        updated_at=now,
        next_attempt_at=now,
        deadline_at=now + int(deadline_s * 1000),
        attempts=0,
        observed_at=None,
        error=None,
        linked_entry_id=None,
        message_id=None,
        cancelled_by=None,
    )


def audit_channel_key(guild_id: int) -> str:
    return f"audit_channel:{guild_id}"
