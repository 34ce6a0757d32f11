"""The feed/export filter: fields AND together, choices within a field OR; what a filter
excludes (:class:`Exclusions`: the query's ``-field:value`` and ``-word``) ANDs with the rest,
each of its fields NOT(any of its values)."""

from __future__ import annotations

import re
from typing import Any, NamedTuple, Self

from console.model.times import parse_iso

KINDS = ("audit", "decision", "role_change", "gap")
RESULTS = ("ALLOW", "DENY")
REASON_CODES = (
    "BREAK_GLASS",
    "ADMIN_BYPASS",
    "OVERRIDE_DENY",
    "OVERRIDE_ALLOW",
    "RBAC_GRANT_DENY",
    "RBAC_GRANT_ALLOW",
    "DEFAULT_PUBLIC",
    "NO_GRANT",
    "DISCORD_GATE_DENIED",
    "MEMBER_UNKNOWN",
)
DECISION_SOURCES = ("TUI", "CLI", "BOT")
ENTRY_SOURCES = ("gateway", "backfill")
ROLE_CHANGE_STATES = ("pending", "confirmed", "reverted", "failed", "expired", "cancelled")


class Exclusions(NamedTuple):
    """What a filter leaves out. A field here drops the records that have any of its values
    (``-action:A,B`` = none of them); fields AND together (``-actor:x -category:y`` drops both).
    A field applies to the kinds of record that have it: ``-action:`` leaves decisions alone."""

    guild_ids: frozenset[int] = frozenset()
    kinds: frozenset[str] = frozenset()
    actions: frozenset[int] = frozenset()
    categories: frozenset[str] = frozenset()
    actor_ids: frozenset[int] = frozenset()
    target_ids: frozenset[int] = frozenset()
    #: Terms (query-language text) none of which a record's text may match.
    text: str = ""
    results: frozenset[str] = frozenset()
    reason_codes: frozenset[str] = frozenset()
    capabilities: frozenset[str] = frozenset()
    sources: frozenset[str] = frozenset()
    states: frozenset[str] = frozenset()
    #: Records with a current note holding any of these words are left out (``-note:``).
    note_words: frozenset[str] = frozenset()

    def with_(self, **changes: Any) -> Self:
        return self._replace(**changes)

    @property
    def is_empty(self) -> bool:
        return not any(self)

    def joined(self, other: Exclusions) -> Exclusions:
        """Both exclusions at once (each field's values together)."""
        changes: dict[str, object] = {name: getattr(self, name) | getattr(other, name) for name in SET_FIELDS}
        changes["text"] = (self.text + " " + other.text).strip()
        changes["note_words"] = self.note_words | other.note_words
        return self.with_(**changes)


class Filter(NamedTuple):
    """What the feed, search, export and reports select; empty fields select everything."""

    guild_ids: frozenset[int] = frozenset()
    kinds: frozenset[str] = frozenset()
    actions: frozenset[int] = frozenset()
    categories: frozenset[str] = frozenset()
    actor_ids: frozenset[int] = frozenset()
    target_ids: frozenset[int] = frozenset()
    #: Unix ms, inclusive lower bound / exclusive upper bound on the record's time.
    since_ms: int | None = None
    until_ms: int | None = None
    #: Free text, matched by the full-text index (reasons, names, change values).
    text: str = ""
    newest_first: bool = True
    #: Decisions: ALLOW / DENY, reason codes, capabilities.
    results: frozenset[str] = frozenset()
    reason_codes: frozenset[str] = frozenset()
    capabilities: frozenset[str] = frozenset()
    #: TUI / CLI / BOT for decisions; gateway / backfill for audit entries.
    sources: frozenset[str] = frozenset()
    #: Role changes: pending, confirmed, …
    states: frozenset[str] = frozenset()
    #: What the filter leaves out of what the fields above keep.
    exclude: Exclusions = Exclusions()
    #: Records involving these people (the member view): entries they did or that were done to
    #: them, decisions on their requests, role changes they asked for or that are aimed at them.
    member_ids: frozenset[int] = frozenset()
    #: Records with a current note holding any of these words (``note:``; case ignored).
    note_words: frozenset[str] = frozenset()

    def with_(self, **changes: Any) -> Self:
        return self._replace(**changes)

    @property
    def is_empty(self) -> bool:
        return not (
            self.guild_ids
            or self.kinds
            or self.actions
            or self.categories
            or self.actor_ids
            or self.target_ids
            or self.since_ms is not None
            or self.until_ms is not None
            or self.text
            or self.results
            or self.reason_codes
            or self.capabilities
            or self.sources
            or self.states
            or not self.exclude.is_empty
            or self.member_ids
            or self.note_words
        )

    def includes_kind(self, kind: str) -> bool:
        """Whether records of ``kind`` can match: a field that only one kind has narrows to it."""
        if (self.kinds and kind not in self.kinds) or kind in self.exclude.kinds:
            return False
        audit_only = bool(self.actions or self.categories)
        decision_only = bool(self.results or self.reason_codes or self.capabilities)
        entry_sources = self.sources & set(ENTRY_SOURCES)
        decision_sources = self.sources & set(DECISION_SOURCES)
        narrowed = {
            "audit": not (decision_only or self.states) and (not self.sources or bool(entry_sources)),
            "decision": not (audit_only or self.states) and (not self.sources or bool(decision_sources)),
            "role_change": not (audit_only or decision_only or self.sources),
            # Gaps are context: shown unless the filter picks out particular records.
            "gap": not (
                audit_only
                or decision_only
                or self.states
                or self.sources
                or self.actor_ids
                or self.target_ids
                or self.member_ids
                or self.text
                or self.note_words
            ),
        }
        return narrowed.get(kind, False)


