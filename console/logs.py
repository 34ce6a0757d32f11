"""Logging: to a file (never to the terminal the TUI draws on), with the token redacted.

With no handler attached Python prints library warnings to stderr, which garbles a TUI, so a
handler is always installed; headless commands also get warnings on stderr.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from console.secret import REDACTOR

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


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
            handlers.append(logging.FileHandler(path, encoding="utf-8"))
        except OSError:
            pass  # an unwritable log folder must not stop the console
    if stderr:
        err = logging.StreamHandler(sys.stderr)
        err.setLevel(logging.WARNING)
        err.setFormatter(logging.Formatter("audit-console: %(levelname)s %(name)s: %(message)s"))
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
