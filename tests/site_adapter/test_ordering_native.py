"""dataCollections(orderBy:) on the native store: the value each collection is ranked by (the best_*
columns of migration 007, kept by the loader) is what its bestProcessing serves, for every collection."""

from __future__ import annotations

import pytest

from mx_schema.cursors import sort_order
from site_adapter.backends.base import DataCollectionFilter, PageRequest
from site_adapter.graphql.types import best_of

METRICS = {
    "RESOLUTION": "resolution_high",
    "COMPLETENESS": "completeness",
    "CC_HALF": "cc_half",
    "I_OVER_SIGMA": "mean_i_over_sig_i",
}


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("field", list(METRICS))
async def test_ranked_value_is_best_processings(esrf_backend, field, descending):
    order = sort_order(field, descending)
    seen, after = [], None
    while True:
        page = await esrf_backend.data_collections(DataCollectionFilter(), PageRequest(500, after, order))
        seen += page.items
        if not page.has_next_page:
            break
        after = page.items[-1][0]
    assert len(seen) == page.total_count
    results = await esrf_backend.processing_by_collection([r.local_id for _, r in seen])
    served = []
    for (value, local_id), record in seen:
        best = best_of(results[record.local_id])
        expected = None if best is None or best.overall is None else getattr(best.overall, METRICS[field])
        assert (local_id, value) == (int(record.local_id), expected)
        served.append(value)
    present = [v for v in served if v is not None]
    assert present == sorted(present, reverse=descending)
    assert served[len(present) :] == [None] * (len(served) - len(present))
