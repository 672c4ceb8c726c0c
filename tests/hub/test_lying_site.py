"""A site that lies about its records, served on loopback beside an honest one: the hub names it
(SITE_ERROR, extensions.site) and nulls what it lied about as GraphQL's null propagation says; nothing it
made up reaches the caller, and the honest site's records come through whole."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

import pytest

from site_adapter.app import create_app as create_site_app
from site_adapter.backends.native import NativeBackend
from tests.fixtures.sites import serve_in_thread

Lie = Callable[[dict[str, Any]], None]


class Lying:
    """Wraps a real site: registration and health checks pass through; the `data` of every query the hub
    forwards for a caller (HubFanOut, HubNode) goes through `lie` first. Set `lie` before a query."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.lie: Lie | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/graphql" or self.lie is None:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        request = b"".join(chunks)

        async def replay() -> dict[str, Any]:
            return {"type": "http.request", "body": request, "more_body": False}

        if b"HubFanOut" not in request and b"HubNode" not in request:
            await self.app(scope, replay, send)
            return
        start: dict[str, Any] = {}
        body: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            else:
                body.append(message.get("body", b""))

        await self.app(scope, replay, capture)
        answer = json.loads(b"".join(body))
        self.lie(answer["data"])
        out = json.dumps(answer).encode()
        headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
        await send({**start, "headers": [*headers, (b"content-length", str(len(out)).encode())]})
        await send({"type": "http.response.body", "body": out})


PAGE = """query($f: DataCollectionFilter) { dataCollections(filter: $f, first: 4) { totalCount
  edges { node { id site localId wavelength session { visit proposal } sample { __typename name } } } } }"""


@pytest.fixture
async def liar_and_honest(quiet_hub, demo_sites, esrf_demo_dsn):
    with ExitStack() as stack:
        liar = Lying(create_site_app(NativeBackend(esrf_demo_dsn, min_size=1, max_size=2), site="liar"))
        url = stack.enter_context(serve_in_thread(liar))
        assert "errors" not in await quiet_hub.register("liar", url)
        assert "errors" not in await quiet_hub.register("diamond", demo_sites["diamond"])
        yield quiet_hub, liar


def first_node(data: dict[str, Any]) -> dict[str, Any]:
    return data["dataCollections"]["edges"][0]["node"]


def site_errors(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in body.get("errors", []) if e["extensions"].get("code") == "SITE_ERROR"]


async def honest_answer(hub: Any, site: str) -> dict[str, Any]:
    body = await hub.query(PAGE, {"f": {"site": site}})
    assert "errors" not in body, body
    return body["data"]["dataCollections"]


async def test_a_string_in_a_float_is_nulled_and_the_site_named(liar_and_honest):
    hub, liar = liar_and_honest
    liar.lie = None
    truth = (await honest_answer(hub, "liar"))["edges"]
    diamond = (await honest_answer(hub, "diamond"))["edges"]
    liar.lie = lambda data: first_node(data).update(wavelength="fast")
    body = await hub.query(PAGE, {"f": {"site": "liar"}})
    nodes = [e["node"] for e in body["data"]["dataCollections"]["edges"]]
    assert nodes[0]["wavelength"] is None
    assert {**nodes[0], "wavelength": truth[0]["node"]["wavelength"]} == truth[0]["node"]
    assert nodes[1:] == [e["node"] for e in truth[1:]]
    (err,) = site_errors(body)
    assert err["extensions"]["site"] == "liar"
    assert err["path"] == ["dataCollections", "edges", 0, "node", "wavelength"]
    assert "fast" in err["message"] and "Float" in err["message"]
    # both sites at once: the honest site's records are all there, as it sent them
    both = await hub.query(PAGE)
    assert [e["extensions"]["site"] for e in site_errors(both)] == ["liar"]
    got = [e["node"] for e in both["data"]["dataCollections"]["edges"] if e["node"]["site"] == "diamond"]
    assert got == [e["node"] for e in diamond[: len(got)]]
    assert "fast" not in json.dumps(both["data"])


async def test_a_null_in_a_non_null_field_nulls_the_nearest_nullable_parent(liar_and_honest):
    hub, liar = liar_and_honest
    liar.lie = lambda data: first_node(data)["session"].update(visit=None)  # Session.visit is String!
    body = await hub.query(PAGE, {"f": {"site": "liar"}})
    node = first_node(body["data"])
    assert node["session"] is None and node["localId"]  # DataCollection.session is nullable: it stops there
    (err,) = site_errors(body)
    assert err["extensions"]["site"] == "liar"
    assert err["path"] == ["dataCollections", "edges", 0, "node", "session", "visit"]


async def test_a_null_in_the_records_own_non_null_field_propagates_to_the_root(liar_and_honest):
    hub, liar = liar_and_honest
    liar.lie = lambda data: first_node(data).update(localId=None)
    body = await hub.query(PAGE, {"f": {"site": "liar"}})
    # node, edge, the edge list and the connection are all non-null: the null reaches `data` (spec 6.4.4)
    assert body["data"] is None
    (err,) = site_errors(body)
    assert err["extensions"]["site"] == "liar"
    assert err["path"] == ["dataCollections", "edges", 0, "node", "localId"]


async def test_a_wrong_typename_is_named_and_nulled(liar_and_honest):
    hub, liar = liar_and_honest
    liar.lie = lambda data: first_node(data)["sample"].update(__typename="Protein")
    body = await hub.query(PAGE, {"f": {"site": "liar"}})
    assert first_node(body["data"])["sample"] is None
    (err,) = site_errors(body)
    assert err["path"] == ["dataCollections", "edges", 0, "node", "sample", "__typename"]
    assert err["extensions"]["site"] == "liar" and "Protein" in err["message"]


async def test_node_by_id_with_a_typename_that_is_no_node_is_nulled(liar_and_honest):
    hub, liar = liar_and_honest
    liar.lie = None
    gid = first_node({"dataCollections": await honest_answer(hub, "liar")})["id"]
    query = "query($id: ID!) { node(id: $id) { id ... on DataCollection { wavelength } } }"
    liar.lie = lambda data: data["node"].update(mxhub_typename="ShellStatistics")  # a type, but no Node
    body = await hub.query(query, {"id": gid})
    assert body["data"] == {"node": None}
    (err,) = site_errors(body)
    assert (
        err["path"] == ["node"]
        and err["extensions"]["site"] == "liar"
        and "ShellStatistics" in err["message"]
    )


async def test_what_a_site_lied_is_masked_when_it_carries_internals(liar_and_honest):
    hub, liar = liar_and_honest
    leak = ["postgresql://registry:hunter2@10.9.8.7/hub"]  # a list where a String! belongs, with secrets
    liar.lie = lambda data: first_node(data).update(localId=leak)
    r = await hub.http.post("/graphql", json={"query": PAGE, "variables": {"f": {"site": "liar"}}})
    body = r.json()
    assert body["data"] is None
    (err,) = site_errors(body)
    assert err["extensions"]["site"] == "liar" and err["extensions"]["correlationId"] in err["message"]
    for secret in ("hunter2", "10.9.8.7", "postgresql"):
        assert secret not in r.text
