"""De-duplicated site calls (issue 15): a waiter that gives up never cancels the call under the others.

Before, the first caller owned the request; when its deadline cancelled it, every other caller sharing
the request got CancelledError, which escaped as a plain-text HTTP 500 (73 of 3,000 in the probe).
"""

from __future__ import annotations

import asyncio

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mx_hub.client import SiteClient
from tests.fixtures.faulty import Slow
from tests.fixtures.sites import serve_in_thread


def _site() -> Starlette:
    async def graphql(request: Request) -> JSONResponse:
        return JSONResponse({"data": {"__typename": "Query"}})

    return Starlette(routes=[Route("/graphql", graphql, methods=["POST"])])


async def test_a_cancelled_waiter_leaves_the_shared_call_to_the_others() -> None:
    with serve_in_thread(Slow(_site(), delay=0.5)) as url:
        client = SiteClient(timeout=30.0)
        try:
            first = asyncio.create_task(client.query("slow", url + "/graphql", "{ __typename }"))
            await asyncio.sleep(0.05)
            second = asyncio.create_task(client.query("slow", url + "/graphql", "{ __typename }"))
            await asyncio.sleep(0.05)
            first.cancel()  # the first caller's own deadline passed
            answer = await second  # must not raise CancelledError
            assert answer.data == {"__typename": "Query"} and answer.errors == []
            assert first.cancelled()
            assert client.sent == 1  # still one request to the site
        finally:
            await client.close()


async def test_a_call_whose_every_waiter_left_is_cleaned_up() -> None:
    with serve_in_thread(Slow(_site(), delay=0.3)) as url:
        client = SiteClient(timeout=30.0)
        try:
            waiter = asyncio.create_task(client.query("slow", url + "/graphql", "{ __typename }"))
            await asyncio.sleep(0.05)
            waiter.cancel()
            for _ in range(200):  # the request finishes on its own; then nothing is left in flight
                if not client._in_flight:
                    break
                await asyncio.sleep(0.05)
            assert client._in_flight == {}
            again = await client.query("slow", url + "/graphql", "{ __typename }")
            assert again.data == {"__typename": "Query"} and client.sent == 2
        finally:
            await client.close()
