"""Full text on PostgreSQL with the SQLite store's semantics: the ``tsvector`` of an entry and the
``tsquery`` of the query language's text are written here from FTS5's own tokens
(``console/store/fts_tokens.py``), never by PostgreSQL's parser, so the same query finds the same
entries on both backends (docs/postgresql.md says where they still differ: limits of ``tsvector``).

A document is the entry's three columns (reason, names, changes) in one ``tsvector``; each column
starts one position after the last one's end, so a phrase never runs from one column into the
next (FTS5 matches a phrase within one column). Both are handed to PostgreSQL as text and cast
(``$1::tsvector``, ``$1::tsquery``): no configuration, locale or dictionary takes part."""

from __future__ import annotations

from typing import Final

from console.model.filters import text_terms
from console.store.fts_tokens import tokens
from console.store.queries import Marks

#: PostgreSQL refuses lexemes of 2,048 bytes or more: longer tokens are cut (in documents and
#: queries alike, so they still find each other).
MAX_TOKEN_BYTES: Final = 2000

#: What :func:`tsquery` returns for text that can match nothing (a term with no token in it, as
#: ``"!!!"``: FTS5 matches nothing then).
NOTHING: Final = ""


#: token → its lexeme's text: the same words come back in entry after entry, and writing a
#: document was a third of the Python time of an ingest. Bounded: words of at most 40 characters,
#: cleared when full (a few MB at most).
_lexemes: dict[str, str] = {}
_LEXEMES_KEPT: Final = 50_000


def _lexeme(token: str) -> str:
    found = _lexemes.get(token)
    if found is None:
        found = _quoted(token)
        if len(token) <= 40:
            if len(_lexemes) >= _LEXEMES_KEPT:
                _lexemes.clear()
            _lexemes[token] = found
    return found


def _quoted(token: str) -> str:
    raw = token.encode()
    if len(raw) > MAX_TOKEN_BYTES:
        token = raw[:MAX_TOKEN_BYTES].decode(errors="ignore")
    # Tokens are letters and digits; quotes and backslashes are escaped all the same.
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


def document(*columns: str) -> str:
    """The ``tsvector`` text of an entry's full-text columns (reason, names, changes)."""
    positions: dict[str, list[int]] = {}
    at = 0
    for text in columns:
        at += 1  # a hole between columns
        for token in tokens(text):
            at += 1
            positions.setdefault(_lexeme(token), []).append(at)
    return " ".join(f"{lex}:{','.join(map(str, at_))}" for lex, at_ in positions.items())


def _term(term: str, prefix: bool) -> str | None:
    """One term's ``tsquery``: a phrase's tokens adjacent (``<->``), ``prefix*`` on its last
    token; None when it has no token (it matches nothing)."""
    found = tokens(term)
    if not found:
        return None
    lexemes = [_lexeme(t) for t in found]
    if prefix:
        lexemes[-1] += ":*"
    return lexemes[0] if len(lexemes) == 1 else "(" + " <-> ".join(lexemes) + ")"


def tsquery(text: str) -> str | None:
    """The ``tsquery`` text for the query language's text: terms ANDed. None: no terms (no
    constraint); :data:`NOTHING`: a term without tokens, which matches nothing."""
    terms = [_term(term, prefix) for term, prefix in text_terms(text)]
    if not terms:
        return None
    if None in terms:
        return NOTHING
    return " & ".join(t for t in terms if t is not None)


#: What SQLite's case folding folds: ASCII letters only.
UPPER, LOWER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"
#: SQLite's LIKE, which ignores the case of ASCII letters only (ILIKE would ignore every case).
PG_LIKE: Final = f"translate({{col}}, '{UPPER}', '{LOWER}') LIKE translate(?, '{UPPER}', '{LOWER}') ESCAPE '\\'"


class TextMarks(Marks):
    """The shared clauses' placeholders on PostgreSQL (``?``, numbered once the statement is
    whole; :class:`~console.store.postgres.queries.PgMarks` numbers them as it goes), with its
    false, its LIKE and its full text."""

    false = "false"
    like = PG_LIKE

    def without_text(self, text: str) -> str | None:
        """Entries whose document matches none of the terms of ``text`` (terms ORed: a term
        without tokens matches nothing, so it drops nothing)."""
        terms = [t for t in (_term(term, prefix) for term, prefix in text_terms(text)) if t is not None]
        if not terms:
            return None
        query = self(" | ".join(terms))
        return (
            f"NOT EXISTS (SELECT 1 FROM audit_fts f WHERE f.entry_id = audit_entries.id AND f.doc @@ {query}::tsquery)"
        )
