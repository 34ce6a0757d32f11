"""Full text on PostgreSQL with the SQLite store's semantics (its FTS5 index, ``unicode61
remove_diacritics 2``, and the query language's ``fts_query``).

What FTS5 does, and how the same comes out here:

- A token is a run of letters and digits, lower-cased, diacritics removed; everything else
  separates. PostgreSQL's parser would keep ``discord-nitro.com`` or ``a@b.org`` whole, so the
  indexed text is first reduced to such runs (:data:`DOC_SQL`), and a query is cut the same way
  (:func:`tokens`), with one table of diacritics for both.
- Every word of the query must match (AND); ``word*`` matches a prefix; ``"two words"`` and a
  word that cuts into several tokens (``foo-bar``) are phrases. A phrase never spans two of the
  indexed columns (reason, names, changes): each column is indexed under its own weight (A, B,
  C) and a phrase must hold within one of them.
- A word with no token at all (``!!!``) matches nothing, as in FTS5.
"""

from __future__ import annotations

import re
from typing import Final

#: Letters FTS5's ``remove_diacritics 2`` folds, and what to (lower case; read off SQLite's own
#: tokenizer over U+00C0–U+024F, U+0370–U+04FF and U+1E00–U+1EFF).
_FOLD_FROM: Final = (
    "àáâãäåçèéêëìíîïñòóôõöùúûüýÿāăąćĉċčďēĕėęěĝğġģĥĩīĭįĵķĺļľńņňōŏőŕŗřśŝşšţťũūŭůűųŵŷźżžſơưǎǐǒǔǖǘǚǜǟ"
    "ǧǩǫǭǰǵǹǻȁȃȅȇȉȋȍȏȑȓȕȗșțȟȧȩȫȭȯȱȳςϐϑϕϖϰϱϵḁḃḅḇḉḋḍḏḑḓḕḗḙḛḝḟḡḣḥḧḩḫḭḯḱḳḵḷḹḻḽḿṁṃṅṇṉṋṍṏṑṓṕṗṙṛṝṟṡṣṥṧṩṫṭṯ"
    "ṱṳṵṷṹṻṽṿẁẃẅẇẉẋẍẏẑẓẕẖẗẘẙẛạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ"
)
_FOLD_TO: Final = (
    "aaaaaaceeeeiiiinooooouuuuyyaaaccccdeeeeegggghiiiijklllnnnooorrrssssttuuuuuuwyzzzsouaiouuuuua"
    "gkoojgnaaaeeiioorruusthaeooooyσβθφπκρεabbbcdddddeeeeefghhhhhiikkkllllmmmnnnnoooopprrrrsssssttt"
    "tuuuuuvvwwwwwxxyzzzhtwysaaaaaaaaaaaaeeeeeeeeiioooooooooooouuuuuuuyyyy"
)
_FOLD: Final = str.maketrans(_FOLD_FROM, _FOLD_TO)
_TOKEN: Final = re.compile(r"[^\W_]+")


def _norm_sql(column: str) -> str:
    folded = f"translate(lower(coalesce({column}, '')), '{_FOLD_FROM}', '{_FOLD_TO}')"
    return f"regexp_replace({folded}, '[^[:alnum:]]+', ' ', 'g')"


#: The ``audit_fts.doc`` expression: each column's tokens under its own weight.
DOC_SQL: Final = " || ".join(
    f"setweight(to_tsvector('simple', {_norm_sql(column)}), '{weight}')"
    for column, weight in (("reason", "A"), ("names", "B"), ("changes", "C"))
)


def tokens(text: str) -> list[str]:
    """``text`` cut into tokens as the index cuts what it holds."""
    return _TOKEN.findall(text.lower().translate(_FOLD))


def _phrase(words: list[str], prefix: bool) -> str:
    last = len(words) - 1
    if not last:
        return f"'{words[0]}'" + (":*" if prefix else "")
    # Within one column (weight) each: FTS5 never matches a phrase across columns.
    per_column = (
        " <-> ".join(f"'{w}':" + ("*" if prefix and i == last else "") + weight for i, w in enumerate(words))
        for weight in "ABC"
    )
    return "(" + " | ".join(f"({p})" for p in per_column) + ")"


def tsquery(text: str) -> str | None:
    """The user's search text as a ``tsquery`` (its text: cast it with ``::tsquery``), "" when a
    word of it can match nothing, None when it has no words (no condition)."""
    terms: list[str] = []
    for m in re.finditer(r'"([^"]*)"|(\S+)', text):
        phrase, word = m.group(1), m.group(2)
        if phrase is not None:
            if not phrase.strip():
                continue
            found, prefix = tokens(phrase), False
        else:
            prefix = word.endswith("*")
            word = word.rstrip("*").replace('"', "")
            if not word:
                continue
            found = tokens(word)
        if not found:
            return ""
        terms.append(_phrase(found, prefix))
    return " & ".join(terms) if terms else None
