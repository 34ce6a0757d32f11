"""What the detail drawer shows, as Rich renderables: pure functions, no widgets, no I/O.

Everything here is built from plain strings with explicit styles, never from markup. Every
untrusted string (names, reasons, change values, option values, role names, rule names,
statuses, topics, raw JSON) goes through :func:`console.model.sanitize.safe_text` first, so
Textual markup stays inert and terminal escapes, bidi and zero-width characters become visible.

``name_of(kind, id)`` (kind ``"user"``, ``"role"``, ``"channel"`` or ``"guild"``) returns a raw
cached name or None. ``styles`` maps theme-variable names (``action-<category>``,
``decision-allow``, ``decision-deny``, ``danger``, ``diff-added``, ``diff-removed``, ``muted``,
``gap``) to Rich style strings; missing or unparseable ones fall back to plain defaults.

One module per kind of record (``audit``, ``decision``, ``role_change``, ``gap``), the notes on
a record in ``notes``, the audit
entry's before/after table in ``changes`` with permission flags in ``flags``, the raw JSON in
``raw``, and what they all share in ``context``. The underscored names are the package's own;
:func:`render_record` is what the rest of the console calls.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from rich.console import RenderableType
from rich.text import Text

from console.model import entry as entries
from console.model.notes import Note
from console.model.records import Attempt, Decision, Gap, RoleChange
from console.model.stored import StoredEntry
from console.ui.details.audit import _render_audit
from console.ui.details.context import DEFAULT_STYLES, NameOf, _Ctx
from console.ui.details.decision import _render_decision
from console.ui.details.gap import _render_gap
from console.ui.details.notes import with_notes
from console.ui.details.raw import render_raw_json
from console.ui.details.role_change import _render_role_change

__all__ = ["DEFAULT_STYLES", "NameOf", "render_raw_json", "render_record"]


def render_record(
    record: object,
    *,
    name_of: NameOf,
    styles: Mapping[str, str],
    show_raw: bool = False,
    attempts: Sequence[Attempt] = (),
    now_ms: int | None = None,
    tz: dt.tzinfo | None = None,
    notes: Sequence[Note] = (),
) -> RenderableType:
    """The drawer's content for any record: an audit entry (stored or parsed), a decision,
    a role change (with its ``attempts``) or a gap; its current ``notes`` under its head line.

    ``now_ms`` turns times into "in 4s"/"3m ago" as well; without it nothing reads the clock.
    ``tz`` is the zone for the local times (None: the system's).
    """
    ctx = _Ctx(name_of, styles, now_ms, tz)
    if isinstance(record, StoredEntry | entries.AuditEntry):
        return with_notes(_render_audit(record, ctx, show_raw=show_raw), notes, ctx)
    if isinstance(record, Decision):
        return with_notes(_render_decision(record, ctx, show_raw=show_raw), notes, ctx)
    if isinstance(record, RoleChange):
        return with_notes(_render_role_change(record, ctx, attempts=attempts, show_raw=show_raw), notes, ctx)
    if isinstance(record, Gap):
        return _render_gap(record, ctx, show_raw=show_raw)
    return Text(f"Nothing to show for a {type(record).__name__}.", ctx.style("muted"))
