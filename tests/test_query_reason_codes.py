"""Every reason code a decision can carry is one the query language and the sidebar offer."""

import pytest

from console.model.filters import REASON_CODES
from console.model.query import QueryError, parse
from console.policy.explain import MEMBER_UNKNOWN


def test_member_unknown_can_be_filtered() -> None:
    parsed = parse("reason:member_unknown", now_ms=0)
    assert parsed.filter.reason_codes == frozenset({MEMBER_UNKNOWN})
    assert MEMBER_UNKNOWN in REASON_CODES


def test_an_unknown_reason_code_is_refused() -> None:
    with pytest.raises(QueryError):
        parse("reason:NOT_A_CODE", now_ms=0)
