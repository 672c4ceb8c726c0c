"""Hubs that scale out (issue 18, item 3): two hubs -- each its own app, uvicorn server, loop and pools --
on one registry database and one Redis behave as one hub: a caller's rate limit, the registered sites,
their health and an identical call in flight are shared. Without Redis (or with Redis gone) each hub
keeps its own state and still answers."""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import httpx

from mx_hub.shared_redis import RedisState
from tests.fixtures.faulty import Slow
from tests.fixtures.hub import eventually, serve_hub, start_site
from tests.fixtures.sites import serve_in_thread

COUNT = "{ dataCollections(first: 0) { totalCount } }"


async def _statuses(hubs, query: str = "{ __typename }") -> list[int]:
    """Send `query` alternately to each hub, one request at a time; the HTTP statuses in order."""
    statuses = []
    for i in range(6):
        hub = hubs[i % len(hubs)]
        r = await hub.http.post("/graphql", json={"query": query})
        statuses.append(r.status_code)
    return statuses


async def test_a_callers_rate_limit_holds_across_hubs(hub_dsn, redis_url):
    # 3 a minute: one token comes back every 20 s, far longer than six requests to loopback take.
    with (
        serve_hub(hub_dsn, rate_limit=3, redis_url=redis_url) as a,
        serve_hub(hub_dsn, rate_limit=3, redis_url=redis_url) as b,
    ):
        statuses = await _statuses([a, b])
        await a.http.aclose()
        await b.http.aclose()
    assert statuses.count(200) == 3, statuses
    assert statuses.count(429) == 3, statuses


async def test_without_redis_each_hub_has_its_own_limit(hub_dsn):
    # The reference for the test above: the same requests with nothing shared get the limit per hub.
    with serve_hub(hub_dsn, rate_limit=3) as a, serve_hub(hub_dsn, rate_limit=3) as b:
        statuses = await _statuses([a, b])
        await a.http.aclose()
        await b.http.aclose()
    assert statuses.count(200) == 6, statuses


async def test_a_site_registered_through_one_hub_is_served_by_the_other_at_once(
    hub_dsn, redis_url, esrf_demo_dsn
):
    with ExitStack() as stack:
        site = start_site(stack, esrf_demo_dsn, "esrf")
        a = stack.enter_context(serve_hub(hub_dsn, redis_url=redis_url))
        b = stack.enter_context(serve_hub(hub_dsn, redis_url=redis_url))
        assert (await b.query("{ sites { name } }"))["data"]["sites"] == []  # b has read the registry
        registered = await a.register("esrf", site + "/graphql")
        assert registered["data"]["registerSite"]["status"] == "up", registered
        # No wait, no retry: the very next request to the other hub sees the site and fans out to it.
        assert (await b.query("{ sites { name status } }"))["data"]["sites"] == [
            {"name": "esrf", "status": "up"}
        ]
        direct = httpx.post(site + "/graphql", json={"query": COUNT}, timeout=120).json()
        through_b = await b.query(COUNT)
        assert through_b["data"] == direct["data"], through_b
        assert direct["data"]["dataCollections"]["totalCount"] > 0
        await a.http.aclose()
        await b.http.aclose()


async def test_health_seen_by_one_hub_is_seen_by_the_other(hub_dsn, redis_url, esrf_demo_dsn):
    with ExitStack() as stack:
        site_stack = stack.enter_context(ExitStack())
        site = start_site(site_stack, esrf_demo_dsn, "esrf")
        # Only hub a checks health (every second); hub b never checks any site itself.
        a = stack.enter_context(serve_hub(hub_dsn, redis_url=redis_url, health_interval=1.0))
        b = stack.enter_context(serve_hub(hub_dsn, redis_url=redis_url))
        assert (await a.register("esrf", site + "/graphql"))["data"]["registerSite"]["status"] == "up"
        site_stack.close()  # the site stops
        seen: list[dict] = []

        async def poll_b() -> None:
            seen.append((await b.query("{ sites { name status lastError } }"))["data"]["sites"][0])

        loop = asyncio.get_running_loop()
        end = loop.time() + 120
        while not (seen and seen[-1]["status"] == "down") and loop.time() < end:
            await poll_b()
            await asyncio.sleep(0.1)
        assert seen[-1]["status"] == "down", seen[-1]
        assert "esrf" in seen[-1]["lastError"], seen[-1]
        await a.http.aclose()
        await b.http.aclose()


