"""The one sanitiser for untrusted text (names, reasons, topics) before it reaches a terminal.

No Rich or Textual path strips terminal escapes, and Textual markup in a string can run app
actions, so everything untrusted passes through :func:`safe_text` and is then rendered as plain
text. Invisible characters are made *visible* rather than deleted: a name holding U+202E is
itself evidence. The raw string stays in the store and in exports.
"""

from __future__ import annotations

import unicodedata
from typing import Final

_BIDI: Final = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
_ZERO_WIDTH: Final = frozenset("\u200b\u200c\u200d\u2060\ufeff\u180e\u00ad")
#: Longest untrusted string we render (Discord caps reasons at 512; names are far shorter).
DEFAULT_MAX = 512


def _escape_char(ch: str) -> str | None:
    cp = ord(ch)
    if ch in "\n\t\r":
        return " "
    if cp < 0x20 or cp == 0x7F or 0x80 <= cp <= 0x9F:
        return f"\\x{cp:02x}"
    if ch in _BIDI or ch in _ZERO_WIDTH:
        return f"<U+{cp:04X}>"
    if cp < 0x300 or (0x3000 <= cp < 0xD800):
        return None  # fast path: common printable ranges
    cat = unicodedata.category(ch)
    if cat in ("Cf", "Cs", "Co", "Cn"):
        return f"<U+{cp:04X}>"
    return None


def safe_text(value: object, max_len: int = DEFAULT_MAX) -> str:
    """Untrusted text made single-line and inert for a terminal, clamped to ``max_len``.

    C0/C1 controls and DEL become ``\\xNN``; bidi, zero-width, format, surrogate, private-use and
    unassigned code points become ``<U+XXXX>``; newlines and tabs become spaces.
    """
    if value is None:
        return ""
    s = value if isinstance(value, str) else str(value)
    # Clamp before the per-character work so a 100 000-character string costs what 512 do.
    clipped = len(s) > max_len
    if clipped:
        s = s[: max_len + 1]
    if s.isascii() and s.isprintable():
        out = s
    else:
        parts: list[str] = []
        for ch in s:
            rep = _escape_char(ch)
            parts.append(ch if rep is None else rep)
        out = "".join(parts)
    if clipped or len(out) > max_len:
        out = out[: max_len - 1] + "…"
    return out


def code_points(value: str, limit: int = 64) -> str:
    """``U+0041 U+202E …``: the code points of a (short) string for a detail view."""
    shown = " ".join(f"U+{ord(ch):04X}" for ch in value[:limit])
    return shown + (" …" if len(value) > limit else "")


def discord_line(text: str, limit: int | None = None) -> str:
    """Text going into a message the console posts on Discord: one line, and an ``@`` that can
    never form a mention (mentions are also disabled when posting), bounded with an ellipsis."""
    flat = " ".join(text.split()).replace("@", "@\u200b")
    return flat if limit is None or len(flat) <= limit else flat[: limit - 1] + "…"
