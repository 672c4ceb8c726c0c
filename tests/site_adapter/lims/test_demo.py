"""The demo loader: records for ~85 % of the demo sites' crystals, loaded once, matching the documented rule."""

from __future__ import annotations

from site_adapter.lims.demo import open_demo_store
from tests.site_adapter.lims.expected import demo_samples

SITES = {"esrf": 200, "diamond": 150, "maxiv": 100}


async def test_open_demo_store_loads_once_and_matches_the_rule(empty_pg_dsn):
    known, _ = demo_samples(SITES)
    store = await open_demo_store(empty_pg_dsn, SITES)
    try:
        first = await store.counts()
    finally:
        await store.close()
    store = await open_demo_store(empty_pg_dsn, SITES)  # a restart: nothing is loaded twice
    try:
        assert await store.counts() == first
        # one record per known crystal, plus one duplicate registration per site
        assert first["crystals"] == len(known) + len(SITES)
        found = await store.records_by_keys([], [k.pin for k in known], [])
        assert sorted(r.pin_barcode for r in found) == sorted(k.pin for k in known)
        assert {(r.pin_barcode, r.crystal_uuid) for r in found} == {
            (k.pin, k.uuid if k.lims_has_uuid else None) for k in known
        }
    finally:
        await store.close()
