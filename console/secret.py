"""The bot token, wrapped so it cannot leak through a repr, a log line or a crash screen.

Textual's crash screen renders tracebacks with ``show_locals=True``: a token held in a plain
``str`` local is printed in full. ``Secret`` shows ``**REDACTED**`` everywhere; the only way to
the value is :meth:`reveal`, called at the one place hikari needs it.
"""

from __future__ import annotations

import base64
import logging
import os
import re
import stat
from pathlib import Path
from typing import NoReturn

from console.errors import ConfigError


class Secret:
    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value.strip()

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**REDACTED**')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __reduce__(self) -> NoReturn:  # never pickled (multiprocessing, caches)
        raise TypeError("a Secret cannot be pickled")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", len(self._value)))


def read_secret_file(path: Path, what: str) -> Secret:
    """A file holding a secret (the bot token, a database password) must be a regular file owned
    by us and unreadable by others, as ssh keys are. ``what`` names it in the one-line error."""
    try:
        st = path.stat()
    except OSError as e:
        raise ConfigError(f"cannot read {what} {path}: {e.strerror or e}") from None
    if not stat.S_ISREG(st.st_mode):
        raise ConfigError(f"{what} {path} is not a regular file")
    if st.st_mode & 0o077:
        raise ConfigError(
            f"{what} {path} is readable by others (mode {stat.S_IMODE(st.st_mode):o}); run: chmod 600 {path}"
        )
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        raise ConfigError(f"{what} {path} belongs to another user")
    try:
        return Secret(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read {what} {path}: {e}") from None


_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{20,}$")


def bot_id_from_token(token: Secret) -> int | None:
    """The bot's user id encoded in the token's first part, or None if it is not there."""
    first = token.reveal().split(".", 1)[0]
    try:
        decoded = base64.urlsafe_b64decode(first + "=" * (-len(first) % 4)).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return None
    return int(decoded) if decoded.isdigit() else None


def check_token_shape(token: Secret) -> str | None:
    """A one-line problem with the token's shape, or None when it looks like a bot token."""
    value = token.reveal()
    if not value:
        return "the token is empty"
    if value.lower().startswith("bot "):
        return "the token starts with 'Bot ': give the token alone"
    if any(ch.isspace() for ch in value):
        return "the token contains white space"
    if bot_id_from_token(token) is None or value.count(".") != 2:
        return "the token does not look like a Discord bot token (id.timestamp.hmac)"
    return None


class RedactingFilter(logging.Filter):
    """Replaces every registered secret in log records. (A token's first part alone, the bot's
    public user id in base64, is not a secret and is left as it is.)"""

    def __init__(self) -> None:
        super().__init__()
        self._needles: list[str] = []

    def add(self, secret: Secret) -> None:
        value = secret.reveal()
        if value and value not in self._needles:
            self._needles.append(value)

    def redact(self, text: str) -> str:
        for needle in self._needles:
            text = text.replace(needle, "**REDACTED TOKEN**")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self._needles:
            message = record.getMessage()
            cleaned = self.redact(message)
            if cleaned != message or record.args:
                record.msg, record.args = cleaned, None
            if record.exc_info and record.exc_info[1] is not None:
                record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
                record.exc_info = None
        return True


#: One filter for the process: every handler we install carries it.
REDACTOR = RedactingFilter()
