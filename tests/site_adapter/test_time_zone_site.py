"""A site in Europe/London over GraphQL (issue 21): DateTime values carry their offset (UTC), a bound
without an offset is read as UTC, cursors walk across a change; and `mxhub site serve --time-zone`
refuses a zone the IANA database does not know."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from click.testing import CliRunner

from mxhub.cli import main
from site_adapter.app import create_app
from tests.fixtures.sites import GraphQLClient
from tests.fixtures.time_zones import LONDON, PROPOSAL, TRUE_INSTANTS

Q = """query($f: DataCollectionFilter, $first: Int, $after: String) {
  dataCollections(filter: $f, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { localId startTime provenance { notes } } } } }"""


@pytest.fixture
async def london_gql(tz_sites):
    app = create_app(tz_sites[LONDON], site="london", manage_backend=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://london.test"
    ) as client:
        yield GraphQLClient(client)


def _order() -> list[str]:
    return [
        k for k, _ in sorted(TRUE_INSTANTS[LONDON].items(), key=lambda kv: (kv[1], int(kv[0])), reverse=True)
    ]


async def test_times_are_rfc3339_in_utc_and_the_walk_crosses_the_changes(london_gql):
    seen: list[dict] = []
    after = None
    while True:
        body = await london_gql(Q, {"f": {"proposal": PROPOSAL}, "first": 1, "after": after})
        conn = body["data"]["dataCollections"]
        seen += [e["node"] for e in conn["edges"]]
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert [n["localId"] for n in seen] == _order()
    assert all(n["startTime"].endswith("+00:00") for n in seen)
    assert {n["localId"]: dt.datetime.fromisoformat(n["startTime"]) for n in seen} == TRUE_INSTANTS[LONDON]
    noted = {n["localId"] for n in seen if any("startTime:" in x for x in n["provenance"]["notes"])}
    assert noted == {"990102", "990112"}  # the gap and the overlap


@pytest.mark.parametrize(
    "bound",
    ["2021-03-28T00:45:00", "2021-03-28T00:45:00Z", "2021-03-28T00:45:00+00:00", "2021-03-28T01:45:00+01:00"],
)
async def test_a_bound_without_an_offset_is_utc(london_gql, bound):
    body = await london_gql(Q, {"f": {"proposal": PROPOSAL, "startAfter": bound}, "first": 50})
    t = dt.datetime(2021, 3, 28, 0, 45, tzinfo=dt.UTC)
    want = [k for k in _order() if TRUE_INSTANTS[LONDON][k] >= t]
    assert [e["node"]["localId"] for e in body["data"]["dataCollections"]["edges"]] == want


async def test_the_site_states_its_zone(london_gql):
    body = await london_gql(
        "query($f: DataCollectionFilter) { siteInfo { timeZone }"
        " dataCollections(first: 2, filter: $f) { edges { node { provenance { timeZone } } } } }",
        {"f": {"proposal": PROPOSAL}},
    )
    assert body["data"]["siteInfo"]["timeZone"] == LONDON
    assert [e["node"]["provenance"]["timeZone"] for e in body["data"]["dataCollections"]["edges"]] == [
        LONDON
    ] * 2


def test_serve_refuses_an_unknown_time_zone():
    out = CliRunner().invoke(main, ["site", "serve", "--name", "x", "--time-zone", "Europe/Atlantis"])
    assert out.exit_code == 2 and "unknown time zone 'Europe/Atlantis'" in out.output
    out = CliRunner().invoke(
        main, ["site", "serve", "--name", "x"], env={"MXHUB_SITE_TIME_ZONE": "Mars/Olympus_Mons"}
    )
    assert out.exit_code == 2 and "Mars/Olympus_Mons" in out.output


def test_serve_help_names_the_option_and_its_variable():
    out = CliRunner().invoke(main, ["site", "serve", "--help"])
    assert out.exit_code == 0 and "--time-zone" in out.output and "MXHUB_SITE_TIME_ZONE" in out.output
