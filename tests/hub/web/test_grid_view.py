"""The detail view's grid heat map, per-image chart and Dimple R/Rfree (issue 16) in headless Chromium,
checked against the demo store by SQL."""

from __future__ import annotations

import asyncpg

from mx_schema.ids import encode_id
from tests.hub.web.conftest import OUTPUT
from tests.hub.web.test_page import expect


async def one(dsn: str, query: str, *args):
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchrow(query, *args)
    finally:
        await conn.close()


async def test_a_grid_scan_shows_its_heat_map_and_centring(page, esrf_demo_dsn):
    row = await one(
        esrf_demo_dsn,
        """SELECT g.data_collection_id AS id, g.steps_x, g.steps_y,
                  (SELECT count(*) FROM image_quality q WHERE q.data_collection_id = g.data_collection_id) AS images,
                  (SELECT max(spot_total) FROM image_quality q WHERE q.data_collection_id = g.data_collection_id) AS top
           FROM grid_scan g JOIN xray_centring_result x ON x.data_collection_id = g.data_collection_id
           WHERE x.status = 'SUCCESS' ORDER BY g.id LIMIT 1""",
    )
    await page.goto(f"/#/dc/{encode_id('esrf', 'DataCollection', str(row['id']))}")
    figure = page.locator('figure[data-chart="grid-heatmap"]')
    await expect(figure).to_have_attribute("data-steps", f"{row['steps_x']}x{row['steps_y']}")
    await expect(figure).to_have_attribute("data-images", str(row["images"]))
    await expect(figure).to_have_attribute("data-centred", "1")
    assert await figure.locator("rect[data-image]").count() == row["images"]
    assert f"brightest {row['top']} spots" in await figure.locator("figcaption").inner_text()
    await page.screenshot(path=OUTPUT / "grid.png", full_page=True)


async def test_a_sweep_shows_spots_per_image_and_dimple_r_free(page, esrf_demo_dsn):
    row = await one(
        esrf_demo_dsn,
        """SELECT dc.id, (SELECT count(*) FROM image_quality q WHERE q.data_collection_id = dc.id) AS images
           FROM data_collection dc WHERE dc.experiment_type = 'OSC'
             AND EXISTS (SELECT 1 FROM image_quality q WHERE q.data_collection_id = dc.id)
             AND EXISTS (SELECT 1 FROM mr_run m JOIN processing_result pr ON pr.id = m.processing_result_id
                         WHERE pr.data_collection_id = dc.id AND m.status = 'SUCCESS')
           ORDER BY dc.id LIMIT 1""",
    )
    conn = await asyncpg.connect(esrf_demo_dsn)
    try:
        runs = await conn.fetch(
            """SELECT m.r_end, m.r_free_end FROM mr_run m JOIN processing_result pr ON pr.id = m.processing_result_id
               WHERE pr.data_collection_id = $1 AND m.status = 'SUCCESS' ORDER BY m.id""",
            row["id"],
        )
    finally:
        await conn.close()
    await page.goto(f"/#/dc/{encode_id('esrf', 'DataCollection', str(row['id']))}")
    chart = page.locator('figure[data-chart="image-quality"]')
    await expect(chart).to_have_attribute("data-images", str(row["images"]))
    captions = await page.locator("table.shells caption").all_inner_texts()
    for run in runs:
        assert any(f"R/Rfree {run['r_end']:.3f}/{run['r_free_end']:.3f}" in c for c in captions), captions
