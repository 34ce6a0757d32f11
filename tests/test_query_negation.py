"""The query language's exclusions: ``-field:value`` (NOT any of its values), ``-word`` /
``-"phrase"``, ``is:bot`` / ``-is:bot``; precedence (commas OR inside a field, fields AND, an
excluded field is NOT(any of its values)); written back as the same query; saved and restored;
completed; refused with the column of the bad term."""

from __future__ import annotations

from typing import Any

import pytest

from console.model.filters import Exclusions, Filter, narrow
from console.model.query import Parsed, QueryError, complete, format_filter, from_text_box, parse, text_box
from console.ui.session import filter_from_json, filter_to_json

BAN, KICK, TIMEOUT = 22, 20, 24  # MEMBER_BAN_ADD, MEMBER_KICK, MEMBER_UPDATE
NOW = 1_720_000_000_000
NAMES = {"carl-bot": [111], "alice": [222], "helpers": [333]}


def resolve(kind: str, text: str) -> list[int]:
    return NAMES.get(text.lower(), [])


def _set(*values: Any) -> frozenset[Any]:
    return frozenset(values)


# query → (the filter's kept fields, its exclusions), each as the fields that differ from empty.
CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("-actor:Carl-bot", {}, {"actor_ids": _set(111)}),
    ("-category:automod", {}, {"categories": _set("automod")}),
    # Commas OR inside an excluded field: none of them.
    ("-action:MEMBER_BAN_ADD,MEMBER_KICK", {}, {"actions": _set(BAN, KICK)}),
    # Repeated exclusions of one field add up.
    ("-actor:alice -actor:Carl-bot", {}, {"actor_ids": _set(111, 222)}),
    # Fields AND across, kept and excluded alike.
    (
        "actor:alice -category:automod,moderation",
        {"actor_ids": _set(222)},
        {"categories": _set("automod", "moderation")},
    ),
    # The same field kept and excluded: (A or B) and not B.
    ("action:MEMBER_BAN_ADD,MEMBER_KICK -action:MEMBER_KICK", {"actions": _set(BAN, KICK)}, {"actions": _set(KICK)}),
    ("-kind:gap,decision", {}, {"kinds": _set("gap", "decision")}),
    ("-decision:deny", {}, {"results": _set("DENY")}),
    ("-reason:no_grant", {}, {"reason_codes": _set("NO_GRANT")}),
    ("-capability:Roles.Grant", {}, {"capabilities": _set("roles.grant")}),
    ("-source:backfill,CLI", {}, {"sources": _set("backfill", "CLI")}),
    ("-state:failed", {}, {"states": _set("failed")}),
    ("-guild:42", {}, {"guild_ids": _set(42)}),
    ("-target:alice", {}, {"target_ids": _set(222)}),
    # Text: kept words AND, excluded terms each dropped; a phrase stays one term.
    ('-"welcome"', {}, {"text": '"welcome"'}),
    ('raid -"welcome aboard" -spam', {"text": "raid"}, {"text": '"welcome aboard" spam'}),
    ("-spam*", {}, {"text": "spam*"}),
    # A lone "-" is a word, not an exclusion of nothing.
    ("-", {"text": "-"}, {}),
    ("ACTION:MEMBER_KICK -Category:Role", {"actions": _set(KICK)}, {"categories": _set("role")}),
]


@pytest.mark.parametrize(("query", "kept", "dropped"), CASES, ids=[c[0] for c in CASES])
def test_exclusions_parse(query: str, kept: dict[str, Any], dropped: dict[str, Any]) -> None:
    parsed = parse(query, now_ms=NOW, resolve=resolve)
    assert parsed.filter == Filter(**kept, exclude=Exclusions(**dropped))
    # Written back and read again, the query means the same; so does the saved form.
    again = parse(format_filter(parsed.filter), now_ms=NOW, resolve=resolve).filter
    assert again == parsed.filter
    assert filter_from_json(filter_to_json(parsed.filter, NOW), NOW) == parsed.filter


def test_written_back_with_names_and_signs() -> None:
    flt = parse('kind:audit -action:MEMBER_KICK -actor:222 -"welcome aboard" raid', now_ms=NOW).filter
    names = {("user", 222): "alice"}
    assert format_filter(flt, lambda kind, i: names.get((kind, i))) == (
        'kind:audit raid -action:MEMBER_KICK -actor:alice -"welcome aboard"'
    )


