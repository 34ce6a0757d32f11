"""Plain data and pure logic with no I/O: action types, permissions, snowflakes, sanitising.

The records every start defines (entries, gaps, decisions, role changes, the filter) are
NamedTuples, not frozen dataclasses: on Python 3.11 a frozen dataclass compiles six methods when
its module is imported, and with seventeen of them the console's start spent a visible share of
its time compiling methods; a NamedTuple costs a fraction of that (docs/performance.md, S1). They
are as immutable and compare by value the same way; ``_replace`` is their ``dataclasses.replace``.

The modules defining them on the console's start path do without ``from __future__ import
annotations``: typing.NamedTuple compiles every annotation given as a string (one ``compile``
a field), which doubled the cost of defining them (docs/changelog.md, 2026-12-05). Methods returning
their own class say ``Self``.
"""
