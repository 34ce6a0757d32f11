"""The export format (CSV, JSON, JSON Lines) for audit entries: pure functions, no I/O.

Version :data:`EXPORT_FORMAT_VERSION` of the format. One audit entry becomes one record (a dict),
built by :func:`audit_record` from the raw entry Discord sent and what the store knows about it:

========================  =======================================================================
field                     value
========================  =======================================================================
``format_version``        ``2``
``kind``                  ``"audit"``
``id``                    entry id (snowflake) as a string
``guild_id``              string
``action_type``           int, as Discord sent it
``action``                documented name (``MEMBER_BAN_ADD``) or ``null`` for an undocumented type
``category``              ``moderation``, ``role``, ``permission`` … or ``unknown``
``actor_id``              string or ``null``
``actor_name``            the actor's display name as last seen (raw text) or ``null``
``target_id``             string or ``null``
``target_name``           the target's name as last seen (user, role or channel) or ``null``
``reason``                the exact raw reason or ``null``
``created_at``            ISO-8601 UTC from the snowflake, ``2024-05-01T12:00:00.123Z``
``received_at``           ISO-8601 UTC: when the console stored it
``source``                ``"gateway"`` or ``"backfill"``
``revision``              int: how many times Discord changed the entry in place (counts)
``changes``               list of ``{"key", "old", "new"}`` with RAW values (absent → ``null``)
``options``               the raw options object or ``null``
``summary``               the feed's one-line description (plain, unsanitised text)
``permissions``           only when a ``permissions`` change exists: ``{"added", "removed",
                          "unknown_bits_added", "unknown_bits_removed"}`` (documented flag names
                          sorted; unknown bits as bit positions, ints)
``overwrite``             only for CHANNEL_OVERWRITE_* (13–15): ``{"id", "type", "allow_added",
                          "allow_removed", "deny_added", "deny_removed", "allow_unknown_bits_added",
                          "allow_unknown_bits_removed", "deny_unknown_bits_added",
                          "deny_unknown_bits_removed"}`` (``type`` is ``"role"``/``"member"``/null)
``overwrites``            only when a ``permission_overwrites`` change exists (CHANNEL_*): a list
                          of the same objects, one per overwrite target whose allow/deny changed
``roles_added``           only when a ``$add`` or ``$remove`` change exists: role ids (strings)
``roles_removed``         as above (both keys appear together; one may be an empty list)
``notes``                 the notes the record shows (every kind of record has the field; ``[]``
                          when none): :func:`note_record` each, oldest first (version 2)
========================  =======================================================================

All ids are strings (snowflakes exceed what JavaScript numbers hold exactly).

**CSV.** A header row with :data:`CSV_COLUMNS`, then one row per record, every cell quoted.
``changes``, ``options``, ``overwrites`` and ``notes`` (the last column) are compact JSON text; flag and role lists are
space-joined. Every cell passes :func:`csv_cell`, the OWASP formula guard: a cell that starts with
``=``, ``+``, ``-``, ``@``, tab, CR, NUL or a full-width ``＝＋－＠`` gets a leading ``'`` so that a
spreadsheet shows it as text instead of running it. **This includes numbers that look negative:
``-5`` is exported as ``'-5``** — the documented price of the guard. Ids and counts are never
negative, so only free text (reasons, names, change values) is ever affected.

**JSON.** orjson writes non-ASCII text as UTF-8 without escaping, so :func:`escape_json` rewrites
characters that a terminal or editor would act on or hide — C1 controls (U+0080–U+009F), DEL,
bidi controls, zero-width and other invisible format characters, U+2028/U+2029 — as ``\\uXXXX``
escapes. The document stays valid JSON and decodes to the identical string, but ``cat`` on an
export can no longer drive the terminal or reorder what a reader sees.

One module over ~500 lines on purpose: it is the export contract. The fields of every record kind,
their CSV columns and the fast path that must produce byte-identical output are read and changed
together whenever the format's version changes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

import orjson

from console.model import entry as entries
from console.model.actions import action_category, documented_name, target_name_kinds
from console.model.snowflake import parse as parse_id
from console.model.snowflake import to_ms
from console.model.times import iso_utc

EXPORT_FORMAT_VERSION: Final = 2
#: The JSON document's ``format`` marker.
EXPORT_FORMAT_NAME: Final = "audit-console-export"

#: (kind, id) → display name, or None. Kinds: ``user``, ``role``, ``channel``, ``guild``.
NameLookup = Callable[[str, int], "str | None"]


class _RoleNames:
    """The ``Mapping.get`` that :func:`entries.summary` needs, backed by a name lookup."""

    __slots__ = ("_names",)

    def __init__(self, names: NameLookup) -> None:
        self._names = names

    def get(self, key: str, default: str) -> str:
        ident = parse_id(key)
        found = self._names("role", ident) if ident is not None else None
        return found if found is not None else default


def _no_names(kind: str, ident: int) -> str | None:
    return None


def audit_record(
    raw: Mapping[str, Any],
    *,
    guild_id: int | None,
    received_at_ms: int,
    source: str,
    revision: int = 0,
    names: NameLookup | None = None,
    entry: entries.AuditEntry | None = None,
    notes: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The export record of one audit entry (see the module docstring for every field).
    ``notes``: its notes as :func:`note_record` makes them.

    ``raw`` is the entry exactly as Discord sent it; ``guild_id`` fills in for REST payloads that
    carry none. ``names`` looks display names up (raw text). Raises ``MalformedEntry`` when the
    payload has no usable id or action type (the store never holds such an entry).
    """
    e = entry if entry is not None else entries.parse_entry(raw, guild_id)
    lookup = names or _no_names
    gid = e.guild_id if e.guild_id is not None else guild_id
    actor_name = lookup("user", e.actor_id) if e.actor_id is not None else None
    target_name = None
    target_int = parse_id(e.target_id)
    if target_int is not None:
        for kind in target_name_kinds(e.action_type):
            target_name = lookup(kind, target_int)
            if target_name is not None:
                break
    record: dict[str, Any] = {
        "format_version": EXPORT_FORMAT_VERSION,
        "kind": "audit",
        "id": str(e.id),
        "guild_id": None if gid is None else str(gid),
        "action_type": e.action_type,
        "action": documented_name(e.action_type),
        "category": action_category(e.action_type),
        "actor_id": None if e.actor_id is None else str(e.actor_id),
        "actor_name": actor_name,
        "target_id": e.target_id,
        "target_name": target_name,
        "reason": e.reason,
        "created_at": iso_utc(to_ms(e.id)),
        "received_at": iso_utc(received_at_ms),
        "source": source,
        "revision": revision,
    }
    _add_details(record, e, lookup)
    record["notes"] = notes or []
    return record


