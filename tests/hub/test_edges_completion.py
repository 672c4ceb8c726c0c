"""Edges completed by the hub's own fast path (execution.py, issue 17) answer exactly what graphql-core's
completion answers: the same hub, the same query, once with the fast path and once without it.

Aliases, __typename, a field selected twice, @skip and @include, and a CONTRACT page of records.
"""

from __future__ import annotations

import pytest

from mx_hub.execution import HubExecutor
from mx_schema.examples import CONTRACT_QUERY
from mx_schema.ids import decode_id

EDGES = """query($skip: Boolean!, $more: Boolean!) {
  dataCollections(first: 25) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      __typename
      c: cursor
      cursor
      node { id }
      again: node { localId site }
      skipped: node @skip(if: $skip) { id }
      ... on DataCollectionEdge { node { site } }
      cursor @include(if: $more)
    }
  }
}"""


@pytest.fixture
async def two_sites(quiet_hub, demo_sites):
    for site, url in demo_sites.items():
        assert "errors" not in await quiet_hub.register(site, url)
    return quiet_hub


async def _both(hub, monkeypatch, query: str, variables: dict) -> tuple[dict, dict]:
    original, taken = HubExecutor._complete_local, []

    def counted(self, *args):
        done = original(self, *args)
        taken.append(done is not None)
        return done

    with monkeypatch.context() as m:
        m.setattr(HubExecutor, "_complete_local", counted)
        fast = await hub.query(query, variables)
    assert any(taken)  # the fast path did run (the comparison below is not of one path with itself)
    with monkeypatch.context() as m:
        m.setattr(HubExecutor, "_complete_local", lambda *args: None)  # graphql-core's way, every object
        slow = await hub.query(query, variables)
    for body in (fast, slow):
        body.pop("extensions", None)  # timings differ
    return fast, slow


@pytest.mark.parametrize("skip,more", [(True, False), (False, True)])
async def test_edges_answer_as_graphql_core_would(two_sites, monkeypatch, skip, more):
    fast, slow = await _both(two_sites, monkeypatch, EDGES, {"skip": skip, "more": more})
    assert "errors" not in fast
    assert fast == slow
    edges = fast["data"]["dataCollections"]["edges"]
    assert len(edges) == 25
    expected_keys = ["__typename", "c", "cursor", "node", "again"] + ([] if skip else ["skipped"])
    for edge in edges:
        assert list(edge) == expected_keys  # the selection's order, the skipped alias absent
        assert edge["__typename"] == "DataCollectionEdge"
        assert edge["c"] == edge["cursor"]
        gid = decode_id(edge["node"]["id"])  # the id names the site and the facility's id
        assert edge["node"]["site"] == gid.site == edge["again"]["site"]
        assert edge["again"]["localId"] == gid.local_id
        if not skip:
            assert edge["skipped"] == {"id": edge["node"]["id"]}


async def test_a_contract_page_answers_as_graphql_core_would(two_sites, monkeypatch):
    fast, slow = await _both(two_sites, monkeypatch, CONTRACT_QUERY, {"first": 60})
    assert "errors" not in fast
    assert fast == slow
    assert len(fast["data"]["dataCollections"]["edges"]) == 60
