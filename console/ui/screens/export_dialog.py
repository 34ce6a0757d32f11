"""Export (``e``): format, path and what — the current filter, the bookmarked rows or the row under
the cursor. The export runs in a thread worker (store/export.py streams with its own read-only
connection), shows rows done against the expected total, and Esc or Cancel stops it and removes
the partial file."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, ProgressBar, RadioButton, RadioSet, Static

from console.model.filters import Filter
from console.store.export import FORMATS, Source, default_name, export_to_file

FORMAT_LABELS = {"csv": "CSV", "json": "JSON", "jsonl": "JSON Lines"}
WHAT = ("filter", "bookmarks", "current")
MIME_TYPES = {"csv": "text/csv", "json": "application/json", "jsonl": "application/jsonl"}


@dataclass(frozen=True, slots=True)
class ExportJob:
    """What the dialog needs from the app: the store, the filter and the rows to offer."""

    source: Source  # a SQLite file's path or a PostgreSQL store's source
    filter: Filter
    folder: Path
    now_ms: int
    bookmarks: tuple[int, ...] = ()
    current: int | None = None
    fmt: str = "csv"


class ExportDialog(ModalScreen[int | None]):
    """Dismisses with the number of records written, or None (cancelled, failed or closed)."""

    DEFAULT_CSS = """
    ExportDialog { align: center middle; }
    ExportDialog > Vertical { width: 80; height: auto; border: round $primary; background: $surface; padding: 0 1; }
    ExportDialog Input { border: none; height: 1; padding: 0 1; background: $boost; }
    ExportDialog Input:focus { border: none; background: $primary 30%; }
    ExportDialog Label { color: $text-muted; margin-top: 1; }
    ExportDialog RadioSet { border: none; height: auto; layout: horizontal; }
    ExportDialog ProgressBar { margin-top: 1; }
    ExportDialog #status { height: auto; margin-top: 1; }
    ExportDialog Horizontal { height: auto; margin-top: 1; align-horizontal: right; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, job: ExportJob) -> None:
        super().__init__()
        self.job = job
        self.fmt = job.fmt if job.fmt in FORMATS else "csv"
        self.what = "filter"
        self.running = False
        self.stop = threading.Event()
        self._path_edited = False
        self._dismissed = False  # (not ``_closing``: Textual's own message pump uses that name)

    def compose(self) -> ComposeResult:
        marks = len(self.job.bookmarks)
        with Vertical():
            yield Static(Text("Export", style="bold"))
            yield Label("Format")
            with RadioSet(id="format"):
                for fmt in FORMATS:
                    yield RadioButton(FORMAT_LABELS[fmt], value=fmt == self.fmt, id=f"fmt-{fmt}")
            yield Label("What")
            with RadioSet(id="what"):
                yield RadioButton("the current filter", value=True, id="what-filter")
                yield RadioButton(f"bookmarked rows ({marks})", id="what-bookmarks", disabled=not marks)
                yield RadioButton("the row under the cursor", id="what-current", disabled=self.job.current is None)
            yield Label("File")
            yield Input(str(self._default_path()), id="path")
            yield ProgressBar(total=None, show_eta=False, id="progress")
            yield Static("", id="status")
            with Horizontal():
                yield Button("Export", variant="primary", id="start")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#progress", ProgressBar).display = False
        self.query_one("#start", Button).focus()

    def _default_path(self) -> Path:
        return self.job.folder / default_name(self.fmt, self.job.now_ms)

    @on(RadioSet.Changed, "#format")
    def _format_changed(self, event: RadioSet.Changed) -> None:
        self.fmt = (event.pressed.id or "fmt-csv").removeprefix("fmt-")
        if not self._path_edited:
            path = self.query_one("#path", Input)
            path.value = str(self._default_path())
            self._path_edited = False

    @on(RadioSet.Changed, "#what")
    def _what_changed(self, event: RadioSet.Changed) -> None:
        self.what = (event.pressed.id or "what-filter").removeprefix("what-")

    @on(Input.Changed, "#path")
    def _path_changed(self, event: Input.Changed) -> None:
        self._path_edited = event.value != str(self._default_path())

    @on(Input.Submitted, "#path")
    @on(Button.Pressed, "#start")
    def _start(self) -> None:
        if self.running:
            return
        raw = self.query_one("#path", Input).value.strip()
        if not raw:
            self._status("Give a file to write.", error=True)
            return
        path = Path(raw).expanduser()
        if not path.parent.is_dir():
            self._status(f"No such folder: {path.parent}", error=True)
            return
        ids: tuple[int, ...] | None = None
        if self.what == "bookmarks":
            ids = self.job.bookmarks
        elif self.what == "current" and self.job.current is not None:
            ids = (self.job.current,)
        self.running = True
        self.query_one("#start", Button).disabled = True
        self.query_one("#progress", ProgressBar).display = True
        self._status(f"Exporting to {path} …")
        self._run(path, ids)

    @work(thread=True, exclusive=True, group="export", exit_on_error=False)
    def _run(self, path: Path, ids: tuple[int, ...] | None) -> None:
        bar = self.query_one("#progress", ProgressBar)

        def show(done: int, total: int | None) -> None:
            bar.update(progress=done, total=total)
            of = f" of {total:,}" if total is not None else ""
            self._status(f"Exporting to {path} … {done:,}{of} records")

        def progress(done: int, total: int | None) -> None:
            self.app.call_from_thread(show, done, total)

        try:
            result = export_to_file(
                self.job.source, self.job.filter, self.fmt, path, ids=ids, progress=progress, cancel=self.stop
            )
        except Exception as e:  # OSError, StoreError: shown, never a crash
            self.app.call_from_thread(self._failed, f"Export failed: {e}")
            return
        if result.cancelled:
            self.app.call_from_thread(self._finish, None, "Export cancelled; the partial file was removed.")
        else:
            self.app.call_from_thread(self._finish, result.rows, f"Exported {result.rows} records to {path}")
            if self.app.is_web:
                # In a browser the file is on the server: the tab downloads it through the
                # server's download route (behind its login).
                self.app.call_from_thread(self.app.deliver_binary, path, mime_type=MIME_TYPES[self.fmt])

    def _status(self, text: str, *, error: bool = False) -> None:
        self.query_one("#status", Static).update(Text(text, style="bold red" if error else ""))

    def _failed(self, message: str) -> None:
        self.running = False
        self.query_one("#start", Button).disabled = False
        self._status(message, error=True)
        self.app.notify(message, markup=False, severity="error")

    def _finish(self, rows: int | None, message: str) -> None:
        self.running = False
        self.app.notify(message, markup=False, severity="information" if rows is not None else "warning")
        self._dismiss_once(rows)

    def _dismiss_once(self, rows: int | None) -> None:
        # Once only: a second Esc while the screen is being popped (an export just cancelled
        # or finished) would dismiss it again, and Textual raises.
        if not self._dismissed:
            self._dismissed = True
            self.dismiss(rows)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        if self.running:
            self.stop.set()  # the worker removes the partial file, then closes the dialog
            self._status("Cancelling …")
        else:
            self._dismiss_once(None)
