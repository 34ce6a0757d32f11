"""Reading Discord's JSON so that one bad payload never stops ingestion.

hikari decodes with orjson, which refuses what Discord can send (a lone surrogate escape from a
name cut mid-pair, an integer beyond 64 bits); on the gateway an undecodable frame made the
shard task die for good (hikari 2.7.0 only reconnects on network errors), so the console went
silent while still showing "connected". Here orjson stays the fast path; what it refuses gets a
second, lenient reading, and what nobody can read is handed back raw to be kept as a parse
failure while the shard carries on.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import orjson

#: The ``t`` of a dispatch the shard could not use: hikari has no consumer for it and ignores it.
UNREADABLE_DISPATCH = "CONSOLE_UNREADABLE_DISPATCH"
#: An opcode hikari ignores ("unknown opcode"): what an unreadable frame becomes.
_IGNORED_OP = -1


class UnreadableJSON(ValueError):
    """Bytes that are not JSON even to the lenient reader; ``raw`` is what was received."""

    def __init__(self, raw: bytes, error: str) -> None:
        super().__init__(error)
        self.raw = raw
        self.error = error


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400: orjson would write it back as null, altering it
        raise ValueError(f"number {text[:40]} is out of range")
    return value


def loads(data: bytes | str) -> Any:
    """orjson, else Python's json (lone surrogates and big integers kept as they are; invalid
    UTF-8 kept as surrogate escapes, so nothing is altered: the store then refuses such text and
    keeps the payload as a parse failure). Raises UnreadableJSON."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as first:
        raw = data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
        try:
            return json.loads(
                raw.decode("utf-8", "surrogateescape"),
                parse_constant=_no_constant,
                parse_float=_finite,
            )
        except (ValueError, RecursionError):
            raise UnreadableJSON(raw, str(first)) from None


def frame_reader(on_unreadable: Callable[[bytes, str], None]) -> Callable[[bytes | str], dict[str, Any]]:
    """The shard's ``loads``: every frame becomes one hikari can handle without dying.

    A frame that is not JSON, not an object or has no integer ``op`` becomes an ignored opcode; a
    dispatch whose ``t``/``d`` are unusable keeps its sequence number (so RESUME stays exact) but
    is renamed ``UNREADABLE_DISPATCH``. Either way ``on_unreadable(raw, why)`` gets the bytes.
    """

    def read(data: bytes | str) -> dict[str, Any]:
        raw = data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
        try:
            frame = loads(data)
        except UnreadableJSON as e:
            on_unreadable(raw, f"gateway frame is not JSON: {e.error}")
            return {"op": _IGNORED_OP, "d": None}
        op = frame.get("op") if isinstance(frame, dict) else None
        if not isinstance(op, int) or isinstance(op, bool):
            on_unreadable(raw, "gateway frame is not an object with an opcode")
            return {"op": _IGNORED_OP, "d": None}
        if op == 0 and not (isinstance(frame.get("t"), str) and isinstance(frame.get("d"), dict)):
            on_unreadable(raw, "dispatch without a name or without an object as data")
            seq = frame.get("s")
            keep = seq if isinstance(seq, int) and not isinstance(seq, bool) else None
            return {"op": 0, "s": keep, "t": UNREADABLE_DISPATCH, "d": {}}
        return frame

    return read
