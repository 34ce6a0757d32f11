"""How the console names a person, everywhere it shows one (header, feed rows, drawer, pending
pane, dialogs): the name the guild shows, with the username beside it where the two differ —
``Salty Nebula (cosmic_otter34)``. One function decides, so the same id never reads as two
people on one screen.

The names are raw (as Discord sent them): whoever draws the label sanitises it.
"""

from __future__ import annotations

from collections.abc import Callable

#: Looks a cached name up by kind and id (the store's ``name_of``); only ever asked with an id.
NameOf = Callable[[str, int], str | None]


def member_label(display: str | None, username: str | None) -> str | None:
    """``Display (username)``; either alone when the other is unknown or the same name."""
    if display and username and display.casefold() != username.casefold():
        return f"{display} ({username})"
    return display or username or None


def person(name_of: NameOf, user_id: int | None, *, recorded: str | None = None) -> str | None:
    """The label of ``user_id`` from the names cache (kind "member": the guild's display name;
    kind "user": the username). ``recorded``: a display name kept with a record (a decision's
    actor as the policy saw them), used when the cache has no display name for this person."""
    if user_id is None:
        return None
    return member_label(name_of("member", user_id) or recorded, name_of("user", user_id))
