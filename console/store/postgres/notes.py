"""Notes in PostgreSQL (the ``notes`` table, migration 8): appended and linked into the chain in
one transaction, never changed (``console/model/notes.py``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from console.model.notes import Note, check
from console.store import member_queries
from console.store.chain import NOTE
from console.store.postgres import fulltext
from console.store.postgres.core import PgCore
from console.store.postgres.links import link_row
from console.store.postgres.placeholders import numbered
from console.store.results import IngestResult

_INSERT = f"INSERT INTO notes ({Note.COLUMNS}, doc) VALUES ({', '.join(f'${i}' for i in range(1, 13))}, $13::tsvector)"


def note_document(action: str, text: str) -> str | None:
    """A note's ``doc``: its text's full text (a removal has none: what it removed is not shown)."""
    return None if action == "remove" else fulltext.document(text)


class NotesPart(PgCore):
    """What moderators wrote on records."""

    async def add_note(self, note: Note) -> None:
        check(note)
        async with self.transaction() as conn:
            await conn.execute(_INSERT, *note, note_document(note.action, note.text))
            await link_row(conn, NOTE, note.id, self._clock())
            self._notify(IngestResult(guild_ids={note.guild_id}, changed=[(note.record_kind, note.record_id)]))

    async def notes(self, record_ids: Iterable[int]) -> dict[int, list[Note]]:
        found: dict[int, list[Note]] = {}
        for row in await self.fetch(
            f"SELECT {Note.COLUMNS} FROM notes WHERE record_id = ANY($1::bigint[]) ORDER BY id", sorted(set(record_ids))
        ):
            found.setdefault(row[3], []).append(Note.from_row(tuple(row)))
        return found

    async def member_notes(self, guild_id: int, member_id: int) -> list[Note]:
        async def run(sql: str, args: list[Any]) -> list[Any]:
            return await self.fetch(numbered(sql), *args)

        return await member_queries.member_notes(run, guild_id, member_id)
