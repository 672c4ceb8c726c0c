"""The search page links each result to its server-rendered landing page (issue 19, item 3)."""

from __future__ import annotations

from urllib.parse import quote

from tests.hub.web.test_page import row_ids, settle


async def test_each_result_links_to_its_landing_page(page, web_hub):
    await page.goto("/#/?protein=HEWL&size=10")
    await settle(page)
    ids = await row_ids(page)
    assert ids
    hrefs = await page.eval_on_selector_all(
        "#results tbody tr[data-id] a.landing", "as => as.map(a => a.getAttribute('href'))"
    )
    assert hrefs == [f"/datasets/{quote(i, safe='')}" for i in ids]
    await page.click(f'#results tr[data-id="{ids[0]}"] a.landing')
    await page.wait_for_selector("h1")
    assert page.url == f"{web_hub.url}/datasets/{ids[0]}"
    assert "Lysozyme" in await page.inner_text("h1")
    assert await page.locator('script[type="application/ld+json"]').count() == 1
