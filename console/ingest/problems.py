"""What changed for the worse (or the better) between two collector states, in the words an
operator reads: the runtime says each as a notice (a toast in the console, a line on
``collect``'s stderr), once, when it happens. The header shows the lasting state."""

from __future__ import annotations

from collections.abc import Callable

from console.ingest.state import CollectorState
from console.model.sanitize import safe_text


def guild_label(gid: int, name_of: Callable[[int], str | None]) -> str:
    """A guild by name and id (names come from Discord: sanitised), or by id alone."""
    name = name_of(gid)
    return f"{safe_text(name, 60)} ({gid})" if name else str(gid)


def changes(
    before: CollectorState, after: CollectorState, name_of: Callable[[int], str | None]
) -> list[tuple[str, str]]:
    """(line, severity) for each change an operator should hear about."""
    said: list[tuple[str, str]] = []
    if after.gateway_closed and after.gateway_closed != before.gateway_closed:
        said.append((after.last_error or f"the gateway closed: {after.gateway_closed}", "error"))
    was, now = dict(before.blocked), dict(after.blocked)
    for gid, why in now.items():
        if was.get(gid) != why:
            said.append((why, "error"))
    for gid in sorted(set(was) - set(now)):
        said.append((f"guild {guild_label(gid, name_of)}: the audit log can be read again", "information"))
    for gid in sorted(after.removed - before.removed):
        said.append(
            (
                f"the bot was removed from guild {guild_label(gid, name_of)}: collecting there stopped;"
                " what is stored is kept",
                "warning",
            )
        )
    for gid in sorted(before.removed - after.removed):
        said.append(
            (f"the bot is back in guild {guild_label(gid, name_of)}: backfilling what it missed", "information")
        )
    for gid in sorted(after.outages - before.outages):
        said.append(
            (
                f"guild {guild_label(gid, name_of)} is unavailable (a Discord outage): a gap is open until it"
                " returns, then backfilled",
                "warning",
            )
        )
    for gid in sorted(before.outages - after.outages):
        if gid not in after.removed:
            said.append(
                (f"guild {guild_label(gid, name_of)} is available again: backfilling the outage", "information")
            )
    return said