#: A note's stored columns as :func:`note_record` reads them (``console.model.notes.Note``).
NOTE_COLUMNS: Final = (
    "id, guild_id, record_kind, record_id, member_id, actor_id, actor_name, created_at, action, supersedes, text"
)


def note_record(row: tuple[Any, ...]) -> dict[str, Any]:
    """A note as a record's ``notes`` list holds it: ``id``, ``text`` (raw, as written),
    ``actor_id`` and ``actor_name`` (who wrote it), ``created_at``, ``supersedes`` (the note it
    edits, or null), ``member_id`` (the member it was written about, or null)."""
    return {
        "id": str(row[0]),
        "text": row[10],
        "actor_id": _sid(row[5]),
        "actor_name": row[6],
        "created_at": _time(row[7]),
        "supersedes": _sid(row[9]),
        "member_id": _sid(row[4]),
    }


def _add_details(record: dict[str, Any], e: entries.AuditEntry, lookup: NameLookup) -> dict[str, Any]:
    """``changes``, ``options``, ``summary`` and the typed diffs that apply, in field order."""
    record["changes"] = [{"key": c.key, "old": c.old, "new": c.new} for c in e.changes]
    record["options"] = e.options
    if not e.changes and not e.options:
        # Bans, kicks and most other entries: nothing below applies (the fast path).
        record["summary"] = ""
        return record
    record["summary"] = entries.summary(e, _RoleNames(lookup))  # type: ignore[arg-type]
    keys = {c.key for c in e.changes}
    if "permissions" in keys:
        pd = entries.permission_diff(e)
        if pd is not None:
            record["permissions"] = pd.as_dict()
    if e.action_type in (13, 14, 15):
        ow = entries.overwrite_diff(e)
        if ow is not None:
            record["overwrite"] = ow.as_dict()
    if "permission_overwrites" in keys:
        record["overwrites"] = [d.as_dict() for d in entries.channel_overwrite_diffs(e)]
    if "$add" in keys or "$remove" in keys:
        record["roles_added"] = [i for i, _ in entries.roles_added(e)]
        record["roles_removed"] = [i for i, _ in entries.roles_removed(e)]
    return record


