"""The crowd: a big guild's members beyond the ones built at start, made from the seed by their
index when first asked for, so a guild of 100,000 members costs nothing until someone asks about
one of them (``GET /guilds/{id}/members/{user}``, a role change, a command).

A crowd member's id encodes its index (worker bits 9, which the guild's IdMaker never uses), so
"is this a member?" and "what is their name?" are arithmetic, and the ids ascend with the index
(``GET /guilds/{id}/members?after=`` pages without a list). A member who is changed (a role, a
departure) is taken out of the crowd into the guild's ordinary member dict.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

from console.model.snowflake import from_ms, to_ms
from console.model.times import discord_iso

_WORKER = 9
DAY_MS = 24 * 3600 * 1000


def user_object(uid: int, username: str, global_name: str | None) -> dict[str, Any]:
    """A user as Discord's REST and gateway send it (no bot flag)."""
    return {
        "id": str(uid),
        "username": username,
        "global_name": global_name,
        "discriminator": "0",
        "avatar": None,
        "public_flags": 0,
        "flags": 0,
        "banner": None,
        "accent_color": None,
        "avatar_decoration_data": None,
    }


class Crowd:
    def __init__(
        self, seed: str, size: int, first_ms: int, now_ms: int, adjectives: tuple[str, ...], nouns: tuple[str, ...]
    ) -> None:
        self.seed = seed
        self.size = size
        #: Member ``i``'s id carries ``first_ms + i`` as its time.
        self.first_ms = first_ms
        self._joined_span = max(1, now_ms - DAY_MS - first_ms)
        self._adj = adjectives
        self._noun = nouns
        #: Taken out of the crowd (now ordinary members, or gone): no longer answered from here.
        self.taken: set[int] = set()

    def uid(self, i: int) -> int:
        return from_ms(self.first_ms + i) | (_WORKER << 17) | (i & 0x1FFFF)

    def index(self, uid: int) -> int | None:
        """The index of a crowd id, or None (not a crowd id, or taken out)."""
        if (uid >> 17) & 0x1F != _WORKER:
            return None
        i = to_ms(uid) - self.first_ms
        if not 0 <= i < self.size or self.uid(i) != uid or uid in self.taken:
            return None
        return i

    def __contains__(self, uid: object) -> bool:
        return isinstance(uid, int) and self.index(uid) is not None

    def __len__(self) -> int:
        return self.size - len(self.taken)

    def ids_after(self, after: int) -> Iterator[int]:
        """Crowd ids above ``after``, ascending."""
        i = max(0, to_ms(after) - self.first_ms)
        while i < self.size:
            uid = self.uid(i)
            if uid > after and uid not in self.taken:
                yield uid
            i += 1

    def _hash(self, i: int) -> int:
        return zlib.crc32(f"{self.seed}-{i}".encode())

    def user(self, uid: int) -> dict[str, Any]:
        i = self.index(uid)
        assert i is not None
        h = self._hash(i)
        adj, noun = self._adj[h % len(self._adj)], self._noun[(h >> 8) % len(self._noun)]
        return user_object(uid, f"{adj}_{noun}_{i}", None if (h >> 16) % 10 < 3 else f"{adj.title()} {noun.title()}")

    def member(self, uid: int, members_role: int, verified_role: int) -> dict[str, Any]:
        """The member state (as SimGuild keeps it): everyone holds Members, a third Verified."""
        i = self.index(uid)
        assert i is not None
        h = self._hash(i)
        roles = [members_role] + ([verified_role] if i % 3 == 0 else [])
        return {
            "user_id": uid,
            "roles": roles,
            "joined_at": discord_iso(self.first_ms + h % self._joined_span),
            "nick": None,
            "communication_disabled_until": None,
            "deaf": False,
            "mute": False,
        }
