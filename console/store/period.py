"""The grouped counts a report is made of, as a store hands them back. Backend-neutral; imported
only when a report is made (a dataclass takes a while to define, and a start needs none)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class PeriodCounts:
    """The grouped counts of one period ``since_ms <= time < until_ms`` over some guilds, as the
    store holds them; ``console/reports/compute.py`` makes a report of them.

    Entries are counted by id (a snowflake of their creation time), the other kinds by their own
    ``created_at``/``started_at``."""

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
