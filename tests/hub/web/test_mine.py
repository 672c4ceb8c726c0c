"""“Mine” on the search page and `mine` through the hub: sites that enforce the access rule and trust the
hub, an API token for a proposal member and one for beamline staff; anonymous + mine is a clear error."""

from __future__ import annotations

import uuid
from contextlib import ExitStack

import asyncpg
import pytest

from mx_hub.app import create_app as create_hub_app
from mx_hub.settings import HubSettings
from tests.fixtures.hub import HUB_KEY_PEM, RunningHub, trusted_site_app
from tests.fixtures.postgres import create_database, drop_database
from tests.fixtures.sites import serve_in_thread
from tests.hub.web.conftest import ADMIN_TOKEN, OUTPUT, with_web_routes
from tests.hub.web.test_page import row_ids, settle, total_shown

IDS = """query($f: DataCollectionFilter, $after: String) { dataCollections(filter: $f, first: 500, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } edges { node { id session { proposal beamline } } } } }"""
PAGE = """query($f: DataCollectionFilter) { dataCollections(filter: $f, first: 25) { totalCount edges { node { id } } } }"""
ISSUE = """mutation($l: String!, $r: [String!]) { issueApiToken(login: $l, roles: $r) { token } }"""


class MineHub:
    def __init__(
        self, hub: RunningHub, member: str, member_token: str, staff_token: str, beamline: str
    ) -> None:
        self.hub, self.member, self.member_token, self.staff_token, self.beamline = (
            hub,
            member,
            member_token,
            staff_token,
            beamline,
        )

    @property
    def url(self) -> str:
        return self.hub.url


@pytest.fixture(scope="module")
async def mine_hub(pg_server_dsn, esrf_demo_dsn, diamond_demo_dsn):
    """A hub (page included) signing caller tokens with HUB_KEY over esrf and diamond enforcing the access
    rule, and API tokens for a member of an esrf proposal and for staff of one esrf beamline."""
    hub_db = f"mxhub_minehub_{uuid.uuid4().hex[:8]}"
    hub_dsn = await create_database(pg_server_dsn, hub_db)
    conn = await asyncpg.connect(esrf_demo_dsn)
    try:
        member = await conn.fetchval(
            "SELECT p.login FROM person p JOIN proposal_member pm ON pm.person_id = p.id"
            " ORDER BY pm.proposal_id DESC, p.id LIMIT 1"
        )
        beamline = await conn.fetchval(
            "SELECT lower(beamline) FROM session GROUP BY 1 ORDER BY count(*), 1 LIMIT 1"
        )
    finally:
        await conn.close()
    settings = HubSettings(
        site_timeout=10.0,
        soft_deadline=5.0,
        health_interval=0,
        admin_token=ADMIN_TOKEN,
        signing_key=HUB_KEY_PEM,
    )
    app = with_web_routes(create_hub_app(hub_dsn, settings))
    try:
        with ExitStack() as stack:
            hub = RunningHub(stack.enter_context(serve_in_thread(app)), app, hub_dsn)
            for name, dsn in (("esrf", esrf_demo_dsn), ("diamond", diamond_demo_dsn)):
                url = stack.enter_context(serve_in_thread(trusted_site_app(dsn, name)))
                assert "errors" not in await hub.register(name, url)
            member_token = (await hub.query(ISSUE, {"l": member, "r": []}, admin=True))["data"][
                "issueApiToken"
            ]["token"]
            staff_token = (
                await hub.query(ISSUE, {"l": "beamline-scientist", "r": [f"staff:{beamline}"]}, admin=True)
            )["data"]["issueApiToken"]["token"]
            yield MineHub(hub, member, member_token, staff_token, beamline)
            await hub.http.aclose()
    finally:
        await drop_database(pg_server_dsn, hub_db)


