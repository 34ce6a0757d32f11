"""The console app. It watches the store; it never talks to Discord itself — a session object
(demo, live or offline) connects in a worker after the first frame."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import Footer, Static

from console.ingest.collector import CollectorState
from console.model.sanitize import safe_text
from console.store import IngestResult, Store
from console.ui.feed import FeedView

Connect = Callable[["ConsoleApp"], Awaitable[None]]


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text; padding: 0 1; }
    """


class ConsoleApp(App[int]):
    TITLE = "Audit Console"
    BINDINGS = [("q", "quit", "Quit")]
    CSS = """
    FeedView { border: round $primary; border-title-align: left; }
    """

    def __init__(self, store: Store, *, label: str, connect: Connect | None = None) -> None:
        super().__init__()
        self.store = store
        self.label = label
        self._connect = connect
        self._state = CollectorState()
        self._dirty = False
        self._unsubscribe: Callable[[], Any] | None = None

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        feed = FeedView(self.store, id="feed")
        feed.border_title = "Feed"
        yield feed
        yield Footer()

    async def on_mount(self) -> None:
        self._unsubscribe = self.store.add_listener(self._committed)
        await self.query_one(FeedView).reload()
        self.query_one(FeedView).focus()
        self._render_status()
        if self._connect is not None:
            # After the first frame: hikari's import alone costs about a second.
            self.call_after_refresh(self._start_connect)

    def _start_connect(self) -> None:
        assert self._connect is not None
        self.run_worker(self._connect(self), name="connect", group="gateway", exit_on_error=False)

    def on_unmount(self) -> None:
        if self._unsubscribe:
            self._unsubscribe()

    def collector_state(self, state: CollectorState) -> None:
        """Called by the session whenever the collector's state changes."""
        self._state = state
        self._render_status()

    def notice(self, message: str, *, severity: str = "information") -> None:
        self.notify(safe_text(message, 300), severity=severity, markup=False)  # type: ignore[arg-type]

    def _committed(self, result: IngestResult) -> None:
        # Coalesce: a burst of commits becomes one reload and one repaint.
        if not self._dirty:
            self._dirty = True
            self.set_timer(0.1, self._reload)

    async def _reload(self) -> None:
        self._dirty = False
        await self.query_one(FeedView).reload()
        self._render_status()

    def _render_status(self) -> None:
        s = self._state
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(safe_text(self.label, 60), "bold")
        text.append(f" · gateway {s.gateway}")
        if s.backfilling:
            text.append(" · backfilling")
        text.append(f" · {s.entries_per_s:.1f}/s")
        if s.degraded:
            text.append(" · DEGRADED: " + safe_text(s.degraded, 80), "bold red")
        elif s.last_error:
            text.append(" · " + safe_text(s.last_error, 80), "yellow")
        self.query_one(StatusBar).update(text)
