"""How the console names a person, everywhere it shows one (header, feed rows, drawer, pending
pane, dialogs): the name the guild shows, with the username beside it where the two differ —
``Salty Nebula (cosmic_otter34)``. One function decides, so the same id never reads as two
people on one screen.

The names are raw (as Discord sent them) unless ``max_len`` is given: then each of the two is
sanitised and clamped on its own, so a long or hostile display name never hides the username.
"""

from __future__ import annotations

from collections.abc import Callable

from console.model.sanitize import safe_text

#: Looks a cached name up by kind and id (the store's ``name_of``); only ever asked with an id.
NameOf = Callable[[str, int], str | None]


def member_label(display: str | None, username: str | None, *, max_len: int | None = None) -> str | None:
    """``Display (username)``; either alone when the other is unknown or the same name.
    ``max_len``: each name sanitised (:func:`safe_text`) and clamped to it."""
    if display and username and display.casefold() != username.casefold():
        if max_len is not None:
            return f"{safe_text(display, max_len)} ({safe_text(username, max_len)})"
        return f"{display} ({username})"
    name = display or username or None
    return safe_text(name, max_len) if name is not None and max_len is not None else name


def person(
    name_of: NameOf, user_id: int | None, *, recorded: str | None = None, max_len: int | None = None
) -> str | None:
    """The label of ``user_id`` from the names cache (kind "member": the guild's display name;
    kind "user": the username). ``recorded``: a display name kept with a record (a decision's
    actor as the policy saw them), used when the cache has no display name for this person.
    ``max_len``: sanitised, each name clamped to it (see :func:`member_label`)."""
    if user_id is None:
        return None
    return member_label(name_of("member", user_id) or recorded, name_of("user", user_id), max_len=max_len)
