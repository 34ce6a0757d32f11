"""The alert rules, pure: fed audit entries and decisions (with the few facts only the store
knows, looked up by the runner), they return the alerts to raise. Sliding windows live in memory
and are bounded; nothing here does I/O or knows Textual."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from console.alerts.settings import AlertSettings
from console.model import entry as entries
from console.model.alert import Alert
from console.model.naming import person
from console.model.records import Decision
from console.model.sanitize import safe_text

MINUTE_MS = 60_000

KICK, BAN, BOT_ADD = 20, 22, 28
CHANNEL_CREATE, CHANNEL_UPDATE = 10, 11
OVERWRITE_CREATE, OVERWRITE_UPDATE = 13, 14
ROLE_CREATE, ROLE_UPDATE = 30, 31
#: The action types any rule looks at (the runner reads only these from the store).
ENTRY_TYPES: frozenset[int] = frozenset(
    {KICK, BAN, BOT_ADD, CHANNEL_CREATE, CHANNEL_UPDATE, OVERWRITE_CREATE, OVERWRITE_UPDATE, ROLE_CREATE, ROLE_UPDATE}
)

#: Records an alert keeps (a wave of 500 bans names the newest 50; the list shows how many).
MAX_RECORDS = 50
#: Windows kept at once; the least recently used goes first (a guild of 100k members cannot grow
#: the engine without bound, one window per person who was ever denied).
MAX_WINDOWS = 10_000


@dataclass(slots=True)
class _Window:
    times: deque[tuple[int, int]] = field(default_factory=deque)  # (event ms, record id)
    alerted: bool = False  # this wave already raised its alert
    last_ms: int = 0  # the newest event counted


class AlertEngine:
    """Feed it records in roughly the order they happen; it returns the alerts to raise."""

    def __init__(self, settings: AlertSettings, *, name_of: Callable[[str, int], str | None] | None = None) -> None:
        self.settings = settings
        self._name_of = name_of or (lambda _kind, _id: None)
        self._windows: dict[tuple[str, int, int], _Window] = {}
        self._seen: set[tuple[str, int]] = set()  # single-record rules: never twice for one record

    # -- names -----------------------------------------------------------------------------------

    def _who(self, user_id: int | None) -> str:
        if user_id is None:
            return "someone"
        name = person(self._name_of, user_id, max_len=40)
        return f"{name} ({user_id})" if name else str(user_id)

    def _role(self, role_id: str | int | None) -> str:
        if role_id is None:
            return "a role"
        try:
            name = self._name_of("role", int(role_id))
        except (TypeError, ValueError):
            name = None
        return f"role {safe_text(name, 40)} ({role_id})" if name else f"role {safe_text(str(role_id), 24)}"

    # -- windows ---------------------------------------------------------------------------------

    def _count(self, rule: str, guild_id: int, key: int, at_ms: int, record_id: int) -> _Window | None:
        """Count one event; the window when this event makes the wave cross the threshold."""
        r = self.settings.rule(rule)
        wkey = (rule, guild_id, key)
        w = self._windows.pop(wkey, None) or _Window()
        self._windows[wkey] = w  # re-inserted: most recently used last
        if len(self._windows) > MAX_WINDOWS:
            del self._windows[next(iter(self._windows))]
        cooldown = self.settings.cooldown_minutes * MINUTE_MS
        if w.alerted and at_ms - w.last_ms > cooldown:
            w.alerted = False  # quiet for a cool-down: the next wave is a new one
            w.times.clear()
        w.last_ms = max(w.last_ms, at_ms)
        w.times.append((at_ms, record_id))
        horizon = w.last_ms - r.minutes * MINUTE_MS
        while w.times and w.times[0][0] < horizon:
            w.times.popleft()
        while len(w.times) > max(r.count, MAX_RECORDS):
            w.times.popleft()
        if w.alerted or len(w.times) < r.count:
            return None
        w.alerted = True
        return w

    def _once(self, rule: str, record_id: int) -> bool:
        key = (rule, record_id)
        if key in self._seen:
            return False
        if len(self._seen) > MAX_WINDOWS:
            self._seen.clear()  # a replayed record after 10,000 alerts may alert again: acceptable
        self._seen.add(key)
        return True

    @staticmethod
    def _ids(w: _Window) -> tuple[int, ...]:
        return tuple(i for _, i in list(w.times)[-MAX_RECORDS:])

    # -- audit entries ---------------------------------------------------------------------------

    def entry(self, e: entries.AuditEntry, *, now_ms: int) -> list[Alert]:
        """The alerts one newly stored audit entry raises."""
        if e.guild_id is None or e.action_type not in ENTRY_TYPES:
            return []
        if now_ms - e.created_ms > self.settings.max_age_minutes * MINUTE_MS:
            return []  # old history arriving in a backfill is not happening now
        out: list[Alert] = []
        s = self.settings
        g = e.guild_id
        if e.action_type in (KICK, BAN) and s.rule("ban_wave").enabled:
            w = self._count("ban_wave", g, 0, e.created_ms, e.id)
            if w is not None:
                r = s.rule("ban_wave")
                out.append(
                    Alert(
                        now_ms,
                        "ban_wave",
                        g,
                        "error",
                        f"{len(w.times)} bans/kicks within {r.minutes:g} min (latest by {self._who(e.actor_id)})",
                        self._ids(w),
                    )
                )
        if e.action_type == BOT_ADD and s.rule("bot_added").enabled and self._once("bot_added", e.id):
            out.append(
                Alert(
                    now_ms,
                    "bot_added",
                    g,
                    "warning",
                    f"bot {self._who(_int(e.target_id))} added by {self._who(e.actor_id)}",
                    (e.id,),
                )
            )
        if s.rule("dangerous_permission").enabled:
            granted = self._dangerous(e)
            if granted and self._once("dangerous_permission", e.id):
                severity = "error" if any("ADMINISTRATOR" in flags for _, flags in granted) else "warning"
                where = "; ".join(f"{place}: +{' +'.join(flags)}" for place, flags in granted)
                out.append(
                    Alert(now_ms, "dangerous_permission", g, severity, f"{where} by {self._who(e.actor_id)}", (e.id,))
                )
        return out

    def _dangerous(self, e: entries.AuditEntry) -> list[tuple[str, list[str]]]:
        """(where, dangerous flags newly allowed there) for role permissions and overwrites."""
        found: list[tuple[str, list[str]]] = []
        dangerous = self.settings.dangerous
        if e.action_type in (ROLE_CREATE, ROLE_UPDATE):
            diff = entries.permission_diff(e)
            flags = [f for f in diff.added if f in dangerous] if diff else []
            if flags:
                found.append((self._role(e.target_id), flags))
        diffs: list[entries.OverwriteDiff] = []
        if e.action_type in (OVERWRITE_CREATE, OVERWRITE_UPDATE):
            d = entries.overwrite_diff(e)
            diffs = [d] if d is not None else []
        elif e.action_type in (CHANNEL_CREATE, CHANNEL_UPDATE):
            diffs = entries.channel_overwrite_diffs(e)
        for d in diffs:
            flags = [f for f in d.allow.added if f in dangerous]
            if flags:
                who = self._role(d.id) if d.type == "role" else f"member {self._who(_int(d.id))}"
                found.append((f"overwrite for {who} in channel {safe_text(str(e.target_id), 24)}", flags))
        return found

    # -- decisions -------------------------------------------------------------------------------

    def decision(
        self, d: Decision, *, now_ms: int, used_before: bool = True, history_since_ms: int | None = None
    ) -> list[Alert]:
        """The alerts one recorded decision raises.

        ``used_before``: whether ``d.actor_id`` had an ALLOW for ``d.capability`` before this one;
        ``history_since_ms``: when the guild's stored decisions begin (the learning period).
        """
        out: list[Alert] = []
        s = self.settings
        g, who = d.guild_id, self._who(d.actor_id)
        if d.reason_code == "BREAK_GLASS" and s.rule("break_glass").enabled:
            # Every use during a session is in the feed; the alert is the first of a series.
            w = self._count("break_glass_use", g, d.actor_id, d.created_at, d.id)
            if w is not None:
                out.append(
                    Alert(
                        now_ms,
                        "break_glass",
                        g,
                        "error",
                        f"break-glass used by {who}: {safe_text(d.capability, 40)} allowed",
                        (d.id,),
                    )
                )
        if d.result == "DENY" and s.rule("deny_burst").enabled:
            w = self._count("deny_burst", g, d.actor_id, d.created_at, d.id)
            if w is not None:
                r = s.rule("deny_burst")
                out.append(
                    Alert(
                        now_ms,
                        "deny_burst",
                        g,
                        "warning",
                        f"{len(w.times)} denials within {r.minutes:g} min for {who}",
                        self._ids(w),
                    )
                )
        if d.result == "ALLOW" and d.reason_code == "OVERRIDE_ALLOW" and s.rule("override_repeat").enabled:
            w = self._count("override_repeat", g, d.actor_id, d.created_at, d.id)
            if w is not None:
                r = s.rule("override_repeat")
                out.append(
                    Alert(
                        now_ms,
                        "override_repeat",
                        g,
                        "warning",
                        f"override used {len(w.times)} times within {r.minutes:g} min by {who}",
                        self._ids(w),
                    )
                )
        if (
            d.result == "ALLOW"
            and not used_before
            and d.reason_code != "DEFAULT_PUBLIC"
            and s.rule("first_use").enabled
            and history_since_ms is not None
            and d.created_at - history_since_ms >= s.learning_days * 86_400_000
        ):
            out.append(
                Alert(
                    now_ms,
                    "first_use",
                    g,
                    "warning",
                    f"{who} used {safe_text(d.capability, 40)} for the first time",
                    (d.id,),
                )
            )
        return out

    def break_glass_started(
        self, guild_id: int, user_id: int, *, session_id: int, decision_id: int | None, expires_ms: int, now_ms: int
    ) -> list[Alert]:
        """A break-glass session was turned on (a row in ``break_glass``)."""
        if not self.settings.rule("break_glass").enabled or not self._once("break_glass", session_id):
            return []
        minutes = max(0, round((expires_ms - now_ms) / MINUTE_MS))
        return [
            Alert(
                now_ms,
                "break_glass",
                guild_id,
                "error",
                f"break-glass turned on by {self._who(user_id)} for {minutes} min",
                (decision_id,) if decision_id is not None else (),
            )
        ]


def _int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