# -- the export's hot path -----------------------------------------------------------------------

_DISCORD_EPOCH_MS: Final = 1_420_070_400_000


class AuditRecords:
    """Builds :func:`audit_record`'s exact output from a stored row, without the per-row work.

    Names are looked up in per-kind dicts, action names, categories and target-name kinds are
    computed once per action type, ISO times come from tables, and the parsed entry and its
    summary are only made for entries that have changes or options. Anything unusual (a payload
    the store would not hold in this shape) goes through :func:`audit_record` itself, so the
    output is identical by construction.
    """

    __slots__ = ("_by_kind", "_types", "_lookup", "_details", "_notes")

    def __init__(
        self, names: Mapping[tuple[str, int], str], notes: Mapping[int, list[dict[str, Any]]] | None = None
    ) -> None:
        by_kind: dict[str, dict[int, str]] = {"user": {}, "role": {}, "channel": {}, "guild": {}}
        for (kind, ident), name in names.items():
            by_kind.setdefault(kind, {})[ident] = name
        self._by_kind = by_kind
        self._types: dict[int, tuple[str | None, str, tuple[dict[int, str], ...]]] = {}
        self._details: dict[bytes, tuple[tuple[str, Any], ...]] = {}
        #: Record id → its notes (:func:`note_record`): few, so all of them, read once.
        self._notes: Mapping[int, list[dict[str, Any]]] = notes or {}

        def lookup(kind: str, ident: int) -> str | None:
            table = by_kind.get(kind)
            return None if table is None else table.get(ident)

        self._lookup = lookup

    def _type(self, action_type: int) -> tuple[str | None, str, tuple[dict[int, str], ...]]:
        found = self._types.get(action_type)
        if found is None:
            tables = tuple(self._by_kind.get(k, {}) for k in target_name_kinds(action_type))
            found = self._types[action_type] = (
                documented_name(action_type),
                action_category(action_type),
                tables,
            )
        return found

    def record(self, raw: Any, guild_id: int | None, received_at_ms: int, source: str, revision: int) -> dict[str, Any]:
        """The record of one stored entry (``raw`` already decoded)."""
        get = raw.get
        eid = get("id")
        action = get("action_type")
        user = get("user_id")
        target = get("target_id")
        reason = get("reason")
        rgid = get("guild_id")
        # The shapes ingest stores; anything else takes the reference path.
        if (
            type(eid) is not str
            or not (eid.isascii() and eid.isdigit() and 0 < len(eid) <= 19)
            or eid[0] == "0"
            or type(action) is not int
            or not (
                user is None
                or (type(user) is str and user.isascii() and user.isdigit() and 0 < len(user) <= 19 and user[0] != "0")
            )
            or not (target is None or type(target) is str)
            or not (reason is None or type(reason) is str)
            or rgid is not None
        ):
            return self._reference(raw, guild_id, received_at_ms, source, revision)
        ident = int(eid)
        if ident > 2**63 - 1:
            return self._reference(raw, guild_id, received_at_ms, source, revision)
        name, category, tables = self._type(action)
        target_name = None
        if target is not None and target.isascii() and target.isdigit() and len(target) <= 19:
            t = int(target)
            if t > 0:
                for table in tables:
                    target_name = table.get(t)
                    if target_name is not None:
                        break
        raw_changes = get("changes")
        options = get("options")
        record: dict[str, Any] = {
            "format_version": EXPORT_FORMAT_VERSION,
            "kind": "audit",
            "id": eid,
            "guild_id": None if guild_id is None else str(guild_id),
            "action_type": action,
            "action": name,
            "category": category,
            "actor_id": user,
            "actor_name": None if user is None else self._by_kind["user"].get(int(user)),
            "target_id": target,
            "target_name": target_name,
            "reason": reason,
            "created_at": iso_utc((ident >> 22) + _DISCORD_EPOCH_MS),
            "received_at": iso_utc(received_at_ms),
            "source": source,
            "revision": revision,
        }
        if not raw_changes and not options:
            record["changes"] = []
            record["options"] = options if isinstance(options, Mapping) else None
            record["summary"] = ""
            record["notes"] = self._notes.get(ident, [])
            return record
        # Changes or options: the details are a function of (type, changes, options) alone, and
        # those repeat (the same role added, the same nickname, the same count), so they are
        # computed once per distinct content. Cached values are shared between records, which
        # are only serialised, never changed.
        try:
            key = orjson.dumps((action, raw_changes, options))
        except TypeError:
            key = None
        details = self._details.get(key) if key is not None else None
        if details is None:
            scratch: dict[str, Any] = {}
            _add_details(scratch, entries.parse_entry(raw, guild_id), self._lookup)
            details = tuple(scratch.items())
            if key is not None:
                if len(self._details) >= _DETAILS_MAX:
                    self._details.clear()  # bounded: memory stays flat on any store
                self._details[key] = details
        record.update(details)
        record["notes"] = self._notes.get(ident, [])
        return record

    def _reference(
        self, raw: Any, guild_id: int | None, received_at_ms: int, source: str, revision: int
    ) -> dict[str, Any]:
        ident = parse_id(raw.get("id"))
        return audit_record(
            raw,
            guild_id=guild_id,
            received_at_ms=received_at_ms,
            source=source,
            revision=revision,
            names=self._lookup,
            notes=None if ident is None else self._notes.get(ident),
        )


