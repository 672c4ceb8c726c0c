"""dataCollections(orderBy:) (issue 16, part 4), against every implementation: walking every page of every
ordering returns each visible record once, in the order of one list sorted from SQL on each site's
database (tests/fixtures/contract.py's oracles); missing values last in both directions; a cursor of
another ordering is an INVALID_CURSOR error."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from tests.contract.walk import codes
from tests.fixtures.contract import ANONYMOUS, Fact, Implementation, expected

PAGE = """query($f: DataCollectionFilter, $first: Int, $after: String, $o: DataCollectionOrder) {
  dataCollections(filter: $f, first: $first, after: $after, orderBy: $o) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { site localId bestProcessing { overall { resolutionHigh } } } } } }"""

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _micros(t: dt.datetime | None) -> int | None:
    return None if t is None else (t - _EPOCH) // dt.timedelta(microseconds=1)


# Each orderBy field and the Fact value it sorts by (from SQL: tests/fixtures/contract.py).
VALUES: dict[str, Callable[[Fact], Any]] = {
    "START_TIME": lambda f: _micros(f.start),
    "RESOLUTION": lambda f: f.best_resolution,
    "COMPLETENESS": lambda f: f.best_completeness,
    "CC_HALF": lambda f: f.best_cc_half,
    "I_OVER_SIGMA": lambda f: f.best_i_over_sigma,
}


def sorted_facts(facts: list[Fact], field: str, descending: bool) -> list[tuple[str, str]]:
    """The documented order (SDL DataCollectionOrder): the value, missing ones last in both directions;
    ties by local id in the same direction, then by site name ascending."""
    sign = -1 if descending else 1

    def key(f: Fact) -> tuple[Any, ...]:
        v = VALUES[field](f)
        return (v is None, 0 if v is None else sign * v, sign * int(f.local_id), f.site)

    return [f.key for f in sorted(facts, key=key)]


async def walk(impl: Implementation, order: dict[str, str], first: int) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    after = None
    for _ in range(10_000):
        body = await impl.query(PAGE, {"first": first, "after": after, "o": order}, ANONYMOUS)
        assert "errors" not in body, body["errors"]
        conn = body["data"]["dataCollections"]
        assert len(conn["edges"]) <= first
        seen += [(e["node"]["site"], e["node"]["localId"]) for e in conn["edges"]]
        if not conn["pageInfo"]["hasNextPage"]:
            return seen
        assert conn["edges"], "an empty page that says it has a next one"
        after = conn["pageInfo"]["endCursor"]
    raise AssertionError("the walk never ended")


@pytest.mark.parametrize("first", [1, 7, 100])
@pytest.mark.parametrize("direction", ["ASC", "DESC"])
@pytest.mark.parametrize("field", list(VALUES))
async def test_every_page_of_every_ordering_is_the_sorted_list(
    impl: Implementation, field: str, direction: str, first: int
) -> None:
    want = sorted_facts(expected(impl.facts, ANONYMOUS), field, direction == "DESC")
    got = await walk(impl, {"field": field, "direction": direction}, first)
    assert len(set(got)) == len(got), "a record served twice"
    assert got == want


@pytest.mark.parametrize("direction", ["ASC", "DESC"])
async def test_collections_without_a_best_result_come_last(impl: Implementation, direction: str) -> None:
    """Read back through bestProcessing: the served resolutions are in order, and the nulls at the end."""
    body = await impl.query(PAGE, {"first": 500, "o": {"field": "RESOLUTION", "direction": direction}})
    assert "errors" not in body, body["errors"]
    best = [e["node"]["bestProcessing"] for e in body["data"]["dataCollections"]["edges"]]
    values = [b["overall"]["resolutionHigh"] for b in best if b is not None]
    assert values == sorted(values, reverse=direction == "DESC")
    missing = [i for i, b in enumerate(best) if b is None]
    assert missing == list(range(len(best) - len(missing), len(best)))
    assert values, "no collection with a best result to order"


async def _cursor(impl: Implementation, order: dict[str, str] | None) -> str:
    body = await impl.query(PAGE, {"first": 2, "o": order})
    assert "errors" not in body, body["errors"]
    cursor: str = body["data"]["dataCollections"]["pageInfo"]["endCursor"]
    return cursor


@pytest.mark.parametrize(
    ("served", "asked"),
    [
        (None, {"field": "RESOLUTION", "direction": "ASC"}),
        ({"field": "RESOLUTION", "direction": "ASC"}, None),
        ({"field": "RESOLUTION", "direction": "ASC"}, {"field": "RESOLUTION", "direction": "DESC"}),
        ({"field": "CC_HALF", "direction": "DESC"}, {"field": "COMPLETENESS", "direction": "DESC"}),
    ],
)
async def test_a_cursor_of_another_ordering_is_an_invalid_cursor(
    impl: Implementation, served: dict[str, str] | None, asked: dict[str, str] | None
) -> None:
    after = await _cursor(impl, served)
    body = await impl.query(PAGE, {"first": 2, "after": after, "o": asked})
    assert codes(body) == ["INVALID_CURSOR"], body


async def test_the_default_order_spelled_out_keeps_todays_cursors(impl: Implementation) -> None:
    """orderBy {START_TIME, DESC} is today's order: its cursors and the ones without orderBy are the same."""
    plain = await _cursor(impl, None)
    spelled = await _cursor(impl, {"field": "START_TIME", "direction": "DESC"})
    assert plain == spelled


async def test_an_unknown_ordering_field_is_a_coded_error(impl: Implementation) -> None:
    literal = "{ dataCollections(orderBy: {field: BEAUTY}, first: 2) { totalCount } }"
    body = await impl.query(literal, {})
    assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"], body
    body = await impl.query(PAGE, {"first": 2, "o": {"field": "BEAUTY", "direction": "ASC"}})
    assert codes(body) and all(c in ("GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT") for c in codes(body)), (
        body
    )
