"""Alerts in the TUI: new rows in the ``alerts`` table become toasts (and the bell, when the
config turns it on). The table is watched rather than the runner called, so ``open`` beside a
``collect`` shows that collector's alerts too.

Alerts about what happened while the console was away (every record behind them was collected
by a backfill, not seen live) come as one summary toast once the backfill stops raising them: a
first sync can raise several at once, and a toast each covered half the feed for seconds."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Literal

from textual.screen import ModalScreen

from console.alerts import records
from console.alerts.engine import Alert
from console.model.sanitize import safe_text
from console.model.stored import StoredEntry
from console.store.errors import StoreError

if TYPE_CHECKING:
    from console.ui.app import ConsoleApp

RULE_TITLES = {
    "ban_wave": "Wave of bans/kicks",
    "dangerous_permission": "Dangerous permission granted",
    "bot_added": "Bot added",
    "break_glass": "Break-glass",
    "deny_burst": "Burst of denials",
    "first_use": "First use of a capability",
    "override_repeat": "Override used again and again",
}
#: More at once than this becomes one summary toast (a flood of toasts hides the screen).
MAX_TOASTS = 3
#: How many of an alert's records are looked up to tell a backfill's alert from a live one: a
#: wave's records arrive together, so the first few stand for the rest.
RECORDS_CHECKED = 10


def away_summary(alerts: list[Alert]) -> str:
    """``3 alerts while away — press ! to list`` and, under it, which rules raised them."""
    counts: dict[str, int] = {}
    for alert in alerts:
        title = RULE_TITLES.get(alert.rule, alert.rule)
        counts[title] = counts.get(title, 0) + 1
    kinds = ", ".join(t if n == 1 else f"{t} ×{n}" for t, n in counts.items())
    plural = "" if len(alerts) == 1 else "s"
    return f"{len(alerts)} alert{plural} while away — press ! to list\n{kinds}"


class AlertWatch:
    def __init__(self, app: ConsoleApp) -> None:
        self.app = app
        self.last_id: int | None = None
        #: Alerts raised while a dialog or list was open over the feed: toasted once it closes
        #: (toasts drawn over a dialog hid its fields and buttons).
        self.held: list[Alert] = []
        #: Alerts from a backfill not shown yet: summed up in one toast once a check brings no
        #: more of them (a backfill's alerts arrive over several checks).
        self.away: list[Alert] = []

    async def start(self, interval_s: float = 1.0) -> None:
        """Alerts raised before the console started are in the list (``!``), not toasts."""
        with contextlib.suppress(StoreError):
            self.last_id = await records.newest_id(self.app.store)
        self.app.set_interval(interval_s, self.check, name="alerts-watch")

    async def check(self) -> list[Alert]:
        if self.last_id is None or self.app.store.closed:
            return []
        try:
            new = await records.newest(self.app.store, after_id=self.last_id, limit=50)
        except StoreError:
            return []
        if new:
            self.last_id = new[0].id
            new.reverse()  # oldest first
            if getattr(self.app, "alert_bell", False):
                self.app.bell()  # the bell is not held: it is how an alert reaches someone in a dialog
        # Sorted before either list changes: nothing awaits between a list's change and its use.
        from_backfill = [await self.from_backfill(alert) for alert in new]
        away = [a for a, b in zip(new, from_backfill, strict=True) if b]
        self.held += [a for a, b in zip(new, from_backfill, strict=True) if not b]
        self.away += away
        if isinstance(self.app.screen, ModalScreen):
            return new
        if self.away and not away:  # the backfill has stopped raising alerts: one toast for all
            summed, self.away = self.away, []
            self.app.notify(
                away_summary(summed),
                title="Alerts",
                severity="error" if any(a.severity == "error" for a in summed) else "warning",
                markup=False,
            )
        if self.held:
            shown, self.held = self.held, []
            for alert in shown[:MAX_TOASTS]:
                self.toast(alert)
            if len(shown) > MAX_TOASTS:
                self.app.notify(
                    f"{len(shown) - MAX_TOASTS} more alerts: press ! for the list",
                    title="Alerts",
                    severity="warning",
                    markup=False,
                )
        return new

    async def from_backfill(self, alert: Alert) -> bool:
        """Every record behind the alert is an entry a backfill collected: it tells of something
        that happened while the console was away. The records are asked rather than the moment
        (during the first sync): an entry seen live during a backfill is still news, and ``open``
        beside a ``collect`` cannot know when that collector synced."""
        if not alert.record_ids:
            return False
        try:
            for record_id in alert.record_ids[:RECORDS_CHECKED]:
                entry = await self.app.store.get_entry(record_id)
                if not isinstance(entry, StoredEntry) or entry.source != "backfill":
                    return False  # seen live, or a decision (always live): toasted as it comes
        except StoreError:
            return False
        return True

    def toast(self, alert: Alert) -> None:
        severity: Literal["error", "warning"] = "error" if alert.severity == "error" else "warning"
        self.app.notify(
            safe_text(alert.summary, 300),
            title=RULE_TITLES.get(alert.rule, alert.rule),
            severity=severity,
            timeout=15 if severity == "error" else 8,
            markup=False,
        )