@pytest.mark.parametrize(
    ("query", "bots", "excluded_roles"),
    [
        ("is:bot", True, frozenset()),
        ("-is:bot", False, frozenset()),
        ("IS:BOT action:MEMBER_KICK", True, frozenset()),
        ("-role:helpers", None, frozenset({333})),
    ],
)
def test_bots_and_roles_are_left_to_the_caller(query: str, bots: bool | None, excluded_roles: frozenset[int]) -> None:
    parsed = parse(query, now_ms=NOW, resolve=resolve)
    assert parsed.bots is bots
    assert parsed.excluded_role_ids == excluded_roles


def test_bots_resolve_to_actors_kept_or_dropped() -> None:
    bots = frozenset({111, 444})
    kept = parse("is:bot actor:carl-bot,alice", now_ms=NOW, resolve=resolve).with_people(frozenset(), bots)
    assert kept.actor_ids == {111}  # AND: an actor named and a bot
    dropped = parse("-is:bot -actor:alice -role:helpers", now_ms=NOW, resolve=resolve)
    flt = dropped.with_people(frozenset({555}), bots)
    assert flt.actor_ids == frozenset()
    assert flt.exclude.actor_ids == {111, 222, 444, 555}


def test_is_bot_with_no_bot_known_says_so() -> None:
    parsed = parse("raid is:bot", now_ms=NOW)
    with pytest.raises(QueryError, match="no bot accounts") as e:
        parsed.with_people(frozenset(), frozenset())
    assert e.value.column == 5


@pytest.mark.parametrize(
    ("query", "message", "column"),
    [
        ("raid -since:7d", "since: cannot be excluded", 5),
        ("-until:1d", "until: cannot be excluded", 0),
        ("-is:human", "is: 'human' is not one of bot", 0),
        ("x -category:nope", "category: 'nope' is not one of", 2),
        ("-actor:nobody", "actor: no known user named 'nobody'", 0),
        ("-colour:red", "unknown field 'colour'", 0),
        ("-action:", "action: needs a value", 0),
    ],
)
def test_bad_exclusions_point_at_the_term(query: str, message: str, column: int) -> None:
    with pytest.raises(QueryError, match=message) as e:
        parse(query, now_ms=NOW, resolve=resolve)
    assert e.value.column == column


def test_narrowing_keeps_both_exclusions() -> None:
    """The search bar's find and ``export --query`` AND a query with the filter: what either
    excludes stays excluded."""
    base = Filter(exclude=Exclusions(categories=_set("automod"), text="spam"))
    extra = parse("-actor:alice -welcome", now_ms=NOW, resolve=resolve).filter
    both = narrow(base, extra)
    assert both.exclude == Exclusions(categories=_set("automod"), actor_ids=_set(222), text="spam welcome")


@pytest.mark.parametrize(
    ("typed", "offered"),
    [
        ("-cat", ["-category:"]),
        ("raid -category:au", ["raid -category:automod"]),
        ("-action:MEMBER_KICK,MEMBER_BAN_A", ["-action:MEMBER_KICK,MEMBER_BAN_ADD"]),
        ("i", ["is:"]),
        ("-is:", ["-is:bot"]),
        ("-actor:Ca", ["-actor:Carl-bot"]),
    ],
)
def test_completion_covers_exclusions(typed: str, offered: list[str]) -> None:
    assert complete(typed, known_users=["Carl-bot", "alice"]) == offered


def test_an_empty_exclusion_is_no_exclusion() -> None:
    assert Filter().is_empty
    assert not Filter(exclude=Exclusions(text="x")).is_empty
    assert Parsed(Filter()).with_people(frozenset(), frozenset()) == Filter()


@pytest.mark.parametrize(
    ("box", "kept", "dropped"),
    [
        ('raid -spam -"welcome aboard" alt', "raid alt", 'spam "welcome aboard"'),
        ("-", "-", ""),
        ("a - b", "a - b", ""),
        ("", "", ""),
    ],
)
def test_the_sidebar_text_box_splits_and_joins_words(box: str, kept: str, dropped: str) -> None:
    assert from_text_box(box) == (kept, dropped)
    flt = Filter(text=kept, exclude=Exclusions(text=dropped))
    assert from_text_box(text_box(flt)) == (kept, dropped)