#: Details cached by content, at most this many: a larger cache breaks the export's memory budget
#: (docs/performance.md, E2).
_DETAILS_MAX = 1024


# -- decisions, role changes, gaps --------------------------------------------------------------

#: Stored columns, in the order the record builders below read them (store/timeline.py, records.py).
DECISION_COLUMNS: Final = (
    "id, guild_id, created_at, actor_id, actor_name, actor_roles, actor_admin, actor_owner, capability,"
    " resource_type, resource_id, source, result, reason_code, path, policy_version"
)
ROLE_CHANGE_COLUMNS: Final = (
    "id, guild_id, member_id, role_id, op, reason, requested_by, source, decision_id, state, created_at,"
    " updated_at, next_attempt_at, deadline_at, attempts, observed_at, error, linked_entry_id, message_id,"
    " cancelled_by, message_state, message_error"
)
GAP_COLUMNS: Final = (
    "id, guild_id, reason, from_id, started_at, detected_at, ended_at, status, recovered, refreshed,"
    " beyond_retention_ms, error"
)


def _sid(value: Any) -> str | None:
    return None if value is None else str(value)


def _time(ms: Any) -> str | None:
    return None if ms is None else iso_utc(int(ms))


def _json_value(value: Any) -> Any:
    if isinstance(value, str | bytes):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


