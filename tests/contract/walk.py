"""Reading connections page by page, for the contract suite: no expectations here, only the walking."""

from __future__ import annotations

from typing import Any

from tests.fixtures.contract import ANONYMOUS, Fact, Implementation, Who

PAGE = """query($f: DataCollectionFilter, $first: Int, $after: String) {
  dataCollections(filter: $f, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id site localId startTime } } } }"""


def codes(body: dict[str, Any]) -> list[str | None]:
    """The `extensions.code` of every error in an answer."""
    return [(e.get("extensions") or {}).get("code") for e in body.get("errors") or []]


def keys(facts: list[Fact]) -> list[tuple[str, str]]:
    return [f.key for f in facts]


async def page(
    impl: Implementation,
    flt: dict[str, Any] | None,
    first: int,
    after: str | None = None,
    caller: Who = ANONYMOUS,
) -> dict[str, Any]:
    body = await impl.query(PAGE, {"f": flt, "first": first, "after": after}, caller)
    assert "errors" not in body, body["errors"]
    if impl.kind == "hub":  # every site answered, so totalCount is the whole count (not a lower bound)
        assert body["extensions"]["totalCountComplete"] is True, body.get("extensions")
    return body["data"]["dataCollections"]  # type: ignore[no-any-return]


async def walk(
    impl: Implementation, flt: dict[str, Any] | None, first: int, caller: Who = ANONYMOUS
) -> tuple[list[tuple[str, str]], set[int], list[dict[str, Any]]]:
    """Every page of `flt` at page size `first`: (site, localId) in the order served, the totalCounts
    seen, and the nodes. Checks what holds of any page: no more than `first` edges, cursors present."""
    seen: list[tuple[str, str]] = []
    totals: set[int] = set()
    nodes: list[dict[str, Any]] = []
    after = None
    for _ in range(10_000):
        conn = await page(impl, flt, first, after, caller)
        totals.add(conn["totalCount"])
        assert len(conn["edges"]) <= first
        assert all(e["cursor"] for e in conn["edges"])
        seen += [(e["node"]["site"], e["node"]["localId"]) for e in conn["edges"]]
        nodes += [e["node"] for e in conn["edges"]]
        if not conn["pageInfo"]["hasNextPage"]:
            return seen, totals, nodes
        assert conn["edges"], "an empty page that says it has a next one"
        assert conn["pageInfo"]["endCursor"] == conn["edges"][-1]["cursor"]
        after = conn["pageInfo"]["endCursor"]
    raise AssertionError("the walk never ended")