_RELATIVE = re.compile(r"^(\d+)\s*(m|min|h|d|w)$", re.IGNORECASE)
_UNIT_MS = {"m": 60_000, "min": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}


def parse_time(text: str, now_ms: int) -> int:
    """``7d``, ``12h``, ``30m``, ``2w`` (ago), an ISO date or datetime (UTC unless an offset is
    given) → Unix ms. Raises ValueError with a one-line message."""
    t = text.strip()
    m = _RELATIVE.match(t)
    if m:
        return now_ms - int(m.group(1)) * _UNIT_MS[m.group(2).lower()]
    parsed = parse_iso(t)
    if parsed is None:
        raise ValueError(f"bad date {text!r}: use 7d, 12h, 30m, 2w, 2026-11-01 or 2026-11-01T08:00")
    return int(parsed.timestamp() * 1000)


def text_terms(text: str) -> list[tuple[str, bool]]:
    """The query language's text: terms ANDed, each (its text, whether it is a ``prefix*``).
    ``"two words"`` is one term (a phrase); quotes never survive into a term's text."""
    out: list[tuple[str, bool]] = []
    for m in re.finditer(r'"([^"]*)"|(\S+)', text):
        phrase, word = m.group(1), m.group(2)
        if phrase is not None:
            if phrase.strip():
                out.append((phrase, False))
            continue
        prefix = word.endswith("*")
        word = word.rstrip("*").replace('"', "")
        if word:
            out.append((word, prefix))
    return out


def fts_query(text: str, *, any_term: bool = False) -> str:
    """User text → a safe FTS5 query: every word quoted (so FTS syntax can't error), ANDed (with
    ``any_term``, ORed: what an exclusion drops); a trailing ``*`` keeps prefix matching;
    ``"two words"`` stays a phrase."""
    joiner = " OR " if any_term else " AND "
    return joiner.join('"' + t + '"' + ("*" if prefix else "") for t, prefix in text_terms(text))


#: The fields of a :class:`Filter` (and of its :class:`Exclusions`) that hold sets of choices.
SET_FIELDS = (
    "kinds",
    "actions",
    "categories",
    "actor_ids",
    "target_ids",
    "results",
    "reason_codes",
    "capabilities",
    "sources",
    "states",
    "guild_ids",
)


class EmptyNarrowing(ValueError):
    """Two filters share nothing in a field: their AND would match nothing."""


def narrow(base: Filter, extra: Filter, *, strict: bool = False) -> Filter:
    """``base`` AND ``extra``: every field ``extra`` sets narrows ``base`` (the search bar's find,
    ``export --query`` with flags). With ``strict``, a field that would narrow to nothing raises
    :class:`EmptyNarrowing` (an empty set would mean "any" and match everything)."""
    changes: dict[str, object] = {}
    for name in SET_FIELDS:
        value = getattr(extra, name)
        if value:
            current = getattr(base, name)
            if strict and current and not current & value:
                raise EmptyNarrowing(name)
            changes[name] = current & value if current else value
    if extra.text:
        changes["text"] = (base.text + " " + extra.text).strip()
    if extra.since_ms is not None:
        changes["since_ms"] = max(extra.since_ms, base.since_ms if base.since_ms is not None else extra.since_ms)
    if extra.until_ms is not None:
        changes["until_ms"] = min(extra.until_ms, base.until_ms if base.until_ms is not None else extra.until_ms)
    if not extra.exclude.is_empty:
        changes["exclude"] = base.exclude.joined(extra.exclude)
    if extra.note_words:
        changes["note_words"] = base.note_words & extra.note_words if base.note_words else extra.note_words
    return base.with_(**changes)
