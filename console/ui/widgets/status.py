"""The header line: guild · gateway state (and backfill progress) · entries/s · open gaps ·
operator."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widget import Widget

from console.ingest.state import CollectorState, backfill_progress
from console.model.sanitize import safe_text


class StatusBar(Widget):
    """One line; repainted only when its text changes, and never re-laid out (a Static's update
    reflows the whole screen, which costs a frame at every committed batch)."""

    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $foreground; padding: 0 1; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._text = Text("")

    def render(self) -> Text:
        return self._text

    def update(self, text: Text) -> None:
        if text != self._text:
            self._text = text
            self.refresh()

    def show(
        self,
        *,
        label: str,
        state: CollectorState,
        open_gaps: int,
        operator: str | None,
        styles: dict[str, str],
        store_note: str = "",
        roles_paused: bool = False,
        problems: str = "",
        zone: str = "",
    ) -> None:
        """``problems``: what keeps guilds from being collected (a refused audit log, the bot
        removed, an outage), in words; shown after the gateway's state. ``zone``: which zone the
        times are shown in (``times Europe/Paris``), if it is to be said."""
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        text.append(safe_text(label, 60), "bold")
        gateway_style = {
            "connected": styles.get("decision-allow", "green"),
            "disconnected": styles.get("decision-deny", "red"),
        }.get(state.gateway, "")
        text.append(" · gateway ")
        if state.gateway_closed:  # closed for good: what to do, instead of a rate that stays 0
            text.append(f"closed {safe_text(state.gateway_closed, 80)}", styles.get("danger", "bold red"))
        else:
            text.append(state.gateway, gateway_style)
        if progress := backfill_progress(state):
            text.append(f" ({progress})", styles.get("gap", "yellow"))
        if problems:
            text.append(" · " + safe_text(problems, 100), styles.get("danger", "bold red"))
        if not state.gateway_closed:
            text.append(f" · {state.entries_per_s:.1f}/s")
        text.append(" · gaps ")
        text.append(str(open_gaps), styles.get("gap", "yellow") if open_gaps else "")
        text.append(" · operator " + (safe_text(operator, 40) if operator else "none"))
        if zone:
            text.append(" · " + zone)
        if store_note:
            text.append(" · " + safe_text(store_note, 90), styles.get("muted", "dim"))
        if roles_paused:
            text.append(" · ROLE CHANGES PAUSED", styles.get("danger", "bold red"))
        if state.degraded:
            text.append(" · DEGRADED: " + safe_text(state.degraded, 80), styles.get("danger", "bold red"))
        elif state.last_error and not state.gateway_closed:
            text.append(" · " + safe_text(state.last_error, 80), styles.get("gap", "yellow"))
        self.update(text)
