"""The framework-neutral GraphQL-over-HTTP view (mx_schema.view) with a plain request object and a
graphql-core schema: no web framework, no network. What a third caller (the hub) gets by subclassing it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from graphql import build_schema, graphql

from mx_schema import graphiql, http
from mx_schema.view import GraphQLHttp, Outcome, Refused

SCHEMA = build_schema("type Query { hello: String! } type Mutation { bump: Int! }")
ROOT = {"hello": "world", "bump": 1}


@dataclass
class PlainRequest:
    method: str
    headers: dict[str, str] = field(default_factory=dict)
    query_params: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    async def stream(self) -> AsyncIterator[bytes]:
        yield self.body


class Endpoint(GraphQLHttp):
    def __init__(self) -> None:
        super().__init__(graphiql_title="GraphiQL · test")
        self.audited: list[str] = []

    async def admit(self, request: Any) -> str:
        if "x-deny" in request.headers:
            raise Refused(429, "too many requests", {"code": "RATE_LIMITED"}, {"retry-after": "3"})
        return request.headers.get("x-user", "anonymous")

    async def execute(self, request: Any, gql: http.GraphQLRequest, scope: Any) -> Outcome:
        result = await graphql(SCHEMA, gql.query, ROOT, None, gql.variables, gql.operation_name)
        return Outcome(result.data, result.errors or (), {"who": scope}, extensions={"who": scope})

    def audit(self, request: Any, gql: http.GraphQLRequest, scope: Any, outcome: Outcome) -> None:
        self.audited.append(f"{scope}:{gql.operation_name}")


def post(query: str) -> PlainRequest:
    return PlainRequest(
        "POST", {"content-type": "application/json"}, body=json.dumps({"query": query}).encode()
    )


async def test_a_query_runs_with_the_hooks_extensions_and_audit():
    view = Endpoint()
    request = PlainRequest(
        "POST", {"content-type": "application/json", "x-user": "alice"}, body=b'{"query": "{ hello }"}'
    )
    answer = await view.handle(request)
    assert (answer.status, answer.media_type) == (200, http.JSON)
    assert json.loads(answer.body) == {"data": {"hello": "world"}, "extensions": {"who": "alice"}}
    assert view.audited == ["alice:None"]


async def test_errors_carry_the_hook_extensions_and_request_errors_no_data():
    accept = {"accept": http.GRAPHQL_RESPONSE, "content-type": "application/json"}
    answer = await Endpoint().handle(PlainRequest("POST", accept, body=b'{"query": "{ nope }"}'))
    body = json.loads(answer.body)
    assert answer.status == 400 and answer.media_type == http.GRAPHQL_RESPONSE and "data" not in body
    assert body["errors"][0]["extensions"] == {"code": "GRAPHQL_VALIDATION_FAILED", "who": "anonymous"}


async def test_a_refusal_from_a_hook_is_its_status_body_and_headers():
    answer = await Endpoint().handle(PlainRequest("GET", {"x-deny": "1"}, {"query": "{ hello }"}))
    assert (answer.status, dict(answer.headers)) == (429, {"retry-after": "3"})
    assert json.loads(answer.body) == {
        "errors": [{"message": "too many requests", "extensions": {"code": "RATE_LIMITED"}}]
    }


async def test_get_mutations_are_405_and_post_mutations_run():
    view = Endpoint()
    answer = await view.handle(
        PlainRequest("GET", {}, {"query": "query Q { hello } mutation M { bump }", "operationName": "M"})
    )
    assert answer.status == 405 and view.audited == []
    answer = await view.handle(
        PlainRequest("GET", {}, {"query": "query Q { hello } mutation M { bump }", "operationName": "Q"})
    )
    assert answer.status == 200 and json.loads(answer.body)["data"] == {"hello": "world"}
    answer = await view.handle(post("mutation { bump }"))
    assert answer.status == 200 and json.loads(answer.body)["data"] == {"bump": 1}


async def test_bodies_past_the_limit_and_odd_media_types_are_refused():
    huge = PlainRequest("POST", {"content-length": str(http.MAX_BODY_BYTES + 1)}, body=b"")
    assert (await Endpoint().handle(huge)).status == 413
    xml = PlainRequest("POST", {"content-type": "application/xml"}, body=b"<q/>")
    assert (await Endpoint().handle(xml)).status == 415
    assert (await Endpoint().handle(PlainRequest("PUT"))).status == 405


async def test_a_browser_gets_graphiql():
    answer = await Endpoint().handle(PlainRequest("GET", {"accept": "text/html"}))
    assert answer.status == 200 and answer.media_type == "text/html"
    assert answer.headers["content-security-policy"] == graphiql.CONTENT_SECURITY_POLICY
    assert "GraphiQL · test" in answer.body.decode()
