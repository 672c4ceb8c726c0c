"""The sessions connection on every implementation: newest first (a missing start last, ties by local id,
then site), each page size walks every visible session once, the access rule applies as to collections,
and each listed session resolves through node(id:)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.contract.test_access import caller
from tests.fixtures.contract import ADMIN, ANONYMOUS, Implementation, Who, expected

SESSIONS = """query($f: SessionFilter, $first: Int, $after: String) {
  sessions(filter: $f, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id site localId visit proposal beamline } } } }"""


async def walk_sessions(
    impl: Implementation, size: int, who: Who, flt: dict[str, Any] | None = None
) -> tuple[list[tuple[str, str]], set[int], list[dict[str, Any]]]:
    seen: list[tuple[str, str]] = []
    totals: set[int] = set()
    nodes: list[dict[str, Any]] = []
    after = None
    while True:
        body = await impl.query(SESSIONS, {"f": flt, "first": size, "after": after}, who)
        assert "errors" not in body, body["errors"]
        conn = body["data"]["sessions"]
        totals.add(conn["totalCount"])
        assert len(conn["edges"]) <= size
        seen += [(e["node"]["site"], e["node"]["localId"]) for e in conn["edges"]]
        nodes += [e["node"] for e in conn["edges"]]
        if not conn["pageInfo"]["hasNextPage"]:
            return seen, totals, nodes
        after = conn["pageInfo"]["endCursor"]


@pytest.mark.parametrize("size", [1, 100])
async def test_sessions_walk_in_order_once_each(impl, size):
    want = expected(impl.sessions, ADMIN)
    seen, totals, nodes = await walk_sessions(impl, size, ADMIN)
    assert seen == [s.key for s in want]
    assert totals == {len(want)}
    for node, fact in zip(nodes, want, strict=True):
        assert node["visit"].lower() == fact.visit.lower()
        assert node["proposal"].lower() == fact.proposal.lower()
        assert (node["beamline"] or "").lower() == (fact.beamline or "").lower()


@pytest.mark.parametrize("label", ["anonymous", "member", "staff"])
async def test_sessions_obey_the_access_rule(impl, label):
    who = ANONYMOUS if label == "anonymous" else caller(impl.facts, label)
    want = [s.key for s in expected(impl.sessions, who)]
    seen, totals, _ = await walk_sessions(impl, 100, who)
    assert seen == want and totals == {len(want)}


async def test_session_filter_by_beamline(impl):
    beamline = sorted({s.beamline for s in impl.sessions if s.beamline})[0]
    want = [
        s.key
        for s in expected(impl.sessions, ADMIN, lambda s: (s.beamline or "").lower() == beamline.lower())
    ]
    seen, totals, _ = await walk_sessions(impl, 2, ADMIN, {"beamline": beamline.upper()})
    assert seen == want and totals == {len(want)} and want


async def test_every_listed_session_resolves_through_node(impl):
    _, _, nodes = await walk_sessions(impl, 100, ADMIN)
    for node in nodes:
        body = await impl.query(
            "query($id: ID!) { node(id: $id) { __typename ... on Session { id site localId visit } } }",
            {"id": node["id"]},
            ADMIN,
        )
        assert "errors" not in body, body
        got = body["data"]["node"]
        assert got["__typename"] == "Session"
        assert (got["id"], got["site"], got["localId"], got["visit"]) == (
            node["id"],
            node["site"],
            node["localId"],
            node["visit"],
        )
