"""Paging walks and order, the same on every implementation: each page size walks every record once, in
the documented order (newest first, a missing start last, ties by local id then site), totalCount the
oracle's count; cursors resume by position, whatever filter they came from."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

import pytest

from tests.contract.walk import codes, keys, page, walk
from tests.fixtures.contract import ADMIN, ANONYMOUS, expected, most_common, order_key


@pytest.mark.parametrize("size", [1, 7, 100])
async def test_every_page_size_walks_every_record_once_in_order(impl, size):
    want = keys(expected(impl.facts, ADMIN))
    assert want, "the implementation's data is empty"
    seen, totals, nodes = await walk(impl, None, size, ADMIN)
    assert totals == {len(want)}
    assert len(seen) == len(set(seen))
    assert seen == want
    assert {n["site"] for n in nodes} == impl.sites


async def test_a_walk_that_changes_page_size_at_every_step(impl):
    """Page sizes mixed within one walk (a client that changes its mind): still each record once, in order."""
    want = keys(expected(impl.facts, ADMIN))
    rng = random.Random(1234)
    seen, after = [], None
    while True:
        size = rng.choice([1, 2, 7, 13, 50])
        conn = await page(impl, None, size, after, ADMIN)
        assert conn["totalCount"] == len(want) and len(conn["edges"]) <= size
        seen += [(e["node"]["site"], e["node"]["localId"]) for e in conn["edges"]]
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert seen == want


async def test_anonymous_walk_is_the_public_records_in_order(impl):
    want = keys(expected(impl.facts, ANONYMOUS))
    seen, totals, _ = await walk(impl, None, 7, ANONYMOUS)
    assert seen == want and totals == {len(want)}


async def test_a_filtered_walk_keeps_its_total_and_order(impl):
    beamline = most_common(f.beamline for f in impl.facts)
    want = keys(expected(impl.facts, ADMIN, lambda f: f.beamline == beamline))
    seen, totals, _ = await walk(impl, {"beamline": beamline}, 3, ADMIN)
    assert seen == want and totals == {len(want)} and want


async def test_start_times_are_in_the_documented_order(impl):
    """startTime as served descends, missing ones last (the order read off the answer itself)."""
    _, _, nodes = await walk(impl, None, 100, ADMIN)
    times = [n["startTime"] for n in nodes]
    dated = [t for t in times if t is not None]
    assert times == dated + [None] * (len(times) - len(dated))
    assert dated == sorted(dated, reverse=True)
    want = [None if f.start is None else f.start for f in expected(impl.facts, ADMIN)]
    assert [t is None for t in times] == [t is None for t in want]
    # Every time carries its offset (RFC 3339) and is the instant the store holds (docs/time.md).
    served = [dt.datetime.fromisoformat(t) for t in dated]
    assert all(t.utcoffset() is not None for t in served)
    assert served == [t for t in want if t is not None]


async def test_first_zero_counts_without_records(impl):
    conn = await page(impl, None, 0, None, ADMIN)
    assert conn["edges"] == [] and conn["totalCount"] == len(expected(impl.facts, ADMIN))


async def test_a_cursor_resumes_by_position_under_another_filter(impl):
    """A cursor holds keyset positions, not a filter (mx_schema/cursors.py): under another filter it resumes
    after them, without an error. A hub cursor holds each site's own position, the last record the hub
    returned from it, none for a site it has returned nothing from yet (hub/merge.py)."""
    first = await page(impl, None, 7, None, ADMIN)
    served = expected(impl.facts, ADMIN)[:7]
    assert [(e["node"]["site"], e["node"]["localId"]) for e in first["edges"]] == keys(served)
    position = {f.site: order_key(f) for f in served}  # the last one of each site wins
    experiment = most_common(f.experiment_type for f in impl.facts)
    matching = expected(impl.facts, ADMIN, lambda f: f.experiment_type == experiment)
    want = [f.key for f in matching if f.site not in position or order_key(f) > position[f.site]]
    assert want and len(want) < len(matching)
    seen, totals, after = [], set(), first["pageInfo"]["endCursor"]
    while True:
        conn = await page(impl, {"experimentType": experiment}, 5, after, ADMIN)
        totals.add(conn["totalCount"])
        seen += [(e["node"]["site"], e["node"]["localId"]) for e in conn["edges"]]
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert seen == want
    assert totals == {len(matching)}


async def test_a_cursor_of_another_connection_is_refused(impl):
    samples = await impl.query("{ samples(first: 1) { pageInfo { endCursor } } }", caller=ADMIN)
    cursor = samples["data"]["samples"]["pageInfo"]["endCursor"]
    assert cursor
    body = await impl.query(
        "query($a: String) { dataCollections(first: 2, after: $a) { totalCount } }", {"a": cursor}, ADMIN
    )
    assert codes(body) == ["INVALID_CURSOR"]


async def test_the_data_exercises_the_tie_breaks(impl):
    """The order checks above are only as strong as the data: it must hold records with equal start times
    (ties by local id) and, at the hub, records of two sites with equal start time and local id (ties by
    site name)."""
    starts = Counter(f.start for f in impl.facts)
    assert any(n > 1 for n in starts.values())
    if impl.kind == "hub":
        full = Counter((f.start, f.local_id) for f in impl.facts)
        assert any(n > 1 for n in full.values())
