"""The hub's HTTP to sites (site_pools.py, issue 17): per-site keep-alive pools under the site client.

Real servers on loopback (uvicorn in a thread); the server side counts the TCP connections it accepted
and records what arrived, so reuse and the wire are checked from the site's side, not from ours.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mx_hub.client import SiteClient, SiteFailure
from mx_hub.registration import transport_cause
from mx_hub.site_pools import SitePools
from mx_hub.trust import HEADER, generate_key
from mx_schema.errors import SITE_ERROR, SITE_UNAVAILABLE
from tests.fixtures.sites import serve_in_thread


class Recorder:
    """An ASGI site that answers GraphQL-shaped JSON and records each request and each connection."""

    def __init__(self, status: int = 200, body: bytes | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.peers: set[tuple[str, int]] = set()  # (host, port) of every client connection seen

        async def graphql(request: Request) -> Any:
            raw = await request.body()
            self.requests.append({"headers": dict(request.headers), "body": raw})
            if request.client is not None:
                self.peers.add((request.client.host, request.client.port))
            if body is not None:
                return Response(body, status_code=status, media_type="text/plain")
            return JSONResponse({"data": {"echo": raw.decode()}}, status_code=status)

        self.app = Starlette(routes=[Route("/graphql", graphql, methods=["POST"])])

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


async def test_calls_to_one_site_reuse_one_connection() -> None:
    site = Recorder()
    with serve_in_thread(site) as url:
        pools = SitePools(max_connections=10, http2=False)
        try:
            for i in range(5):
                status, content = await pools.post(
                    url + "/graphql", f'{{"n":{i}}}'.encode(), {"content-type": "application/json"}, 10.0
                )
                assert status == 200
                assert content == f'{{"data":{{"echo":"{{\\"n\\":{i}}}"}}}}'.encode()
        finally:
            await pools.aclose()
    assert len(site.requests) == 5
    assert len(site.peers) == 1  # five sequential calls, one keep-alive connection
    first = site.requests[0]["headers"]
    assert first["host"] == url.removeprefix("http://")
    assert first["content-length"] == str(len(b'{"n":0}'))


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback on this machine")
async def test_an_ipv6_site_gets_its_host_header_in_brackets() -> None:
    site = Recorder()
    with serve_in_thread(site, host="::1") as url:
        assert url.startswith("http://[::1]:")
        pools = SitePools(max_connections=10, http2=False)
        try:
            status, _ = await pools.post(url + "/graphql", b"{}", {}, 10.0)
        finally:
            await pools.aclose()
    assert status == 200
    assert site.requests[0]["headers"]["host"] == url.removeprefix("http://")  # [::1]:port, as RFC 3986


async def test_each_site_has_its_own_pool() -> None:
    a, b = Recorder(), Recorder()
    with serve_in_thread(a) as url_a, serve_in_thread(b) as url_b:
        pools = SitePools(max_connections=10, http2=False)
        try:
            for _ in range(3):
                await pools.post(url_a + "/graphql", b"{}", {}, 10.0)
                await pools.post(url_b + "/graphql", b"{}", {}, 10.0)
            assert len(pools._pools) == 2
        finally:
            await pools.aclose()
    assert (len(a.requests), len(b.requests)) == (3, 3)
    assert len(a.peers) == 1 and len(b.peers) == 1


async def test_the_site_client_sends_json_and_the_signed_caller() -> None:
    site = Recorder()
    with serve_in_thread(site) as url:
        client = SiteClient(timeout=10.0, signing_key=generate_key(), headers={"x-extra": "kept"})
        try:
            answer = await client.query("alpha", url + "/graphql", "{ __typename }", {"a": 1})
        finally:
            await client.close()
    sent = site.requests[0]
    assert sent["headers"]["content-type"] == "application/json"
    assert sent["headers"]["x-extra"] == "kept"
    assert sent["headers"][HEADER.lower()].count(".") == 2  # a compact JWS
    assert answer.data == {"echo": sent["body"].decode()}
    assert b'"query":"{ __typename }"' in sent["body"] and b'"variables":{"a":1}' in sent["body"]


async def test_an_answer_that_is_not_json_names_the_status() -> None:
    with serve_in_thread(Recorder(status=502, body=b"bad gateway")) as url:
        client = SiteClient(timeout=10.0)
        try:
            with pytest.raises(SiteFailure) as failed:
                await client.query("alpha", url + "/graphql", "{ __typename }")
        finally:
            await client.close()
    assert failed.value.code == SITE_ERROR
    assert str(failed.value) == "site alpha answered HTTP 502 without JSON"


async def test_a_refused_connection_is_unavailable_and_says_why() -> None:
    with socket.socket() as s:  # a port nothing listens on: bound, never listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        client = SiteClient(timeout=5.0)
        try:
            with pytest.raises(SiteFailure) as failed:
                await client.query("alpha", f"http://127.0.0.1:{port}/graphql", "{ __typename }")
        finally:
            await client.close()
    assert failed.value.code == SITE_UNAVAILABLE
    assert str(failed.value) == "site alpha is unreachable (ConnectError)"
    code, reason = transport_cause(failed.value)
    assert code == SITE_UNAVAILABLE and "refused" in reason


async def test_a_url_that_is_not_http_is_unavailable() -> None:
    client = SiteClient(timeout=5.0)
    try:
        with pytest.raises(SiteFailure) as failed:
            await client.query("alpha", "ftp://127.0.0.1/graphql", "{ __typename }")
    finally:
        await client.close()
    assert failed.value.code == SITE_UNAVAILABLE
    assert str(failed.value) == "site alpha is unreachable (UnsupportedProtocol)"
