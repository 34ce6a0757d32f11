"""Alerts in the TUI: new rows in the ``alerts`` table become toasts (and the bell, when the
config turns it on). The table is watched rather than the runner called, so ``open`` beside a
``collect`` shows that collector's alerts too."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Literal

from textual.screen import ModalScreen

from console.alerts import records
from console.alerts.engine import Alert
from console.model.sanitize import safe_text
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


class AlertWatch:
    def __init__(self, app: ConsoleApp) -> None:
        self.app = app
        self.last_id: int | None = None
        #: Alerts raised while a dialog or list was open over the feed: toasted once it closes
        #: (toasts drawn over a dialog hid its fields and buttons).
        self.held: list[Alert] = []

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
        self.held += new
        if self.held and not isinstance(self.app.screen, ModalScreen):
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

    def toast(self, alert: Alert) -> None:
        severity: Literal["error", "warning"] = "error" if alert.severity == "error" else "warning"
        self.app.notify(
            safe_text(alert.summary, 300),
            title=RULE_TITLES.get(alert.rule, alert.rule),
            severity=severity,
            timeout=15 if severity == "error" else 8,
            markup=False,
        )
