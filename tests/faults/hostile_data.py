"""Hostile strings for the "hostile" fault case, and a store seeded with them everywhere the
console shows text from Discord: member names and nicks, role names, channel names and topics,
the guild's name, reasons, change values, AutoMod options, decision paths, role-change errors,
attempt notes, gap reasons and statuses, alert summaries.

Every string carries a unique marker (``HZ012<`` … ``>HZ012``) so the terminal scan can tell bytes
that came from the data from the console's own escape sequences. The injected control sequences
carry signatures the console itself never emits (a 1;3;7 truecolor, ``HZTITLE``, ``hz.invalid``).
Deterministic: the same seed gives the same strings.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from console.ingest.names import names_from_guild
from console.model.records import Attempt, Decision, RoleChange
from console.model.snowflake import from_ms
from console.sim import SimConfig, SimServer
from console.store import Store

#: What a click on data markup would run: the app under test counts calls to it.
ACTION = "hz_count"
LONG = 100_000

# Control sequences with signatures the console never emits itself (see FORBIDDEN below).
ESCAPES = {
    "csi-sgr": "\x1b[38;2;1;3;7m",
    "csi-clear": "\x1b[2J\x1b[H",
    "osc0-title": "\x1b]0;HZTITLE\x07",
    "osc52-clipboard": "\x1b]52;c;SFpDTElQ\x07",
    "osc8-link": "\x1b]8;;https://hz.invalid/x\x1b\\link\x1b]8;;\x1b\\",
    "dcs": "\x1bPHZDCS\x1b\\",
    "c1-csi": "\x9b38;2;1;3;7m",
    "c1-osc": "\x9d0;HZTITLE\x9c",
    "c1-dcs": "\x90HZDCS\x9c",
    "c1-misc": "\x80\x85\x8d\x9f",
    "bel": "HZBEL\x07",
    "c0": "\x00nul\x08bs\rcr\x0bvt\x0cff\x7fdel",
}
MARKUP = {
    "click-app": f"[@click=app.{ACTION}('m')]click me[/]",
    "click-screen": f"[@click=screen.{ACTION}]also[/]",
    "click-bare": f"[@click={ACTION}]bare[/]",
    "link": "[link=https://hz.invalid/m]link[/link]",
    "style": "[bold red on white reverse blink]styled[/]",
    "unbalanced": "[/] [/bold] [b",
    "escaped": "\\[@click=app.quit]x\\[/]",
}
INVISIBLE = {
    "bidi": "\u202eevil\u202c \u2066iso\u2069 \u200frtl",
    "zero-width": "z\u200bw\u200cn\u200dj\u2060w\ufeffj\u00ad",
}
FORMULAS = (
    '=HYPERLINK("https://hz.invalid","x")',
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\t=1+1",
    "\r=1+1",
    "\x00=1",
    "＝1+1",
    "＋1",
    "－1",
    "＠SUM(A1)",
)


def zalgo(rng: random.Random, base: str = "zalgo", marks: int = 40) -> str:
    return "".join(ch + "".join(chr(rng.randrange(0x300, 0x370)) for _ in range(marks)) for ch in base)


def marked(n: int, body: str) -> str:
    return f"HZ{n:03d}<{body}>HZ{n:03d}"


class Strings:
    """A deterministic supply of hostile strings: every kind at least once, then mixtures."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.n = 0
        kinds = [*ESCAPES.values(), *MARKUP.values(), *INVISIBLE.values()]
        self._queue = list(kinds)

    def next(self, *, short: bool = False) -> str:
        """One hostile string with its marker; ``short`` keeps it under Discord's name length."""
        self.n += 1
        if self._queue:
            body = self._queue.pop(0)
        else:
            parts = self.rng.sample([*ESCAPES.values(), *MARKUP.values(), *INVISIBLE.values()], 3)
            if self.rng.random() < 0.3:
                parts.append(zalgo(self.rng, marks=8 if short else 40))
            body = " ".join(parts)
        return marked(self.n, body[:60] if short else body)

    def formula(self) -> str:
        """Starts with a spreadsheet formula trigger (a CSV cell must be guarded)."""
        self.n += 1
        return self.rng.choice(FORMULAS) + marked(self.n, MARKUP["click-app"])

    def long(self) -> str:
        """100 000 characters, escapes and markup spread through it."""
        self.n += 1
        chunk = ESCAPES["osc52-clipboard"] + MARKUP["click-app"] + INVISIBLE["bidi"] + zalgo(self.rng, "z", 10)
        body = (chunk * (LONG // len(chunk) + 1))[: LONG - 20]
        return marked(self.n, body)[:LONG]


#: Byte patterns that can only come from the data: if any is in the terminal stream, it leaked.
FORBIDDEN: dict[str, bytes] = {
    "CSI SGR 1;3;7": b"\x1b[38;2;1;3;7m",
    "clear screen": b"\x1b[2J\x1b[H",
    "OSC 0 title": b"\x1b]0;HZTITLE",
    "OSC 52 clipboard": b"\x1b]52;",
    "OSC 8 link": b"\x1b]8;;https://hz.invalid",
    "DCS": b"\x1bPHZDCS",
    "BEL after data": b"HZBEL\x07",
    "NUL": b"\x00",
    "BS": b"\x08bs",
    "CR": b"\rcr",
    "VT": b"\x0bvt",
    "FF": b"\x0cff",
    "DEL": b"\x7fdel",
}


@dataclass
class Seeded:
    guild_id: int
    member_id: int  # a member with a hostile name, nick and roles (for explain)
    channel_id: int
    strings: list[str]  # every hostile string put into the store
    formulas: list[str]
    long_ids: list[int]  # audit entries whose reason is 100 000 characters
    plain_ids: list[int]  # audit entries of plain text (the timing baseline)


async def seed(path: Path, *, seed: int = 7, now_ms: int, history: int = 60, long_rows: int = 40) -> Seeded:
    """A store at ``path`` full of hostile text, with times around ``now_ms`` (the report and the
    feed's default window see them)."""
    s = Strings(seed)
    put: list[str] = []

    def h(short: bool = False) -> str:
        v = s.next(short=short)
        put.append(v)
        return v

    sim = SimServer(SimConfig(seed=seed, clock=lambda: now_ms / 1000))
    sim.seed_history(history, days_back=2)
    g = sim.guild
    gid = g.guild_id
    g.name = h(short=True)
    for uid in list(g.members):
        user = g.users[uid]
        user["username"] = h(short=True)
        user["global_name"] = h(short=True)
        g.members[uid]["nick"] = h(short=True)
    for rid, role in g.roles.items():
        if rid != gid:  # @everyone keeps its name
            role["name"] = h(short=True)
    for channel in g.channels.values():
        channel["name"] = h(short=True)
        if "topic" in channel:
            channel["topic"] = h()
    staff, regular = g.staff_ids(), g.regular_ids()
    actor, member = staff[0], regular[0]
    role = g.assignable_role_ids()[0]
    channel = g.channel_ids(0)[0]

    store = await Store.open(path, clock=lambda: now_ms)
    for kind, items in names_from_guild(g.gateway_guild_object()).items():
        await store.upsert_names(gid, kind, items)
    await store.save_guild_state(
        gid,
        {
            "guild": g.guild_object(),
            "channels": g.channel_objects(),
            "members": [g.member_object(u) for u in g.members],
        },
    )
    await store.add_entries(g.audit_log, source="backfill", guild_id=gid, received_at=now_ms)

    ms = now_ms - 3_600_000
    made: list[dict[str, Any]] = []

    def entry(action: int, target: Any, **fields: Any) -> dict[str, Any]:
        nonlocal ms
        ms += 1000
        e = {
            "id": str(from_ms(ms)),
            "action_type": action,
            "user_id": str(actor),
            "target_id": None if target is None else str(target),
            "reason": h(),
            **fields,
        }
        made.append(e)
        return e

    entry(22, member)  # ban with a reason
    entry(24, member, changes=[{"key": "nick", "old_value": h(True), "new_value": h(True)}])
    entry(
        25,
        member,
        changes=[
            {"key": "$add", "new_value": [{"id": str(role), "name": h(True)}]},
            {"key": "$remove", "new_value": [{"id": str(role), "name": h(True)}]},
        ],
    )
    entry(
        11,
        channel,
        changes=[
            {"key": "name", "old_value": h(True), "new_value": h(True)},
            {"key": "topic", "old_value": h(), "new_value": h()},
        ],
    )
    entry(31, role, changes=[{"key": "name", "old_value": h(True), "new_value": h(True)}])
    entry(
        1,
        gid,
        changes=[
            {"key": "name", "old_value": h(True), "new_value": h(True)},
            {"key": "description", "old_value": None, "new_value": h()},
        ],
    )
    entry(
        143,
        member,
        options={
            "channel_id": str(channel),
            "auto_moderation_rule_name": h(True),
            "auto_moderation_rule_trigger_type": "1",
        },
    )
    entry(999, member, options={"hz": h(), "status": h()}, changes=[{"key": h(True), "new_value": h()}])
    formulas = [s.formula() for _ in range(len(FORMULAS))]
    for f in formulas:
        entry(22, member)["reason"] = f
    await store.add_entries(made, source="gateway", guild_id=gid, received_at=now_ms)

    # The timing pages: plain rows, then rows whose reason and names are 100 000 characters.
    plain, long_ = [], []
    for _ in range(long_rows):
        ms += 10
        plain.append(
            {
                "id": str(from_ms(ms)),
                "action_type": 22,
                "user_id": str(actor),
                "target_id": str(member),
                "reason": "plain reason for the baseline",
            }
        )
    for _ in range(long_rows):
        ms += 10
        text = s.long()
        long_.append(
            {
                "id": str(from_ms(ms)),
                "action_type": 22,
                "user_id": str(actor),
                "target_id": str(member),
                "reason": text,
                "changes": [{"key": "nick", "old_value": text, "new_value": text}],
            }
        )
    await store.add_entries(plain + long_, source="gateway", guild_id=gid, received_at=now_ms)
    await store.upsert_names(gid, "user", [(regular[1], s.long())])

    # Decisions, role changes, attempts, gaps and alerts with hostile fields.
    decision = Decision(
        id=from_ms(ms + 100) | 1,
        guild_id=gid,
        created_at=ms + 100,
        actor_id=actor,
        actor_name=h(True),
        actor_roles=[role],
        actor_admin=False,
        actor_owner=False,
        capability="roles.grant",
        resource_type="role",
        resource_id=role,
        source="TUI",
        result="DENY",
        reason_code="DISCORD_GATE_DENIED",
        path=[
            {"step": "RBAC_GRANT_ALLOW", "found": h(), "decided": False, h(True): h()},
            {"step": h(True), "found": h(), "decided": True},
        ],
        policy_version=h(True),
    )
    await store.record_decision(decision)
    for n, state in enumerate(("pending", "pending", "failed")):
        created = ms + 200 + n
        change = RoleChange(
            id=from_ms(created) | (2 + n),
            guild_id=gid,
            member_id=regular[n],
            role_id=role,
            op="grant" if n != 1 else "revoke",
            reason=h(),
            requested_by=actor,
            source="TUI",
            decision_id=decision.id,
            state=state,
            created_at=created,
            updated_at=created + 50,
            next_attempt_at=now_ms + 60_000 if state == "pending" else None,
            deadline_at=created + 600_000,
            attempts=2,
            observed_at=None,
            error=h() if state == "failed" else None,
            linked_entry_id=None,
            message_id=h(True),
            cancelled_by=None,
        )
        await store.record_role_change(change)
        for a in range(2):
            await store.record_attempt(Attempt(0, change.id, created + a, 204, 80, h(), h()))
    gap = await store.open_gap(gid, h(True), from_id=from_ms(now_ms - 86_400_000), started_at=now_ms - 86_400_000)
    await store.close_gap(gap, status=h(True), recovered=3, error=h())
    await store.open_gap(gid, h(True), from_id=from_ms(now_ms - 7_200_000), started_at=now_ms - 7_200_000)
    from console.alerts import records
    from console.alerts.engine import Alert

    for n in range(3):
        # Rule and severity are the engine's own words; the summary carries names from Discord.
        await records.save(
            store,
            Alert(
                created_at=now_ms - 1000 + n,
                rule=("ban_wave", "bot_added", "x")[n],
                guild_id=gid,
                severity=("warning", "error", "warning")[n],
                summary=h(),
                record_ids=(int(made[0]["id"]),),
                posted=h(),
            ),
        )
    await store.close()
    return Seeded(gid, member, channel, put, formulas, [int(e["id"]) for e in long_], [int(e["id"]) for e in plain])
