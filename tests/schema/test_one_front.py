"""One GraphQL-over-HTTP front (issue 15): the hub, a site and a LIMS refuse the same hostile requests
with the same status and error shape, never a 500.

Before, only the hub had query limits: directly at a site 60 aliases of dataCollections(first: 500)
took 25 s and 16 MB, a 400 MB chunked body reached 1 GB before its 413, and variables nested 1,500
deep raised RecursionError (HTTP 500) at hub and site.
"""

from __future__ import annotations

import httpx
import pytest

from mx_schema.http import MAX_BODY_BYTES, MAX_JSON_DEPTH
from mx_schema.limits import MAX_COST
from site_adapter.app import create_app
from site_adapter.lims.app import create_lims_app
from site_adapter.lims.store import LimsStore


@pytest.fixture(params=["hub", "site", "lims"])
async def front(request, esrf_backend, lims_demo_dsn, running_hub):
    if request.param == "hub":
        yield running_hub.http
        return
    if request.param == "site":
        app = create_app(esrf_backend, site="esrf", manage_backend=False)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://site.test"
        ) as c:
            yield c
        return
    store = LimsStore(lims_demo_dsn, min_size=1, max_size=2)
    await store.start()
    try:
        app = create_lims_app(store, name="lims", manage_store=False)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://lims.test"
        ) as c:
            yield c
    finally:
        await store.close()


def _code(response: httpx.Response) -> str:
    return response.json()["errors"][0]["extensions"]["code"]


async def test_deeply_nested_variables_are_a_400(front: httpx.AsyncClient) -> None:
    deep = "[" * 1500 + "]" * 1500
    body = '{"query": "{ __typename }", "variables": {"x": ' + deep + "}}"
    r = await front.post("/graphql", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text
    assert f"deeper than {MAX_JSON_DEPTH}" in r.json()["errors"][0]["message"]


async def test_a_streamed_body_past_the_limit_is_a_413(front: httpx.AsyncClient) -> None:
    async def chunks():
        for _ in range(MAX_BODY_BYTES // 65536 + 20):  # no content-length: chunked
            yield b" " * 65536

    r = await front.post("/graphql", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and "request body over" in r.text


async def test_aliases_depth_and_cost_are_bounded(front: httpx.AsyncClient) -> None:
    many = "{ " + " ".join(f"a{k}: __typename" for k in range(60)) + " }"
    r = await front.post("/graphql", json={"query": many})
    assert _code(r) == "TOO_MANY_ALIASES"
    deep = "{ __typename " + "".join("... on Query { " for _ in range(40)) + "__typename" + " }" * 40 + " }"
    assert (await front.post("/graphql", json={"query": deep})).status_code in (
        200,
        400,
    )  # fragments add no depth
    pages = "{ " + " ".join(f"p{k}: dataCollections(first: 500) {{ totalCount }}" for k in range(11)) + " }"
    r = await front.post("/graphql", json={"query": pages})
    codes = [e["extensions"]["code"] for e in r.json()["errors"]]
    # a LIMS has no dataCollections: validation says so, but the cost bound is measured all the same
    assert "QUERY_TOO_COSTLY" in codes, codes
    assert str(MAX_COST) in next(
        e["message"] for e in r.json()["errors"] if e["extensions"]["code"] == "QUERY_TOO_COSTLY"
    )
