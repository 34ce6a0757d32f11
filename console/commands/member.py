"""``audit-console member --guild ID MEMBER_ID [--json]``: a member's story from the store (who
they are, what happened to them, counts) and their newest records, as the member view shows them
(``console/reports/member.py``). Read-only, with exact counts (a command can afford them)."""

from __future__ import annotations

import time
from pathlib import Path

import orjson

from console.model.location import StoreLocation
from console.reports import member
from console.store import open_store


async def story(
    db: StoreLocation, guild_id: int, member_id: int, *, limit: int, as_json: bool, password_file: Path | None
) -> str:
    """The text (or JSON) the command prints."""
    store = await open_store(db, readonly=True, password_file=password_file)
    try:
        now = int(time.time() * 1000)
        p = await member.counted(store, await member.profile(store, guild_id, member_id, now_ms=now), cap=None)
        refs = await store.timeline_page(member.timeline_filter(guild_id, member_id), limit=limit)
        items = [member.timeline_item(r) for r in await store.timeline_records(refs)]
        people = {int(i[k]) for i in items for k in ("actor_id", "target_id") if i[k]}
        await store.load_names_for([(kind, i) for i in people for kind in ("user", "member")])
        if as_json:
            data = member.to_json(p, store.name_of) | {"timeline": items}
            return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n"
        lines: list[str] = []
        for title, body in member.sections(p, store.name_of, now):
            lines += [title, *(f"  {line}" for line in body), ""]
        lines.append(f"Timeline (newest {len(items)})" if items else "Timeline: nothing involves them in this guild")
        lines += [f"  {member.timeline_line(i, store.name_of)}" for i in items]
        return "\n".join(lines) + "\n"
    finally:
        await store.close()
