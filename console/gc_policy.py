"""When Python's cyclic garbage collector runs in the console's own process.

Two measured costs (docs/performance.md, U4 and S1):

* Starting a screen builds a large graph of objects that all live on (textual, rich, the
  widgets). The collector ran ~135 times meanwhile, one full pass among them: about a tenth of
  the start spent freeing nothing that mattered. It is paused until the first frame is out.
* Once connected, the process holds ~135,000 objects that live as long as it does (hikari's and
  aiohttp's modules and models, textual's, our widgets). Every full pass walks them all, and under
  a flood of entries such passes come every few seconds, each stalling the event loop for longer
  than the live console's lag budget allows. :func:`settle` collects once, then freezes the
  survivors out of the collector's sight (``gc.freeze``): full passes then walk only what was made
  since, a small fraction of the work.

Freezing is done only in our own process (the ``audit-console`` command), never in a program that
imports the package, such as the tests: there it would keep whatever they hold alive for good.
"""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger("console.gc")

_own_process = False
_paused = False  # by pause(), for resume() to undo


def own_process() -> None:
    """Called by the command's entry point: this process is the console's."""
    global _own_process
    _own_process = True


def pause() -> None:
    """Pause the collector while a screen starts (unless it is off already: someone else's
    choice, which :func:`resume` leaves alone)."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume() -> None:
    """Undo :func:`pause`; a no-op when it paused nothing or was undone already."""
    global _paused
    if _paused:
        _paused = False
        gc.enable()


def settle() -> None:
    """Startup is over: collect once, then freeze what survives (own process only)."""
    if not _own_process:
        return
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    log.info(
        "started: %d long-lived objects frozen out of the garbage collector's passes (%.0f ms)",
        gc.get_freeze_count(),
        (time.perf_counter() - started) * 1000,
    )
