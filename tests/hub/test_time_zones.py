"""Sites in different facility zones through one hub (issue 21): a site in Europe/London and one in
Europe/Paris over the same stored ISPyB wall times, whose instants interleave across both 2021
summer-time changes. The hub's newest-first merge, every page size's walk and the start-time filters
follow the true instants (tests/fixtures/time_zones.py works them out by hand), not the wall clocks.
"""

from __future__ import annotations

import datetime as dt
from contextlib import ExitStack

import pytest

from site_adapter.app import create_app
from site_adapter.backends.ispyb import IspybBackend
from tests.fixtures.sites import serve_in_thread
from tests.fixtures.time_zones import LONDON, PARIS, PROPOSAL, TRUE_INSTANTS

SITES = {"london": LONDON, "paris": PARIS}
QUERY = """
query($first: Int!, $after: String, $filter: DataCollectionFilter) {
  dataCollections(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { site localId startTime } }
  }
}"""


@pytest.fixture
async def zoned_hub(running_hub, tz_ispyb_dsn):
    with ExitStack() as stack:
        for name, zone in SITES.items():
            app = create_app(IspybBackend(tz_ispyb_dsn, pool_size=2, time_zone=zone), site=name)
            url = stack.enter_context(serve_in_thread(app))
            assert "errors" not in await running_hub.register(name, url)
        yield running_hub


def truth(after: dt.datetime | None = None, before: dt.datetime | None = None) -> list[tuple[str, str]]:
    """(site, localId) in the hub's documented order -- newest instant first, then higher local id, then
    site name (schema/cursors.py merge_key) -- of the summer-time collections within the bounds."""
    rows = [
        (instant, int(local_id), site)
        for site, zone in SITES.items()
        for local_id, instant in TRUE_INSTANTS[zone].items()
        if (after is None or instant >= after) and (before is None or instant < before)
    ]
    rows.sort(key=lambda r: (-r[0].timestamp(), -r[1], r[2]))
    return [(site, str(local_id)) for _, local_id, site in rows]


async def walk(hub, first: int, filter: dict) -> tuple[list[tuple[str, str]], list[dt.datetime], set[int]]:
    seen: list[tuple[str, str]] = []
    times: list[dt.datetime] = []
    totals: set[int] = set()
    after = None
    while True:
        body = await hub.query(QUERY, {"first": first, "after": after, "filter": filter})
        assert "errors" not in body, body
        page = body["data"]["dataCollections"]
        totals.add(page["totalCount"])
        for edge in page["edges"]:
            node = edge["node"]
            seen.append((node["site"], node["localId"]))
            times.append(dt.datetime.fromisoformat(node["startTime"]))
        if not page["pageInfo"]["hasNextPage"]:
            return seen, times, totals
        after = page["pageInfo"]["endCursor"]


@pytest.mark.parametrize("first", [1, 3, 16])
async def test_merged_order_is_the_order_of_the_true_instants(zoned_hub, first):
    seen, times, totals = await walk(zoned_hub, first, {"proposal": PROPOSAL})
    assert seen == truth()
    assert totals == {16}
    expected_times = {(s, i): TRUE_INSTANTS[SITES[s]][i] for s, i in seen}
    assert times == [expected_times[k] for k in seen]  # what each site serves is the true instant
    assert all(t.utcoffset() == dt.timedelta(0) for t in times)  # served in UTC, with its offset


@pytest.mark.parametrize(
    "after,before",
    [
        # The night of the March change, bounds in other offsets than the sites' own.
        ("2021-03-28T01:00:00+01:00", "2021-03-28T03:00:00+02:00"),  # 00:00Z to 01:00Z
        ("2021-03-28T00:30:00Z", "2021-03-28T01:30:01Z"),
        # The night of the October change: 00:30Z is London's first 01:30 and Paris's 02:30 (CEST).
        ("2021-10-31T01:30:00+01:00", "2021-10-31T03:30:00+01:00"),
        ("2021-10-30T22:30:00-01:00", None),
    ],
)
async def test_start_filters_compare_instants_across_zones(zoned_hub, after, before):
    bounds = {"startAfter": after, **({"startBefore": before} if before else {})}
    seen, _, totals = await walk(zoned_hub, 2, {"proposal": PROPOSAL, **bounds})
    want = truth(dt.datetime.fromisoformat(after), dt.datetime.fromisoformat(before) if before else None)
    assert want, "the bounds must select something for the test to mean anything"
    assert seen == want
    assert totals == {len(want)}
