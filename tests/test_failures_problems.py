"""The words the runtime says when a guild stops being collected: each change said once, and a
guild's name (from Discord: untrusted) made inert before it reaches a terminal or a toast."""

from __future__ import annotations

from console.ingest.problems import changes
from console.ingest.state import CollectorState

HOSTILE = "Evil\x1b[2J\u202eHQ"


def test_each_change_is_said_once_with_the_name_made_inert() -> None:
    names = {1: HOSTILE}
    before = CollectorState()
    out = CollectorState(outages=frozenset({1}), removed=frozenset({2}))
    said = changes(before, out, names.get)
    assert said == [
        ("the bot was removed from guild 2: collecting there stopped; what is stored is kept", "warning"),
        (
            "guild Evil\\x1b[2J<U+202E>HQ (1) is unavailable (a Discord outage): a gap is open until it returns,"
            " then backfilled",
            "warning",
        ),
    ]
    assert changes(out, out, names.get) == []  # nothing new: nothing said
    back = changes(out, CollectorState(), names.get)
    assert [severity for _, severity in back] == ["information", "information"]
