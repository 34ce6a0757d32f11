"""Plain data and pure logic with no I/O: action types, permissions, snowflakes, sanitising.

The records every start defines (entries, gaps, decisions, role changes, the filter) are
NamedTuples, not frozen dataclasses: on Python 3.11 a frozen dataclass compiles six methods when
its module is imported, ~0.9 ms each class, and the console's start defined seventeen of them
(performance.md S1); a NamedTuple takes ~0.1 ms. They are as immutable and compare by value the
same way; ``_replace`` is their ``dataclasses.replace``.

The modules defining them on the console's start path do without ``from __future__ import
annotations``: typing.NamedTuple compiles every annotation given as a string (one ``compile``
a field), which doubled the cost of defining them (records.py: 1.8 -> 0.9 ms). Methods returning
their own class say ``Self``.
"""