async def walk(hub: RunningHub, flt: dict, token: str | None) -> list[dict]:
    nodes, after = [], None
    while True:
        body = await hub.query(IDS, {"f": flt, "after": after}, token=token)
        assert "errors" not in body, body["errors"]
        conn = body["data"]["dataCollections"]
        nodes += [e["node"] for e in conn["edges"]]
        if not conn["pageInfo"]["hasNextPage"]:
            return nodes
        after = conn["pageInfo"]["endCursor"]


async def test_mine_through_the_hub_is_the_callers_own(mine_hub, esrf_demo_dsn):
    hub = mine_hub.hub
    conn = await asyncpg.connect(esrf_demo_dsn)
    try:
        proposals = {
            r["code"]
            for r in await conn.fetch(
                "SELECT po.code FROM proposal po JOIN proposal_member pm ON pm.proposal_id = po.id"
                " JOIN person p ON p.id = pm.person_id WHERE p.login = $1",
                mine_hub.member,
            )
        }
    finally:
        await conn.close()
    seen = await walk(hub, {}, mine_hub.member_token)
    mine = await walk(hub, {"mine": True}, mine_hub.member_token)
    assert mine and len(mine) < len(seen)
    assert {n["session"]["proposal"] for n in mine} <= proposals  # the demo has no session-only members
    assert {n["id"] for n in mine} == {n["id"] for n in seen if n["session"]["proposal"] in proposals}
    staff = await walk(hub, {"mine": True}, mine_hub.staff_token)
    assert staff and {n["session"]["beamline"].lower() for n in staff} == {mine_hub.beamline}
    # Anonymous: one clear error from the hub, no site asked.
    body = await hub.query(PAGE, {"f": {"mine": True}})
    assert body["data"] is None and len(body["errors"]) == 1
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "signed-in caller" in body["errors"][0]["message"] and body["extensions"]["sites"] == []


@pytest.fixture
async def mine_page(browser, mine_hub):
    OUTPUT.mkdir(exist_ok=True)
    context = await browser.new_context(base_url=mine_hub.url, viewport={"width": 1400, "height": 1000})
    tab = await context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    yield tab
    await context.close()
    assert not problems, problems


async def sign_in(page, token: str) -> None:
    await page.fill("#token", token)
    await page.press("#token", "Enter")
    await settle(page)


async def test_mine_with_a_token_shows_the_callers_own_collections(mine_page, mine_hub):
    page = mine_page
    await page.goto("/")
    await settle(page)
    await sign_in(page, mine_hub.member_token)
    everything = (await mine_hub.hub.query(PAGE, {"f": {}}, token=mine_hub.member_token))["data"][
        "dataCollections"
    ]
    assert total_shown(await page.inner_text("#pageinfo")) == everything["totalCount"]
    await page.check('input[name="scope"][value="mine"]')
    await settle(page, "scope=mine")
    want = (await mine_hub.hub.query(PAGE, {"f": {"mine": True}}, token=mine_hub.member_token))["data"][
        "dataCollections"
    ]
    assert 0 < want["totalCount"] < everything["totalCount"]
    assert total_shown(await page.inner_text("#pageinfo")) == want["totalCount"]
    assert await row_ids(page) == [e["node"]["id"] for e in want["edges"]]
    await page.screenshot(path=OUTPUT / "mine.png", full_page=True)
    # Another caller, the same address: staff see their beamline's collections.
    await page.click("#logout")
    await settle(page)
    await sign_in(page, mine_hub.staff_token)
    await settle(page, "scope=mine")
    staff = (await mine_hub.hub.query(PAGE, {"f": {"mine": True}}, token=mine_hub.staff_token))["data"][
        "dataCollections"
    ]
    assert await row_ids(page) == [e["node"]["id"] for e in staff["edges"]]


async def test_mine_without_a_token_says_a_token_is_needed(mine_page):
    page = mine_page
    await page.goto("/#/?scope=mine")
    await page.wait_for_selector('#status[data-state="error"]')
    assert "signed-in caller" in await page.inner_text("#status")
    assert await row_ids(page) == []
