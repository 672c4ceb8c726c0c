"""A GET never runs a mutation (GraphQL over HTTP, GET: 405), and the hub, a site and a LIMS say so with
the same status and body. The operation is found as execution finds it -- by parsing, with operationName --
not by the text's first word: a site once let `query A {...} mutation B {...}` with operationName B through.
"""

from __future__ import annotations

import httpx
import pytest

from mx_schema.view import selects_mutation
from site_adapter.app import create_app
from site_adapter.lims.app import create_lims_app
from site_adapter.lims.store import LimsStore

REFUSED = {"errors": [{"message": "mutations need POST", "extensions": {"code": "BAD_REQUEST"}}]}
TWO_OPERATIONS = "query A { __typename } mutation B { __typename }"
MUTATIONS = {
    "plain": {"query": "mutation { __typename }"},
    "after a comment": {"query": "# the comment comes first\nmutation M { __typename }"},
    "picked by operationName": {"query": TWO_OPERATIONS, "operationName": "B"},
}


@pytest.mark.parametrize(
    "query,operation,expected",
    [
        ("mutation { a }", None, True),
        ("  # c\n mutation M { a }", None, True),
        (TWO_OPERATIONS, "B", True),
        (TWO_OPERATIONS, "A", False),
        (TWO_OPERATIONS, None, False),  # no single operation: execution says so
        (TWO_OPERATIONS, "C", False),
        ("{ a }", None, False),
        ("subscription { a }", None, False),
        ("mutation {", None, False),  # does not parse: execution says so
        ("{ mutation }", None, False),
    ],
)
def test_the_operation_is_found_by_parsing(query, operation, expected):
    assert selects_mutation(query, operation) is expected


@pytest.fixture
async def site_and_lims(esrf_backend, lims_demo_dsn):
    store = LimsStore(lims_demo_dsn, min_size=1, max_size=2)
    await store.start()
    apps = {
        "site": create_app(esrf_backend, site="esrf", manage_backend=False),
        "lims": create_lims_app(store, name="lims", manage_store=False),
    }
    clients = {
        role: httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{role}.test")
        for role, app in apps.items()
    }
    try:
        yield clients
    finally:
        for client in clients.values():
            await client.aclose()
        await store.close()


@pytest.mark.parametrize("case", sorted(MUTATIONS))
async def test_site_and_lims_refuse_a_get_mutation_alike(site_and_lims, case):
    answers = {role: await c.get("/graphql", params=MUTATIONS[case]) for role, c in site_and_lims.items()}
    for role, r in answers.items():
        assert (r.status_code, r.json()) == (405, REFUSED), (role, r.text)


async def test_the_hub_refuses_them_too(running_hub):
    for case, params in MUTATIONS.items():
        r = await running_hub.http.get("/graphql", params=params)
        assert (r.status_code, r.json()) == (405, REFUSED), (case, r.text)


async def test_a_get_that_picks_the_query_of_a_mixed_document_is_not_refused(site_and_lims):
    # Neither schema has mutations, so validation refuses the document; but execution, not the GET rule,
    # answers: a query picked by operationName may be sent by GET.
    for role, c in site_and_lims.items():
        r = await c.get("/graphql", params={"query": TWO_OPERATIONS, "operationName": "A"})
        assert r.status_code == 200, (role, r.text)
        assert r.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED", (role, r.text)
        assert "mutation" in r.json()["errors"][0]["message"].lower(), (role, r.text)
