"""Counts by field on the search page (dataCollectionFacets, since 1.2.0): beside the results, each
beamline's count over esrf and diamond is SQL's; clicking one sets it as the filter, and the page's total
becomes that count."""

from __future__ import annotations

from collections import Counter

import asyncpg

from tests.hub.web.test_page import settle, total_shown


async def beamline_counts(*dsns: str) -> Counter[str]:
    out: Counter[str] = Counter()
    for dsn in dsns:
        conn = await asyncpg.connect(dsn)
        try:
            rows = await conn.fetch("SELECT beamline, count(*) AS n FROM data_collection GROUP BY 1")
        finally:
            await conn.close()
        out.update({r["beamline"]: int(r["n"]) for r in rows if r["beamline"] is not None})
    return out


async def test_counts_by_field_and_a_click_filters(page, web_hub, esrf_demo_dsn, diamond_demo_dsn):
    want = await beamline_counts(esrf_demo_dsn, diamond_demo_dsn)
    await page.goto("/")
    await settle(page)
    buttons = page.locator('#facet-counts section[data-field="BEAMLINE"] button')
    await buttons.first.wait_for()
    shown = await buttons.evaluate_all(
        "bs => bs.map(b => [b.dataset.value, b.querySelector('.count').textContent])"
    )
    top = sorted(want.items(), key=lambda kv: (-kv[1], kv[0]))[: len(shown)]
    assert [(v, int(n.replace(",", ""))) for v, n in shown] == top
    for field in ("EXPERIMENT_TYPE", "SPACE_GROUP", "PROTEIN"):
        assert await page.locator(f'#facet-counts section[data-field="{field}"] li').count() > 0
    beamline, count = top[-1]
    await buttons.nth(len(shown) - 1).click()
    await settle(page, f"beamline={beamline}")
    assert total_shown(await page.inner_text("#pageinfo")) == count
    pressed = page.locator(f'#facet-counts section[data-field="BEAMLINE"] button[data-value="{beamline}"]')
    await pressed.wait_for()
    assert await pressed.get_attribute("aria-pressed") == "true"


async def test_a_clicked_value_shows_in_the_form(page, web_hub):
    await page.goto("/")
    await settle(page)
    button = page.locator('#facet-counts section[data-field="EXPERIMENT_TYPE"] button').last
    await button.wait_for()
    value = await button.get_attribute("data-value")
    await button.click()
    await settle(page, "type=")
    assert await page.input_value("#type") == value  # the form shows the filter the click set