def decision_record(row: tuple[Any, ...]) -> dict[str, Any]:
    """The record of one stored policy decision (a row of :data:`DECISION_COLUMNS`)."""
    (
        ident,
        gid,
        created,
        actor,
        actor_name,
        roles,
        admin,
        owner,
        capability,
        resource_type,
        resource_id,
        source,
        result,
        reason_code,
        path,
        version,
    ) = row
    roles = _json_value(roles)
    return {
        "format_version": EXPORT_FORMAT_VERSION,
        "kind": "decision",
        "id": str(ident),
        "guild_id": _sid(gid),
        "created_at": _time(created),
        "actor_id": _sid(actor),
        "actor_name": actor_name,
        "actor_roles": [str(r) for r in roles] if isinstance(roles, list) else [],
        "actor_admin": bool(admin),
        "actor_owner": bool(owner),
        "capability": capability,
        "resource_type": resource_type,
        "resource_id": _sid(resource_id),
        "source": source,
        "result": result,
        "reason_code": reason_code,
        "path": _json_value(path),
        "policy_version": version,
    }


def role_change_record(row: tuple[Any, ...], names: NameLookup | None = None) -> dict[str, Any]:
    """The record of one stored role change (a row of :data:`ROLE_CHANGE_COLUMNS`)."""
    (
        ident,
        gid,
        member,
        role,
        op,
        reason,
        requested_by,
        source,
        decision_id,
        state,
        created,
        updated,
        next_attempt,
        deadline,
        attempts,
        observed,
        error,
        linked,
        message_id,
        cancelled_by,
        message_state,
        message_error,
    ) = row
    lookup = names or _no_names
    return {
        "format_version": EXPORT_FORMAT_VERSION,
        "kind": "role_change",
        "id": str(ident),
        "guild_id": _sid(gid),
        "created_at": _time(created),
        "member_id": _sid(member),
        "member_name": lookup("user", member) if member is not None else None,
        "role_id": _sid(role),
        "role_name": lookup("role", role) if role is not None else None,
        "op": op,
        "reason": reason,
        "requested_by": _sid(requested_by),
        "requested_by_name": lookup("user", requested_by) if requested_by is not None else None,
        "source": source,
        "decision_id": _sid(decision_id),
        "state": state,
        "updated_at": _time(updated),
        "next_attempt_at": _time(next_attempt),
        "deadline_at": _time(deadline),
        "attempts": attempts,
        "observed_at": _time(observed),
        "error": error,
        "linked_entry_id": _sid(linked),
        "message_id": _sid(message_id),
        "cancelled_by": _sid(cancelled_by),
        "message_state": message_state,
        "message_error": message_error,
    }


def gap_record(row: tuple[Any, ...]) -> dict[str, Any]:
    """The record of one gap marker (a row of :data:`GAP_COLUMNS`)."""
    (ident, gid, reason, from_id, started, detected, ended, status, recovered, refreshed, beyond, error) = row
    return {
        "format_version": EXPORT_FORMAT_VERSION,
        "kind": "gap",
        "id": str(ident),
        "guild_id": _sid(gid),
        "created_at": _time(to_ms(ident)),
        "reason": reason,
        "from_id": _sid(from_id),
        "started_at": _time(started),
        "detected_at": _time(detected),
        "ended_at": _time(ended),
        "status": status,
        "recovered": recovered,
        "refreshed": refreshed,
        "beyond_retention_ms": beyond,
        "error": error,
    }


# -- JSON ---------------------------------------------------------------------------------------

