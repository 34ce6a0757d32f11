"""safe_text: every way untrusted text could act on a terminal or hide itself becomes visible
and inert; ordinary text of any script passes unchanged."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.model.sanitize import code_points, discord_line, safe_text


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain name", "plain name"),
        ("Zoë — 名前 🛡️", "Zoë — 名前 🛡️"),
        ("[@click=app.quit]x[/]", "[@click=app.quit]x[/]"),  # markup stays text; widgets never parse it
        ("\x1b]52;c;ZXZpbA==\x07", "\\x1b]52;c;ZXZpbA==\\x07"),  # OSC 52 clipboard write
        ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
        ("\x9b31m", "\\x9b31m"),  # C1 CSI
        ("a\x7fb\x00c", "a\\x7fb\\x00c"),
        ("line\nbreak\ttab\rcr", "line break tab cr"),
        ("admin\u202eniamda", "admin<U+202E>niamda"),  # right-to-left override
        ("zero\u200bwidth\ufeff", "zero<U+200B>width<U+FEFF>"),
        ("lone \ud800 surrogate", "lone <U+D800> surrogate"),
        ("private \ue000 use", "private <U+E000> use"),
        (None, ""),
        (12345, "12345"),
    ],
)
def test_table(raw: object, shown: str) -> None:
    assert safe_text(raw) == shown


def test_long_text_is_clamped_with_an_ellipsis_before_the_work() -> None:
    assert safe_text("x" * 100_000, 20) == "x" * 19 + "…"
    assert len(safe_text("\u202e" * 100_000, 30)) == 30
    assert safe_text("abc", 3) == "abc"


@given(st.text(st.characters(codec=None, exclude_categories=()), max_size=200))
def test_nothing_that_acts_on_a_terminal_survives(value: str) -> None:
    out = safe_text(value, 10_000)
    assert not any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in out)
    assert not any(0xD800 <= ord(ch) <= 0xDFFF for ch in out)
    assert not set(out) & set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\u200d\ufeff")


def test_code_points_and_discord_lines() -> None:
    assert code_points("a\u202e") == "U+0061 U+202E"
    assert code_points("abc", limit=2) == "U+0061 U+0062 …"
    assert discord_line("ping @everyone\nnow") == "ping @\u200beveryone now"
    assert discord_line("x" * 10, 5) == "xxxx…"
