"""How soon another thread gets Python's interpreter lock while a screen starts.

Textual writes every frame from a thread of its own ("textual-output"), and aiosqlite hands each
query's result back from its thread. A thread that wants the lock waits until the one holding it
blocks, or until the switch interval has passed (5 ms by default). While the console starts, the
event loop is still busy when the first frame is queued (the sidebar's controls, the counts), so
that frame waited out most of a whole interval before it reached the terminal; with a tenth of the
default it goes out almost at once (docs/performance.md, S1). Once started, the default comes
back: a shorter interval costs
switches for as long as the console runs, and frames are then rarely this large.
"""

from __future__ import annotations

import sys

STARTING = 0.0005  # seconds

_saved: float | None = None  # by shorten(), for restore() to undo


def shorten() -> None:
    """Hand the lock over sooner while a screen starts (unless the interval was changed already:
    someone else's choice, which :func:`restore` leaves alone)."""
    global _saved
    current = sys.getswitchinterval()
    if _saved is None and current > STARTING:
        _saved = current
        sys.setswitchinterval(STARTING)


def restore() -> None:
    """Undo :func:`shorten`; a no-op when it changed nothing or was undone already."""
    global _saved
    if _saved is not None:
        sys.setswitchinterval(_saved)
        _saved = None