# UTF-8 byte patterns of what escape_json rewrites. orjson only emits non-ASCII (and DEL) inside
# strings, so replacing them with \uXXXX keeps the document valid and the values identical.
_UNSAFE_JSON: Final = re.compile(
    rb"\x7f"
    rb"|\xc2[\x80-\x9f\xad]"  # C1 controls, SOFT HYPHEN
    rb"|\xd8\x9c"  # U+061C ARABIC LETTER MARK
    rb"|\xe1\xa0\x8e"  # U+180E MONGOLIAN VOWEL SEPARATOR
    rb"|\xe2\x80[\x8b-\x8f\xa8-\xae]"  # U+200B–200F zero-width, LRM, RLM; U+2028–202E
    rb"|\xe2\x81[\xa0-\xaf]"  # U+2060–206F word joiner, invisible operators, isolates
    rb"|\xef\xbb\xbf"  # U+FEFF
    rb"|\xef\xbf[\xb9-\xbb]"  # U+FFF9–FFFB interlinear annotations
)


def _escape_match(m: re.Match[bytes]) -> bytes:
    return b"\\u%04x" % ord(m.group().decode("utf-8"))


def escape_json(data: bytes) -> bytes:
    """orjson output with invisible and terminal-active characters as ``\\uXXXX`` escapes."""
    if data.isascii():
        return data.replace(b"\x7f", b"\\u007f") if b"\x7f" in data else data
    return _UNSAFE_JSON.sub(_escape_match, data)


# Records only ever hold string keys (decoded JSON and our own dicts), so orjson's fast path is
# tried first: OPT_NON_STR_KEYS makes every dump several times slower, enough to be most of an
# export's time (docs/performance.md, E1). A non-string key (never seen) falls back to it, so the
# output is the same either way.
_NON_STR: Final = orjson.OPT_NON_STR_KEYS


def _raw_dumps(value: Any, option: int = 0) -> bytes:
    try:
        return orjson.dumps(value, option=option)
    except TypeError:
        return orjson.dumps(value, option=option | _NON_STR)


def dumps(value: Any) -> bytes:
    """Compact JSON bytes, escaped by :func:`escape_json`."""
    return escape_json(_raw_dumps(value))


def json_line(record: Mapping[str, Any]) -> bytes:
    """One JSON Lines line (with its ``\\n``)."""
    return escape_json(_raw_dumps(record, orjson.OPT_APPEND_NEWLINE))


# -- CSV ----------------------------------------------------------------------------------------

_OVERWRITE_FIELDS: Final = (
    "id",
    "type",
    "allow_added",
    "allow_removed",
    "deny_added",
    "deny_removed",
    "allow_unknown_bits_added",
    "allow_unknown_bits_removed",
    "deny_unknown_bits_added",
    "deny_unknown_bits_removed",
)

_SCALARS: Final = (
    "format_version",
    "kind",
    "id",
    "guild_id",
    "action_type",
    "action",
    "category",
    "actor_id",
    "actor_name",
    "target_id",
    "target_name",
    "reason",
    "created_at",
    "received_at",
    "source",
    "revision",
    "summary",
)

#: The CSV header, fixed for a format version. Empty cells mean "null" or "does not apply".
CSV_COLUMNS: Final[tuple[str, ...]] = (
    *_SCALARS,
    "changes",
    "options",
    "permissions_added",
    "permissions_removed",
    "permissions_unknown_bits_added",
    "permissions_unknown_bits_removed",
    *(f"overwrite_{f}" for f in _OVERWRITE_FIELDS),
    "overwrites",
    "roles_added",
    "roles_removed",
    *(
        EXTRA_COLUMNS := (
            # Decisions, role changes and gaps (appended, so the audit columns keep their places).
            "actor_roles",
            "actor_admin",
            "actor_owner",
            "capability",
            "resource_type",
            "resource_id",
            "result",
            "reason_code",
            "path",
            "policy_version",
            "member_id",
            "member_name",
            "role_id",
            "role_name",
            "op",
            "requested_by",
            "requested_by_name",
            "decision_id",
            "state",
            "updated_at",
            "next_attempt_at",
            "deadline_at",
            "attempts",
            "observed_at",
            "error",
            "linked_entry_id",
            "message_id",
            "cancelled_by",
            "message_state",
            "message_error",
            "from_id",
            "started_at",
            "detected_at",
            "ended_at",
            "status",
            "recovered",
            "refreshed",
            "beyond_retention_ms",
        )
    ),
    # Every kind (version 2), last so that every other column keeps its place.
    "notes",
)