class _Counting:
    """An ASGI app that counts the GraphQL requests it receives (the wrapped site's own count)."""

    def __init__(self, app) -> None:
        self.app = app
        self.graphql = 0

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"] == "/graphql":
            self.graphql += 1
        await self.app(scope, receive, send)


async def test_an_identical_call_in_flight_is_sent_once_for_both_hubs(hub_dsn, redis_url, esrf_demo_dsn):
    from site_adapter.backends.native import NativeBackend
    from tests.fixtures.hub import create_site_app

    held = Slow(create_site_app(NativeBackend(esrf_demo_dsn, min_size=1, max_size=2), site="esrf"))
    counting = _Counting(held)  # counts a request when it arrives, before the site holds it
    with ExitStack() as stack:
        site = stack.enter_context(serve_in_thread(counting))
        a = stack.enter_context(serve_hub(hub_dsn, redis_url=redis_url))
        b = stack.enter_context(serve_hub(hub_dsn, redis_url=redis_url))
        assert (await a.register("esrf", site + "/graphql"))["data"]["registerSite"]["status"] == "up"
        before = counting.graphql
        held.hold()
        try:
            first = asyncio.create_task(a.query(COUNT))
            await eventually(lambda: counting.graphql == before + 1, "hub a's call reached the site")
            second = asyncio.create_task(b.query(COUNT))
            state_b = b.app.state.runtime.client.shared
            assert isinstance(state_b, RedisState)
            await eventually(lambda: state_b.waiting == 1, "hub b waits for hub a's call")
        finally:
            held.release()
        answers = await asyncio.gather(first, second)
        assert answers[0]["data"] == answers[1]["data"], answers
        assert answers[0]["data"]["dataCollections"]["totalCount"] > 0
        assert counting.graphql == before + 1  # one request reached the site for both hubs
        assert b.app.state.runtime.client.sent == 0
        await a.http.aclose()
        await b.http.aclose()


async def test_a_hub_whose_redis_is_gone_answers_from_its_own_state(hub_dsn, caplog):
    caplog.set_level(logging.WARNING, logger="mxhub.hub")
    # Port 9 (discard) on loopback: nothing listens, every connection is refused at once.
    with serve_hub(hub_dsn, rate_limit=2, redis_url="redis://127.0.0.1:9/0") as hub:
        body = await hub.query("{ sites { name } }")
        statuses = [
            (await hub.http.post("/graphql", json={"query": "{ __typename }"})).status_code for _ in range(2)
        ]
        await hub.http.aclose()
    assert body == {"data": {"sites": []}, "extensions": body["extensions"]}, body
    assert statuses == [200, 429]  # the limit still holds, from the hub's own buckets
    assert any("Redis" in r.getMessage() and "unavailable" in r.getMessage() for r in caplog.records)


@contextmanager
def _hub_process(dsn: str, *options: str) -> Iterator[str]:
    """`mxhub hub serve` as its own process on a free port; yields its base URL, terminates it after."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mxhub", "hub", "serve", "--dsn", dsn, "--port", "0", *options],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "MXHUB_HEALTH_INTERVAL": "0"},
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stderr], daemon=True).start()
    try:
        while True:  # bounded: each line waits at most 120 s, and the process prints a few at start
            line = lines.get(timeout=120)
            found = re.search(r"hub serving (http://\S+)/graphql", line)
            if found:
                yield found.group(1)
                return
    finally:
        proc.terminate()
        proc.wait(timeout=30)


async def test_two_hub_processes_from_the_command_line_share_a_rate_limit(hub_dsn, redis_url):
    # The same as the first test, through `mxhub hub serve --redis-url` in two real processes.
    options = ("--redis-url", redis_url, "--rate-limit", "3")
    with _hub_process(hub_dsn, *options) as a, _hub_process(hub_dsn, *options) as b:
        async with httpx.AsyncClient(timeout=60) as client:
            statuses = [
                (await client.post(url + "/graphql", json={"query": "{ __typename }"})).status_code
                for url in (a, b, a, b, a, b)
            ]
    assert statuses.count(200) == 3 and statuses.count(429) == 3, statuses
