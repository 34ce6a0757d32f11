"""Feed rows as plain Rich ``Text`` built from sanitised strings — never markup."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from rich.text import Text

from console.model import entry as entries
from console.model.actions import action_category, action_name
from console.model.sanitize import safe_text
from console.model.snowflake import to_ms
from console.store import StoredEntry

NameOf = Callable[[str, int | None], str | None]


def local_time(ms: int, tz: dt.tzinfo | None = None) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, tz=tz or dt.UTC).astimezone(tz).strftime("%m-%d %H:%M:%S")


def who(kind: str, ident: int | None, name_of: NameOf) -> str:
    if ident is None:
        return "—"
    name = name_of(kind, ident)
    return f"{safe_text(name, 32)} ({ident})" if name else str(ident)


def entry_row(e: StoredEntry, name_of: NameOf, styles: dict[str, str], tz: dt.tzinfo | None = None) -> Text:
    """``time  action  actor → target  summary  reason`` as one unwrapped line."""
    try:
        parsed = entries.parse_entry(e.raw, e.guild_id)
        summary = entries.summary(parsed)
    except (entries.MalformedEntry, ValueError):
        summary = ""
    category = action_category(e.action_type)
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(local_time(to_ms(e.id), tz), styles.get("time", "dim"))
    text.append("  ")
    text.append(f"{action_name(e.action_type):<28.28}", styles.get(f"cat-{category}", "bold"))
    text.append("  ")
    target_kind = "role" if e.action_type in (30, 31, 32) else "channel" if 10 <= e.action_type <= 15 else "user"
    text.append(who("user", e.actor_id, name_of))
    text.append(" → ", "dim")
    text.append(who(target_kind, e.target_id, name_of))
    if summary:
        text.append("  ")
        text.append(safe_text(summary, 120), styles.get("summary", ""))
    if e.reason:
        text.append("  “", "dim")
        text.append(safe_text(e.reason, 200), styles.get("reason", "italic"))
        text.append("”", "dim")
    return text
