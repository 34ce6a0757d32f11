"""The grouped counts a report is made of, as a store hands them back. Backend-neutral; imported
only when a report is made (a dataclass takes a while to define, and a start needs none)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class PeriodCounts:
    """The grouped counts of one period ``since_ms <= time < until_ms`` over some guilds, as the
    store holds them; ``console/reports/compute.py`` makes a report of them.

    Entries are counted by id (a snowflake of their creation time), the other kinds (notes too) by
    their own ``created_at``/``started_at``."""

    #: (actor id or None, entries)
    entries_by_actor: list[tuple[int | None, int]]
    #: (action type, entries)
    entries_by_type: list[tuple[int, int]]
    #: (result, reason code, capability, actor id, a name the actor had, decisions)
    decisions: list[tuple[str, str, str, int, str | None, int]]
    #: (user id, started, expires, ended or None, guild id), oldest first
    break_glass: list[tuple[int, int, int, int | None, int]]
    #: False when the store keeps no alerts (one from before they existed)
    alerts_recorded: bool
    #: (rule, alerts)
    alerts_by_rule: list[tuple[str, int]]
    #: (state, op, role changes)
    role_changes: list[tuple[str, str, int]]
    #: The guilds with entries in the period, in id order.
    guilds_with_entries: list[int]
    #: The stored guild state snapshots (see ``save_guild_state``) of the guilds asked for (all
    #: when none were), in guild order; a snapshot that cannot be read is left out.
    guild_states: list[Any]
    #: (author id, a name they had, "add" | "edit" | "remove", notes written)
    notes: list[tuple[int, str | None, str, int]] = field(default_factory=list)


def assemble(
    *,
    entries_by_actor: Iterable[Sequence[Any]],
    entries_by_type: Iterable[Sequence[Any]],
    decisions: Iterable[Sequence[Any]],
    break_glass: Iterable[Sequence[Any]],
    alerts_recorded: bool,
    alerts_by_rule: Iterable[Sequence[Any]],
    role_changes: Iterable[Sequence[Any]],
    guilds_with_entries: Iterable[Sequence[Any]],
    snapshots: Iterable[str | bytes],
    notes: Iterable[Sequence[Any]] = (),
) -> PeriodCounts:
    """PeriodCounts from the rows a backend's queries returned (each backend's SQL differs, what
    is made of the rows does not)."""
    states = []
    for snapshot in snapshots:
        try:
            states.append(orjson.loads(snapshot))
        except (orjson.JSONDecodeError, TypeError):
            continue  # a snapshot we cannot read names no staff; the report says "unknown"
    return PeriodCounts(
        entries_by_actor=[(r[0], r[1]) for r in entries_by_actor],
        entries_by_type=[(r[0], r[1]) for r in entries_by_type],
        decisions=[(r[0], r[1], r[2], r[3], r[4], r[5]) for r in decisions],
        break_glass=[(r[0], r[1], r[2], r[3], r[4]) for r in break_glass],
        alerts_recorded=alerts_recorded,
        alerts_by_rule=[(str(r[0]), r[1]) for r in alerts_by_rule],
        role_changes=[(r[0], r[1], r[2]) for r in role_changes],
        guilds_with_entries=[int(r[0]) for r in guilds_with_entries],
        guild_states=states,
        notes=[(int(r[0]), r[1], str(r[2]), int(r[3])) for r in notes],
    )
