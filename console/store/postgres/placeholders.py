"""SQL written with ``?`` placeholders (as the clauses shared with the SQLite store are, and the
whole-store walks' statements) turned into PostgreSQL's numbered ones."""

from __future__ import annotations


def numbered(sql: str) -> str:
    """``?`` placeholders as PostgreSQL's ``$1``, ``$2``… (never inside a quoted literal)."""
    out: list[str] = []
    n = 0
    quoted = False
    for ch in sql:
        if ch == "'":
            quoted = not quoted
        if ch == "?" and not quoted:
            n += 1
            out.append(f"${n}")
        else:
            out.append(ch)
    return "".join(out)
