"""Logging: to a file (never to the terminal the TUI draws on), with the token redacted.

With no handler attached Python prints library warnings to stderr, which garbles a TUI, so a
handler is always installed; headless commands also get warnings on stderr.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path

from console.secret import REDACTOR

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _FileHandler(logging.FileHandler):
    """A log file that may stop taking writes (a full disk): logging's default is a traceback on
    stderr for every record, which buries the one line that matters. Say it once instead; the
    records still reach stderr (headless) and the file again once it can be written."""

    _failing = False
    _failed_now = False

    def emit(self, record: logging.LogRecord) -> None:
        self._failed_now = False
        super().emit(record)
        if not self._failed_now:
            self._failing = False  # written again: the next failure is news

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        self._failed_now = True
        if not self._failing:
            self._failing = True
            err = sys.exc_info()[1]
            with contextlib.suppress(Exception):
                sys.stderr.write(
                    f"audit-console: cannot write the log file {self.baseFilename}: "
                    f"{getattr(err, 'strerror', None) or err}\n"
                )


class _OneLine(logging.Formatter):
    """stderr is for people: the message on one line, never a traceback (those go to the log
    file). ``format`` is replaced whole because logging caches the traceback on the record."""

    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()
        return " ".join(self.formatMessage(record).split())


def setup(path: Path | None, *, stderr: bool = False, level: int = logging.INFO) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)
    handlers: list[logging.Handler] = []
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.close(fd)
            handlers.append(_FileHandler(path, encoding="utf-8"))
        except OSError:
            pass  # an unwritable log folder must not stop the console
    if stderr:
        err = logging.StreamHandler(sys.stderr)
        err.setLevel(logging.WARNING)
        err.setFormatter(_OneLine("audit-console: %(levelname)s %(name)s: %(message)s"))
        # Library chatter (hikari's retry notices) goes to the file only: stderr is for people.
        err.addFilter(lambda record: record.name.startswith("console"))
        handlers.append(err)
    if not handlers:
        handlers.append(logging.NullHandler())
    for handler in handlers:
        handler.addFilter(REDACTOR)
        if not isinstance(handler, logging.StreamHandler) or handler.formatter is None:
            handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)
    logging.captureWarnings(True)
    # hikari and aiohttp are chatty below WARNING; their debug lines are not our evidence.
    for name in ("hikari", "aiohttp", "asyncio"):
        logging.getLogger(name).setLevel(logging.WARNING)
