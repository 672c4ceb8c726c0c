"""The search page in headless Chromium against a hub with two demo sites and a broken one."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.hub.web.conftest import OUTPUT

COUNT = """query($f: DataCollectionFilter, $first: Int, $after: String) { dataCollections(filter: $f, first: $first, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } edges { node { id site wavelength } } } }"""


async def settle(page) -> None:
    """Wait until the search status says it is done (or failed)."""
    await page.wait_for_selector('#status[data-state="done"], #status[data-state="error"]')


async def hub_page(web_hub, flt: dict, first: int = 25, after: str | None = None) -> dict:
    body = await web_hub.hub.query(COUNT, {"f": flt, "first": first, "after": after})
    return body["data"]["dataCollections"]


async def row_ids(page) -> list[str]:
    return await page.eval_on_selector_all("#results tbody tr[data-id]", "rows => rows.map(r => r.dataset.id)")


def total_shown(text: str) -> int:
    # "Page 1: 1–25 of 2,400" / "... of at least 2,400"
    return int(text.rsplit(" ", 1)[-1].replace(",", ""))


async def test_first_page_shows_the_hubs_newest_and_names_the_broken_site(page, web_hub):
    await page.goto("/")
    await settle(page)
    expected = await hub_page(web_hub, {})
    assert await row_ids(page) == [e["node"]["id"] for e in expected["edges"]]
    assert total_shown(await page.inner_text("#pageinfo")) == expected["totalCount"]
    problem = page.locator('#problems li[data-site="flaky"]')
    assert await problem.get_attribute("data-code") == "SITE_ERROR"
    assert "flaky" in await page.inner_text("#problems")
    await page.wait_for_selector('figure[data-chart="resolution-completeness"]')
    await page.screenshot(path=OUTPUT / "search.png", full_page=True)
    # only the hub: the page, its files and /graphql; nothing from the internet
    for url in page.requests:
        parts = urlsplit(url)
        assert url.startswith(web_hub.url) or parts.scheme in ("blob", "data"), url
        assert parts.path == "/" or parts.path.startswith("/static/") or parts.path == "/graphql", url
