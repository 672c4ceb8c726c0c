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
from tests.fixtures.hub import eventually
from tests.fixtures.sites import serve_in_thread


def _site() -> Starlette:
    async def graphql(request: Request) -> JSONResponse:
        return JSONResponse({"data": {"__typename": "Query"}})

    return Starlette(routes=[Route("/graphql", graphql, methods=["POST"])])


async def test_a_cancelled_waiter_leaves_the_shared_call_to_the_others() -> None:
    # The site is held until the test lets it answer: the overlap of the two callers is made on purpose,
    # not raced against a delay (on a loaded machine a 0.5 s delay can end before the second caller starts).
    site = Slow(_site())
    site.hold()
    with serve_in_thread(site) as url:
        client = SiteClient(timeout=30.0)
        try:
            first = asyncio.create_task(client.query("slow", url + "/graphql", "{ __typename }"))
            await eventually(lambda: client.sent == 1, "the first call sent")
            second = asyncio.create_task(client.query("slow", url + "/graphql", "{ __typename }"))
            for _ in range(10):  # let the second caller reach the shared call (no I/O before it waits)
                await asyncio.sleep(0)
            first.cancel()  # the first caller's own deadline passed
            await asyncio.sleep(0)
            site.release()
            answer = await second  # must not raise CancelledError
            assert answer.data == {"__typename": "Query"} and answer.errors == []
            assert first.cancelled()
            assert client.sent == 1  # still one request to the site
        finally:
            site.release()
            await client.close()


async def test_a_call_whose_every_waiter_left_is_cleaned_up() -> None:
    site = Slow(_site())
    site.hold()
    with serve_in_thread(site) as url:
        client = SiteClient(timeout=30.0)
        try:
            waiter = asyncio.create_task(client.query("slow", url + "/graphql", "{ __typename }"))
            await eventually(lambda: client.sent == 1, "the call sent")
            waiter.cancel()
            site.release()
            # the request finishes on its own; then nothing is left in flight
            await eventually(lambda: not client._in_flight, "the abandoned call finished")
            again = await client.query("slow", url + "/graphql", "{ __typename }")
            assert again.data == {"__typename": "Query"} and client.sent == 2
        finally:
            site.release()
            await client.close()
