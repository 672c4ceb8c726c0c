"""dataCollections(orderBy:) on Diamond's ISPyB fixture: pages in the order SQL on the fixture gives
(tests/fixtures/contract.py's oracle), and the value each collection is ranked by is the one its
bestProcessing serves (types.best_of over processing_by_collection)."""

from __future__ import annotations

import pytest

from mx_schema.cursors import SortOrder, sort_order
from site_adapter.backends.base import DataCollectionFilter, PageRequest
from site_adapter.graphql.types import best_of
from tests.contract.test_ordering import VALUES, sorted_facts
from tests.fixtures.contract import ispyb_facts

METRICS = {
    "RESOLUTION": "resolution_high",
    "COMPLETENESS": "completeness",
    "CC_HALF": "cc_half",
    "I_OVER_SIGMA": "mean_i_over_sig_i",
}


async def walk(backend, order: SortOrder | None, first: int, f=None):
    keys, records, after = [], [], None
    for _ in range(1000):
        page = await backend.data_collections(f or DataCollectionFilter(), PageRequest(first, after, order))
        keys += [k for k, _ in page.items]
        records += [r for _, r in page.items]
        if not page.has_next_page:
            return keys, records, page.total_count
        after = page.items[-1][0]
    raise AssertionError("the walk never ended")


@pytest.mark.parametrize("first", [1, 7, 100])
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("field", list(VALUES))
async def test_pages_follow_the_fixture_sql(ispyb, ispyb_dsn, field, descending, first):
    facts, _, _ = await ispyb_facts("dls", ispyb_dsn)
    _, records, total = await walk(ispyb, sort_order(field, descending), first)
    assert [("dls", r.local_id) for r in records] == sorted_facts(facts, field, descending)
    assert total == len(facts)


async def test_the_fixture_has_values_to_order(ispyb, ispyb_dsn):
    """993677 (xia2 dials, 1.42 Å) and the fast_dp CC½ in percent make the resolution and CC½ orders mean
    something; collections without processing are the missing values."""
    facts, _, _ = await ispyb_facts("dls", ispyb_dsn)
    ranked = [f for f in facts if f.best_resolution is not None]
    assert len(ranked) >= 2 and len(ranked) < len(facts)
    assert {f.local_id: f.best_resolution for f in facts}["993677"] == pytest.approx(1.42)


@pytest.mark.parametrize("field", list(METRICS))
async def test_ranked_value_is_best_processings(ispyb, field):
    """The SQL's best result is best_of's: the value in every cursor is bestProcessing.overall's."""
    keys, records, _ = await walk(ispyb, sort_order(field, False), 100)
    results = await ispyb.processing_by_collection([r.local_id for r in records])
    for (value, local_id), record in zip(keys, records, strict=True):
        best = best_of(results[record.local_id])
        served = None if best is None or best.overall is None else getattr(best.overall, METRICS[field])
        assert (local_id, value) == (int(record.local_id), served)


async def test_a_filter_and_an_order_together(ispyb, ispyb_dsn):
    facts, _, _ = await ispyb_facts("dls", ispyb_dsn)
    proposal = facts[0].proposal
    _, records, total = await walk(
        ispyb, sort_order("RESOLUTION", True), 2, DataCollectionFilter(proposal=proposal)
    )
    want = sorted_facts([f for f in facts if f.proposal == proposal], "RESOLUTION", True)
    assert [("dls", r.local_id) for r in records] == want
    assert total == len(want)
