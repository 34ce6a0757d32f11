"""An audit entry as the store holds it: what every reader of the store (feed, drawer, export)
gets back, whichever backend stored it."""

from collections.abc import Sequence
from typing import Any, NamedTuple, Self

import orjson

from console.model import entry as entries


class StoredEntry(NamedTuple):
    """An audit entry as stored: its columns, and the raw payload parsed on demand."""

    id: int
    guild_id: int
    action_type: int
    actor_id: int | None
    target_id: int | None
    reason: str | None
    created_at: int
    received_at: int
    source: str
    raw_json: str
    revision: int

    @property
    def raw(self) -> dict[str, Any]:
        return orjson.loads(self.raw_json)

    def parsed(self) -> entries.AuditEntry:
        return entries.parse_entry(self.raw, self.guild_id)

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Self:
        return cls(*row)
