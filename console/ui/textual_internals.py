"""Every place the console reaches into Textual's private members, in one module, so that a
Textual upgrade is one audit (tests/ui/test_textual_internals.py checks each against the pinned
version). What Textual 8.2.8 does, and why we depart from it:

``App._fatal_error()`` (overridden in :class:`QuietCrashApp`)
    Textual's handler of an unhandled exception: it rings the bell, renders a Rich traceback with
    every frame's locals (``show_locals=True``) into ``App._exit_renderables`` (printed to the
    terminal once the app has stopped) and closes the app's message queue without waiting
    (``App._close_messages_no_wait()``). The locals would print the bot token and whatever a
    moderator typed; we log the traceback (redacted) and leave one line instead. We read
    ``App._exception`` (the exception that stopped the app) and use the same two members.

``App._refresh_truecolor_filter(theme)`` (called by :func:`refresh_ansi_palette`)
    Replaces the ``ANSIToTruecolor`` line filter with one mapping ANSI colours through the given
    terminal theme. Textual calls it from its own ``theme`` watcher; the console sets its start
    theme without that watcher (which would parse the stylesheet once more before the first
    frame), so it calls this itself.

``Screen._on_screen_resume(event)`` (overridden in :class:`FirstResumeScreen`)
    Textual calls each class's handler along the MRO, the subclass's first. Screen's restyles
    every widget on the screen when ``event.refresh_styles`` is set (it is, by default). When the
    console's screen first shows, every widget has just been styled as it mounted; restyling them
    all again is startup time for nothing, so the first resume clears the flag.

``Footer._bindings_ready`` (set by :func:`mark_footer_bindings_ready`)
    A reactive: ``Footer.compose`` shows no keys until it is set, which Footer does in its own
    bindings-changed handler. The console's footer (``KeysFooter``) replaces that handler and is
    mounted after the bindings were first signalled, so it sets the flag itself.

Public members whose behaviour the console also relies on (no private name, but read the
changelog for them): ``App.get_css_variables`` being called by ``App.__init__`` (the console
returns nothing until its themes are registered), ``App.set_reactive(App.theme, …)`` and
``stylesheet.set_variables`` (the start theme without a re-parse), ``update_classes(…,
update=False)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.segment import Segment, Segments
from textual.app import App
from textual.events import ScreenResume
from textual.screen import Screen

if TYPE_CHECKING:
    from textual.widgets import Footer


class QuietCrashApp(App[int]):
    """An app whose unhandled exception leaves one line on the terminal, never a traceback."""

    def crash_line(self, error: BaseException | None) -> str:
        """The line the terminal gets for ``error`` (subclasses log the details first)."""
        return f"internal error: {type(error).__name__ if error is not None else 'unknown error'}"

    def _fatal_error(self) -> None:
        line = self.crash_line(self._exception)
        self.bell()
        # Raw segments: printed as they are, never re-wrapped to the terminal's width.
        self._exit_renderables.append(Segments([Segment(line), Segment.line()]))
        self._close_messages_no_wait()


def refresh_ansi_palette(app: App[Any]) -> None:
    """ANSI colours drawn as the current theme's terminal palette."""
    app._refresh_truecolor_filter(app.ansi_theme)


class FirstResumeScreen(Screen[Any]):
    """A screen whose first showing does not restyle the widgets that were just styled."""

    _shown = False

    def _on_screen_resume(self, event: ScreenResume) -> None:
        # Before Screen's own handler (the MRO's order). Later resumes (a dialog closed, the theme
        # changed meanwhile) restyle as usual. (The snapshots hold the first frame unchanged.)
        if not self._shown:
            self._shown = True
            event.refresh_styles = False


def mark_footer_bindings_ready(footer: Footer) -> None:
    """Let ``Footer.compose`` show the keys (it shows none until its bindings were signalled)."""
    footer._bindings_ready = True
