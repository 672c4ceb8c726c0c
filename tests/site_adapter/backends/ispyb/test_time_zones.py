"""ISPyB sites in Europe/London and Europe/Paris over stored local wall times around the 2021 summer-time
changes (tests/fixtures/time_zones.py): the instants served, the provenance notes at the gap and the
overlap, filters with offsets, paging walks across the changes, and the embargo at a change."""

from __future__ import annotations

import datetime as dt

import pytest

from site_adapter import access
from site_adapter.access import EmbargoPolicy, Scope, Viewer
from site_adapter.backends.base import DataCollectionFilter, PageRequest, SessionFilter
from tests.fixtures.time_zones import (
    LONDON,
    MARCH_SESSION,
    NOTED,
    OCTOBER_SESSION,
    PARIS,
    PROPOSAL,
    SAMPLE,
    TRUE_INSTANTS,
)

ZONES = (LONDON, PARIS)


def _order(zone: str) -> list[str]:
    """The documented order (newest first, ties by local id descending) of the true instants."""
    return [
        k for k, _ in sorted(TRUE_INSTANTS[zone].items(), key=lambda kv: (kv[1], int(kv[0])), reverse=True)
    ]


async def _walk(backend, f: DataCollectionFilter, size: int) -> list[str]:
    seen: list[str] = []
    after = None
    for _ in range(100):
        page = await backend.data_collections(f, PageRequest(first=size, after=after))
        seen += [r.local_id for _, r in page.items]
        if not page.has_next_page:
            return seen
        after = page.items[-1][0]
    raise AssertionError("the walk did not end")


@pytest.mark.parametrize("zone", ZONES)
async def test_served_times_are_the_true_instants_with_notes_at_gap_and_overlap(tz_sites, zone):
    got = await tz_sites[zone].data_collections_by_id(list(TRUE_INSTANTS[zone]))
    assert {k: r.start_time for k, r in got.items()} == TRUE_INSTANTS[zone]
    assert all(r.start_time is not None and r.start_time.utcoffset() == dt.timedelta(0) for r in got.values())
    for k, r in got.items():
        notes = [n for n in r.provenance_notes if n.startswith(("startTime:", "endTime:"))]
        if k in NOTED[zone]:
            assert len(notes) == 2 and all(NOTED[zone][k] in n and zone in n for n in notes), notes
        else:
            assert notes == []


@pytest.mark.parametrize("zone", ZONES)
async def test_session_times_are_instants(tz_sites, zone):
    got = await tz_sites[zone].sessions_by_id([MARCH_SESSION, OCTOBER_SESSION])
    winter = dt.timedelta(hours=0 if zone == LONDON else 1)  # 2021-03-27 22:00 and 2021-10-30 22:00 local
    summer = winter + dt.timedelta(hours=1)
    assert got[MARCH_SESSION].start_time == dt.datetime(2021, 3, 27, 22, tzinfo=dt.UTC) - winter
    assert got[OCTOBER_SESSION].start_time == dt.datetime(2021, 10, 30, 22, tzinfo=dt.UTC) - summer


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("size", [1, 2, 3, 8])
@pytest.mark.parametrize("by", ["proposal", "sample"])  # two SQL paths: plain pages, sample-filtered pages
async def test_paging_across_the_changes_returns_every_record_once_in_instant_order(tz_sites, zone, size, by):
    f = (
        DataCollectionFilter(proposal=PROPOSAL)
        if by == "proposal"
        else DataCollectionFilter(sample_name=SAMPLE)
    )
    assert await _walk(tz_sites[zone], f, size) == _order(zone)


# Bounds in several offsets; each case's expected records are those whose true instant is in range.
BOUNDS = [
    ("2021-03-28T02:15:00+02:00", "2021-03-28T01:45:00+00:00"),  # 00:15Z .. 01:45Z, across the March change
    ("2021-03-28T01:00:00+00:00", "2021-03-28T03:00:00+01:00"),  # from the change itself
    ("2021-10-30T23:45:00-01:00", "2021-10-31T01:15:00+00:00"),  # 00:45Z .. 01:15Z: London's second pass
    ("2021-10-31T00:15:00+00:00", "2021-10-31T03:00:00+01:00"),  # 00:15Z .. 02:00Z
    ("2021-10-31T02:30:00+02:00", "2021-10-31T02:30:00+01:00"),  # 00:30Z .. 01:30Z: the overlap's instants
]


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize(("after", "before"), BOUNDS)
async def test_start_bounds_with_offsets_select_by_instant(tz_sites, zone, after, before):
    lo, hi = dt.datetime.fromisoformat(after), dt.datetime.fromisoformat(before)
    want = [k for k in _order(zone) if lo <= TRUE_INSTANTS[zone][k] < hi]
    f = DataCollectionFilter(proposal=PROPOSAL, start_after=lo, start_before=hi)
    page = await tz_sites[zone].data_collections(f, PageRequest(first=50))
    assert [r.local_id for _, r in page.items] == want and page.total_count == len(want)
    alone = await tz_sites[zone].data_collections(
        DataCollectionFilter(proposal=PROPOSAL, start_after=lo), PageRequest(first=50)
    )
    assert [r.local_id for _, r in alone.items] == [k for k in _order(zone) if TRUE_INSTANTS[zone][k] >= lo]


# Each session ended at 01:30 local on a change night. Its true end, by hand (docs/time.md):
# Paris, March: 01:30 CET = 00:30Z. London, October: 01:30 occurred twice; first occurrence, BST = 00:30Z.
EMBARGO_CASES = [(PARIS, MARCH_SESSION), (LONDON, OCTOBER_SESSION)]
TRUE_END = dt.datetime(2021, 3, 28, 0, 30, tzinfo=dt.UTC), dt.datetime(2021, 10, 31, 0, 30, tzinfo=dt.UTC)


def _years_until(cutoff: dt.datetime) -> float:
    """The embargo period (365.25-day years, docs/security.md) whose cut-off is now `cutoff`; the test's
    bounds sit 15 minutes either side of the true end, far beyond the seconds a test runs."""
    return (dt.datetime.now(dt.UTC) - cutoff).total_seconds() / (365.25 * 86400)


@pytest.mark.parametrize(("zone", "session"), EMBARGO_CASES)
@pytest.mark.parametrize("side", [-15, 15])  # cut-off 15 minutes before / after the session's true end
async def test_embargo_at_a_summer_time_change_compares_instants(tz_sites, zone, session, side):
    end = TRUE_END[0] if session == MARCH_SESSION else TRUE_END[1]
    policy = EmbargoPolicy(_years_until(end + dt.timedelta(minutes=side)))
    token = access.SCOPE.set(Scope(Viewer(), policy))  # anonymous: public records only
    try:
        page = await tz_sites[zone].sessions(SessionFilter(proposal=PROPOSAL), PageRequest(first=10))
        by_id = await tz_sites[zone].data_collections(
            DataCollectionFilter(proposal=PROPOSAL), PageRequest(first=50)
        )
    finally:
        access.SCOPE.reset(token)
    public = side > 0  # it ended before the cut-off only when the cut-off is after its true end
    assert (session in {r.local_id for _, r in page.items}) is public
    in_session = {r.session_local_id for _, r in by_id.items}
    assert (session in in_session) is public
    # the pure rule agrees, on the instant the backend served
    served = (await tz_sites[zone].sessions_by_id([session]))[session]
    assert served.end_time == end
    assert policy.is_public(served.end_time, served.beamline) is public
