"""What the store hands back besides the model's records: what one committed batch did (what
it tells its listeners), and a record's place in the timeline. Backend-neutral."""

from __future__ import annotations

from typing import NamedTuple


class Ref(NamedTuple):
    """A record's place in the timeline: its kind ("audit", "decision", "role_change", "gap") and id."""

    kind: str
    id: int


class IngestResult:
    """What one committed batch did. ``inserted``/``updated`` hold entry ids.

    A plain class: a dataclass takes a noticeable while to define at import, on every start of
    the console (console.model explains why that matters)."""

    __slots__ = (
        "inserted",
        "updated",
        "duplicates",
        "failures",
        "guild_ids",
        "source",
        "changed",
        "elsewhere",
        "kinds",
    )

    def __init__(
        self, *, source: str = "", guild_ids: set[int] | None = None, changed: list[tuple[str, int]] | None = None
    ) -> None:
        self.inserted: list[int] = []
        self.updated: list[int] = []
        self.duplicates = 0
        self.failures = 0
        self.guild_ids: set[int] = set() if guild_ids is None else guild_ids
        #: "gateway" (live) or "backfill"; empty for commits that are not entries.
        self.source = source
        #: Records of other kinds changed in place, as (kind, id): a role change moving on, a gap
        #: closing. (Entries changed in place are in ``updated``.)
        self.changed: list[tuple[str, int]] = [] if changed is None else changed
        #: Committed by another store object (another process, another machine), as a store's
        #: watch tells it (``console/store/watching.py``): ``inserted`` then holds at most the
        #: batch's lowest and newest entry ids, and ``kinds`` what it changed.
        self.elsewhere = False
        #: For ``elsewhere``: what the commit changed ("entries", "records", "names", "alerts",
        #: "state"); empty when that is not known (catch up on everything, names too).
        self.kinds: frozenset[str] = frozenset()

    def __repr__(self) -> str:
        return "IngestResult(" + ", ".join(f"{k}={getattr(self, k)!r}" for k in self.__slots__) + ")"
