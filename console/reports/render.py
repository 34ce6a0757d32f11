"""A computed :class:`Report` as JSON (stable keys, ids as strings, ``format_version`` 1) and as
Markdown (tables a hostile name cannot break: sanitised, then every Markdown-active character
backslash-escaped). Separate from the computation so the TUI renders the same numbers."""

from __future__ import annotations

import re
from typing import Any

import orjson

from console.model.export_format import escape_json
from console.model.sanitize import safe_text
from console.model.times import iso_utc, minute_utc
from console.reports.compute import Person, Report

FORMAT_VERSION = 1
ALERTS_NOT_RECORDED = "alerts: not recorded by this store"
#: CommonMark lets a backslash escape any ASCII punctuation; these are the ones that can start
#: emphasis, links, HTML, code, or end a table cell.
_MD_ACTIVE = re.compile(r"([\\`*_{}\[\]()<>#|~!&])")


def _id(value: int | None) -> str | None:
    return None if value is None else str(value)


def _person(p: Person) -> dict[str, Any]:
    return {"id": _id(p.id), "name": p.name, "count": p.count}


def as_json(r: Report) -> dict[str, Any]:
    """The report as a JSON-able dict; keys are part of the format (version 1)."""
    return {
        "format": "audit-console-report",
        "format_version": FORMAT_VERSION,
        "generated_at": iso_utc(r.generated_ms),
        "since": iso_utc(r.since_ms),
        "until": iso_utc(r.until_ms),
        "guilds": [{"id": str(g), "name": r.guild_names.get(g)} for g in r.guild_ids],
        "totals": {
            "actions": r.actions_total,
            "decisions": r.decisions_total,
            "denials": r.denials_total,
            "role_changes": sum(r.role_changes_by_state.values()),
            "break_glass_sessions": len(r.break_glass_sessions),
            "alerts": r.alerts_total if r.alerts_recorded else None,
            "notes": r.notes_total,
        },
        "actions_by_moderator": [_person(p) for p in r.by_moderator],
        "inactive_staff": None if r.inactive is None else [{"id": _id(p.id), "name": p.name} for p in r.inactive],
        "actions_by_type": [{"action_type": t, "action": name, "count": n} for t, name, n in r.by_type],
        "denials_by_capability": [{"capability": c, "count": n} for c, n in r.denials_by_capability],
        "denials_by_person": [_person(p) for p in r.denials_by_person],
        "escalations": {
            "by_reason_code": dict(r.escalations),
            "by_person": [{**_person(p), "reason_code": code} for p, code in r.escalations_by_person],
            "break_glass_sessions": [
                {
                    "user_id": str(s["user_id"]),
                    "name": s["name"],
                    "guild_id": str(s["guild_id"]),
                    "started_at": iso_utc(s["started_at"]),
                    "expires_at": iso_utc(s["expires_at"]),
                    "ended_at": None if s["ended_at"] is None else iso_utc(s["ended_at"]),
                }
                for s in r.break_glass_sessions
            ],
        },
        "alerts": {
            "recorded": r.alerts_recorded,
            "by_rule": [{"rule": rule, "count": n} for rule, n in r.alerts_by_rule],
        },
        "role_changes": {"by_state": dict(r.role_changes_by_state), "by_op": dict(r.role_changes_by_op)},
        "notes": {
            "by_action": dict(r.notes_by_action),
            "by_person": [_person(p) for p in r.notes_by_person],
        },
    }


def to_json(r: Report) -> bytes:
    """Indented JSON with control, bidi and zero-width characters escaped (as exports do)."""
    return escape_json(orjson.dumps(as_json(r), option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE))


def md(text: object, limit: int = 80) -> str:
    """Untrusted text for a Markdown table cell: made inert for a terminal, then escaped."""
    return _MD_ACTIVE.sub(r"\\\1", safe_text(text, limit))


def _who(p: Person) -> str:
    if p.id is None:
        return "*(no actor)*"
    return md(p.name) if p.name else "*(unknown)*"


def _table(head: list[str], body: list[list[str]], empty: str) -> list[str]:
    if not body:
        return [empty, ""]
    aligns = ["---:" if h in ("count", "actions", "decisions", "type") else "---" for h in head]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(aligns) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return [*lines, ""]


