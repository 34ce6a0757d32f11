"""Notes (the ``notes`` table, migration 10): appended and linked into the chain in one
transaction, never changed (``console/model/notes.py``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from console.model.notes import Note, check
from console.store import member_queries
from console.store.chain import NOTE
from console.store.connection import describe, rows
from console.store.errors import StoreError
from console.store.results import IngestResult
from console.store.sqlite.core import StoreCore
from console.store.sqlite.links import link_row


class NotesPart(StoreCore):
    """What moderators wrote on records."""

    async def add_note(self, note: Note) -> None:
        check(note)
        async with self.transaction() as db:
            await db.execute(f"INSERT INTO notes ({Note.COLUMNS}) VALUES ({','.join('?' * 12)})", note)
            if note.action != "remove":
                await db.execute("INSERT INTO notes_fts (rowid, text) VALUES (?, ?)", (note.id, note.text))
            await link_row(db, NOTE, note.id, self._clock())
        self._notify(IngestResult(guild_ids={note.guild_id}, changed=[(note.record_kind, note.record_id)]))

    async def notes(self, record_ids: Iterable[int]) -> dict[int, list[Note]]:
        wanted = sorted(set(record_ids))
        found: dict[int, list[Note]] = {}
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            try:
                got = await rows(
                    self._r,
                    f"SELECT {Note.COLUMNS} FROM notes WHERE record_id IN ({','.join('?' * len(chunk))}) ORDER BY id",
                    chunk,
                )
            except sqlite3.OperationalError:
                return {}  # a store from before migration 10, browsed read-only: no notes yet
            except sqlite3.Error as e:
                raise StoreError(describe(e, self.path)) from None
            for row in got:
                found.setdefault(row[3], []).append(Note.from_row(row))
        return found

    async def member_notes(self, guild_id: int, member_id: int) -> list[Note]:
        try:
            return await member_queries.member_notes(lambda sql, args: rows(self._r, sql, args), guild_id, member_id)
        except sqlite3.OperationalError:
            return []  # a store from before migration 10, browsed read-only: no notes yet
        except sqlite3.Error as e:
            raise StoreError(describe(e, self.path)) from None
