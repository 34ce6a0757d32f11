"""What the collector reports to whoever shows it (the header, the headless progress line).
Its own module so the screen can show it without importing the collector."""

from typing import NamedTuple


class CollectorState(NamedTuple):
    """What the collector is doing, for the header and the status command."""

    gateway: str = "offline"  # offline | connecting | connected | resuming | disconnected | closed
    backfilling: frozenset[int] = frozenset()
    #: The backfills started together (a session's start, guilds back, the store writable again):
    #: guilds finished of those asked for, and entries recovered so far. A new round starts when
    #: one is asked for while none is running.
    backfill_done: int = 0
    backfill_total: int = 0
    backfill_entries: int = 0
    degraded: str | None = None
    entries_per_s: float = 0.0
    stored: int = 0
    last_error: str | None = None
    guild_ids: frozenset[int] = frozenset()
    sessions: int = 0
    #: Discord closed the gateway for good (a close code it takes no reconnect after): the code
    #: and the fix in a few words, "4014: enable Server Members Intent (…)". None otherwise.
    gateway_closed: str | None = None
    #: Guilds whose audit log the bot may not read (403), with the line saying what to give it;
    #: retried when Discord says a role or the bot's member changed there.
    blocked: tuple[tuple[int, str], ...] = ()
    #: Guilds the bot was removed from while collecting (GUILD_DELETE): no longer collected,
    #: their history kept.
    removed: frozenset[int] = frozenset()
    #: Guilds in an outage (GUILD_DELETE with ``unavailable``): a gap is open until they return.
    outages: frozenset[int] = frozenset()


def backfill_progress(state: CollectorState) -> str:
    """The backfills under way in a few words ("backfill 12/50 guilds · 61,000 entries"), or ""
    when none runs: the header and ``collect``'s progress lines say the same."""
    if not state.backfilling:
        return ""
    entries = f"{state.backfill_entries:,} entries"
    if state.backfill_total > 1:
        return f"backfill {state.backfill_done}/{state.backfill_total} guilds · {entries}"
    return f"backfilling · {entries}"
