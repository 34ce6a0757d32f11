"""Full-text tokens exactly as the SQLite store's index makes them (FTS5's ``unicode61`` tokenizer
with ``remove_diacritics 2``), for a backend whose own text search tokenises differently.

PostgreSQL's parser keeps ``foo@bar.com``, URLs, ``1.5`` and ``anti-raid`` as tokens of their own,
folds case by the database's locale and keeps accents; FTS5 splits all of those on punctuation,
folds case and strips Latin diacritics the same way everywhere. So the PostgreSQL store does not
let PostgreSQL tokenise: it stores and queries the tokens made here, and both backends find the
same entries for the same query.

unicode61 decides each character on its own: a separator, or a token character that folds to at
most one character (a combining accent folds to nothing). ASCII is letters and digits, lowercased.
Other characters are asked of SQLite's own tokenizer once (an in-memory FTS5 table; microseconds)
and remembered, so its Unicode 6.1 tables and folding are used, never a re-implementation of them.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from typing import Final

_ASCII_TOKEN: Final = re.compile(r"[0-9A-Za-z]+")
#: A non-ASCII character → what it folds to inside a token ("" if removed), or None: a separator.
_folded: dict[str, str | None] = {}
_probe_lock = threading.Lock()
_probe: sqlite3.Connection | None = None
#: Marks around a probed character: ASCII letters the tokenizer keeps as they are.
_MARK: Final = "qz"


def tokens(text: str) -> list[str]:
    """The tokens FTS5's unicode61 (remove_diacritics 2) makes of ``text``, in order."""
    if text.isascii():
        return [t.lower() for t in _ASCII_TOKEN.findall(text)]
    out: list[str] = []
    current: list[str] = []
    for ch in text:
        if ch < "\x80":
            if ch.isalnum():
                current.append(ch.lower())
                continue
            folded = None
        else:
            folded = _folded.get(ch, "?")
            if folded == "?":  # not yet asked
                folded = _fold(ch)
        if folded is None:
            if current:
                out.append("".join(current))
                current = []
        else:
            current.append(folded)
    if current:
        out.append("".join(current))
    # A token of removed characters only (a lone combining accent) is no token at all.
    return [t for t in out if t]


def _fold(ch: str) -> str | None:
    """Ask SQLite's tokenizer what ``ch`` is (see the module's docstring)."""
    global _probe
    with _probe_lock:
        if ch in _folded:
            return _folded[ch]
        if _probe is None:
            db = sqlite3.connect(":memory:", check_same_thread=False)
            db.execute("CREATE VIRTUAL TABLE t USING fts5 (a, tokenize = 'unicode61 remove_diacritics 2')")
            db.execute("CREATE VIRTUAL TABLE v USING fts5vocab (t, 'instance')")
            _probe = db
        try:
            _probe.execute("DELETE FROM t")
            _probe.execute("INSERT INTO t (rowid, a) VALUES (1, ?)", (_MARK + ch + _MARK,))
            found = [r[0] for r in _probe.execute("SELECT term FROM v ORDER BY offset")]
        except (sqlite3.Error, UnicodeEncodeError):
            found = [_MARK, _MARK]  # a lone surrogate: no text SQLite could hold; a separator
        if len(found) == 1 and found[0].startswith(_MARK) and found[0].endswith(_MARK):
            folded: str | None = found[0][len(_MARK) : -len(_MARK)]
        else:
            folded = None
        _folded[ch] = folded
        return folded