_NOTE_ACTIONS = {"add": "added", "edit": "edited", "remove": "removed"}


def summary_line(r: Report) -> str:
    """One line of counts (the scheduled channel message and the TUI header use it)."""
    alerts = f"{r.alerts_total} alerts" if r.alerts_recorded else "alerts not recorded"
    inactive = "" if r.inactive is None else f", {len(r.inactive)} staff inactive"
    people = sum(1 for p in r.by_moderator if p.id is not None)
    return (
        f"{r.actions_total} actions by {people} {'person' if people == 1 else 'people'}{inactive}; "
        f"{r.decisions_total} decisions, {r.denials_total} denied; "
        f"{len(r.break_glass_sessions)} break-glass sessions, "
        f"{r.escalations['OVERRIDE_ALLOW'] + r.escalations['OVERRIDE_DENY']} override decisions; "
        f"{alerts}; {sum(r.role_changes_by_state.values())} role changes"
    )


def to_markdown(r: Report) -> str:
    guilds = ", ".join(f"{md(r.guild_names.get(g) or 'guild')} ({g})" for g in r.guild_ids) or "none"
    out = [
        f"# Audit report: {minute_utc(r.since_ms)} → {minute_utc(r.until_ms)} UTC",
        "",
        f"Guilds: {guilds}. Generated {minute_utc(r.generated_ms)} UTC.",
        "",
        f"**Summary:** {summary_line(r)}.",
        "",
    ]
    out += ["## Actions per moderator", ""]
    out += _table(
        ["moderator", "id", "actions"],
        [[_who(p), str(p.id or ""), str(p.count)] for p in r.by_moderator],
        "No actions in the period.",
    )
    out += ["### Inactive staff", ""]
    if r.inactive is None:
        out += ["Unknown: no stored guild state names the staff (it is kept by a connected console).", ""]
    else:
        out += _table(
            ["staff member", "id"], [[_who(p), str(p.id)] for p in r.inactive], "None: every staff member acted."
        )
    out += ["## Actions per type", ""]
    out += _table(
        ["action", "type", "count"],
        [[md(name), str(t), str(n)] for t, name, n in r.by_type],
        "No actions in the period.",
    )
    out += ["## Denials per capability", ""]
    out += _table(["capability", "count"], [[md(c), str(n)] for c, n in r.denials_by_capability], "No denials.")
    out += ["## Denials per person", ""]
    out += _table(
        ["person", "id", "count"], [[_who(p), str(p.id), str(p.count)] for p in r.denials_by_person], "No denials."
    )
    out += ["## Break-glass and overrides", ""]
    out += _table(["reason code", "decisions"], [[c, str(n)] for c, n in r.escalations.items()], "")
    out += _table(
        ["person", "id", "reason code", "count"],
        [[_who(p), str(p.id), code, str(p.count)] for p, code in r.escalations_by_person],
        "Nobody used break-glass or an override.",
    )
    out += _table(
        ["break-glass session", "id", "started", "until"],
        [
            [
                md(s["name"]) if s["name"] else "*(unknown)*",
                str(s["user_id"]),
                minute_utc(s["started_at"]),
                minute_utc(min(s["expires_at"], s["ended_at"] or s["expires_at"])),
            ]
            for s in r.break_glass_sessions
        ],
        "No break-glass sessions started.",
    )
    out += ["## Alerts", ""]
    if not r.alerts_recorded:
        out += [ALERTS_NOT_RECORDED[0].upper() + ALERTS_NOT_RECORDED[1:] + ".", ""]
    else:
        out += _table(["rule", "count"], [[md(rule), str(n)] for rule, n in r.alerts_by_rule], "No alerts raised.")
    out += ["## Role changes per final state", ""]
    out += _table(["state", "count"], [[s, str(n)] for s, n in r.role_changes_by_state.items()], "No role changes.")
    out += ["## Notes written", ""]
    out += _table(
        ["person", "id", "count"],
        [[_who(p), str(p.id), str(p.count)] for p in r.notes_by_person],
        "No notes written.",
    )
    if r.notes_total:
        out += [", ".join(f"{n} {_NOTE_ACTIONS[a]}" for a, n in r.notes_by_action.items()) + ".", ""]
    return "\n".join(out).rstrip("\n") + "\n"