_FORMULA_TRIGGERS: Final = ("=", "+", "-", "@", "\t", "\r", "\0", "＝", "＋", "－", "＠")


def csv_cell(value: str) -> str:
    """The OWASP formula guard: a leading ``'`` on a cell a spreadsheet would evaluate.

    ``-5`` becomes ``'-5`` too (documented; see the module docstring).
    """
    return "'" + value if value.startswith(_FORMULA_TRIGGERS) else value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value.startswith(_FORMULA_TRIGGERS) else value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)  # ids and counts: never negative, never a formula
    return csv_cell(dumps(value).decode("utf-8"))


def _joined(values: list[Any] | None) -> str:
    if not values:
        return ""
    return csv_cell(" ".join(str(v) for v in values))


_EMPTY_PERMISSION_CELLS: Final = ("",) * 4
_EMPTY_OVERWRITE_CELLS: Final = ("",) * len(_OVERWRITE_FIELDS)


def csv_row(record: Mapping[str, Any]) -> list[str]:
    """One CSV row for a record, in :data:`CSV_COLUMNS` order, every cell formula-guarded."""
    get = record.get
    row = [_cell(get(name)) for name in _SCALARS]
    changes = get("changes")
    row.append(_cell(changes) if changes else "[]")
    row.append(_cell(get("options")))
    pd = get("permissions")
    if pd is None:
        row += _EMPTY_PERMISSION_CELLS
    else:
        row += (
            _joined(pd["added"]),
            _joined(pd["removed"]),
            _joined(pd["unknown_bits_added"]),
            _joined(pd["unknown_bits_removed"]),
        )
    ow = get("overwrite")
    if ow is None:
        row += _EMPTY_OVERWRITE_CELLS
    else:
        row.append(_cell(ow["id"]))
        row.append(_cell(ow["type"]))
        row += (_joined(ow[f]) for f in _OVERWRITE_FIELDS[2:])
    ows = get("overwrites")
    row.append("" if ows is None else _cell(ows))
    row.append(_joined(get("roles_added")))
    row.append(_joined(get("roles_removed")))
    row += _EMPTY_EXTRA_CELLS
    notes = get("notes")
    row.append(_cell(notes) if notes else "")
    return row


_EMPTY_EXTRA_CELLS: Final = ("",) * len(EXTRA_COLUMNS)
#: Columns a decision, role change or gap fills (the rest of its row is empty).
_OTHER_KIND_COLUMNS: Final = tuple(
    c
    for c in CSV_COLUMNS
    if c
    in (
        "format_version",
        "kind",
        "id",
        "guild_id",
        "actor_id",
        "actor_name",
        "reason",
        "created_at",
        "source",
    )
    or c in EXTRA_COLUMNS
)


def _other_cell(record: Mapping[str, Any], column: str) -> str:
    value = record.get(column)
    if column == "actor_roles":
        return _list_cell(value)
    if column == "notes":
        return _cell(value) if value else ""
    return _cell(value)


def _list_cell(value: Any) -> str:
    return _joined(value) if isinstance(value, list) and all(isinstance(v, str) for v in value) else _cell(value)


def any_csv_row(record: Mapping[str, Any]) -> list[str]:
    """One CSV row for a record of any kind (audit rows: :func:`csv_row`)."""
    if record.get("kind") == "audit":
        return csv_row(record)
    return [_other_cell(record, c) if c in _OTHER_KIND_COLUMNS or c == "notes" else "" for c in CSV_COLUMNS]
