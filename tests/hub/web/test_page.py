"""The search page in headless Chromium against a hub with two demo sites and a broken one."""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

import asyncpg

from tests.hub.web.conftest import ADMIN_TOKEN, OUTPUT

COUNT = """query($f: DataCollectionFilter, $first: Int, $after: String) { dataCollections(filter: $f, first: $first, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } edges { node { id site wavelength } } } }"""


def expect(target):
    """Playwright's retrying assertions (imported late: the browser fixture skips when playwright is absent)."""
    from playwright.async_api import expect as playwright_expect

    return playwright_expect(target)


async def settle(page, search: str = "") -> None:
    """Wait until the search whose address contains `search` is done (or failed)."""
    key = f'[data-search*="{search}"]' if search else ""
    await page.wait_for_selector(f'#status[data-state="done"]{key}, #status[data-state="error"]{key}')


async def hub_page(web_hub, flt: dict, first: int = 25, after: str | None = None) -> dict:
    body = await web_hub.hub.query(COUNT, {"f": flt, "first": first, "after": after})
    return body["data"]["dataCollections"]


async def row_ids(page) -> list[str]:
    return await page.eval_on_selector_all(
        "#results tbody tr[data-id]", "rows => rows.map(r => r.dataset.id)"
    )


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


async def test_facets_narrow_the_results_to_the_hubs_count(page, web_hub):
    await page.goto("/")
    await settle(page)
    await page.check("#site-esrf")
    await page.select_option("#protein", "TLN")
    await page.select_option("#type", "OSC")
    await page.fill("#res", "1.7")
    await page.press("#res", "Enter")
    await settle(page, "res=1.7")
    flt = {"sites": ["esrf"], "proteinAcronym": "TLN", "experimentType": "OSC", "resolutionBetterThan": 1.7}
    expected = await hub_page(web_hub, flt)
    assert expected["totalCount"] > 0
    assert total_shown(await page.inner_text("#pageinfo")) == expected["totalCount"]
    assert await row_ids(page) == [e["node"]["id"] for e in expected["edges"]]
    cells = await page.eval_on_selector_all(
        "#results tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.innerText))"
    )
    assert {c[0] for c in cells} == {"esrf"} and {c[3] for c in cells} == {"TLN"}
    assert all(float(c[5]) <= 1.7 for c in cells)
    # the broken site was not asked: no problem to report
    assert await page.locator("#problems").is_hidden()
    # a protein is chosen: its best resolutions per facility are drawn
    await page.wait_for_selector('figure[data-chart="resolution-by-site"]')
    await page.screenshot(path=OUTPUT / "facets.png", full_page=True)


async def test_paging_forward_and_back_is_exact(page, web_hub):
    await page.goto("/#/?type=OSC&size=10")
    await settle(page)
    first = await row_ids(page)
    hub1 = await hub_page(web_hub, {"experimentType": "OSC"}, first=10)
    hub2 = await hub_page(web_hub, {"experimentType": "OSC"}, first=10, after=hub1["pageInfo"]["endCursor"])
    assert first == [e["node"]["id"] for e in hub1["edges"]]
    await page.keyboard.press("Tab")  # the pager works from the keyboard
    await page.focus("#next")
    await page.keyboard.press("Enter")
    await expect(page.locator("#pageinfo")).to_have_text(re.compile(r"^Page 2:"))
    second = await row_ids(page)
    assert second == [e["node"]["id"] for e in hub2["edges"]]
    assert second[0] != first[0]
    await page.click("#prev")
    await expect(page.locator("#pageinfo")).to_have_text(re.compile(r"^Page 1:"))
    assert await row_ids(page) == first
    assert await page.is_disabled("#prev")


async def test_sorting_from_the_keyboard(page):
    await page.goto("/#/?type=OSC&size=50")
    await settle(page)
    header = page.locator('#results th button[data-key="res"]')
    await header.focus()
    await page.keyboard.press("Enter")
    th = page.locator('#results th:has(button[data-key="res"])')
    assert await th.get_attribute("aria-sort") == "ascending"
    values = [
        float(v)
        for v in await page.eval_on_selector_all(
            "#results tbody tr", "rows => rows.map(r => r.cells[5].innerText)"
        )
        if v != "—"
    ]
    assert values == sorted(values) and len(values) > 5
    await page.keyboard.press("Enter")  # focus stays on the header: press again for descending
    assert await th.get_attribute("aria-sort") == "descending"
    values = [
        float(v)
        for v in await page.eval_on_selector_all(
            "#results tbody tr", "rows => rows.map(r => r.cells[5].innerText)"
        )
        if v != "—"
    ]
    assert values == sorted(values, reverse=True)


async def test_detail_view_and_xds_inp_download(page, web_hub):
    await page.goto("/#/?type=OSC&protein=HEWL&chemical=sodium+chloride&size=10")  # a sample the LIMS knows
    await settle(page)
    flt = {"experimentType": "OSC", "proteinAcronym": "HEWL", "lims": {"chemical": "sodium chloride"}}
    node = (await hub_page(web_hub, flt, first=1))["edges"][0]["node"]
    await page.wait_for_selector('figure[data-chart="resolution-by-site"]')
    assert await page.get_attribute('figure[data-chart="resolution-by-site"]', "data-sites") == "diamond,esrf"
    await page.screenshot(path=OUTPUT / "protein.png", full_page=True)
    link = page.locator(f'#results tr[data-id="{node["id"]}"] a.details')
    await link.focus()
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#detail-heading")
    heading = await page.inner_text("#detail-heading")
    assert "Lysozyme" in heading
    geometry = await page.inner_text('section[aria-labelledby="geometry-heading"]')
    assert (
        "Wavelength" in geometry and "Å" in geometry and "Detector distance" in geometry and "mm" in geometry
    )
    shells = page.locator("table.shells tbody tr th")
    assert {await shells.nth(i).inner_text() for i in range(3)} == {"overall", "inner", "outer"}
    crystallisation = await page.inner_text('section[aria-labelledby="cryst-heading"]')
    assert "VAPOR DIFFUSION" in crystallisation and "sodium chloride" in crystallisation
    async with page.expect_download() as info:
        await page.click('button[data-download="xdsInp"]')
    download = await info.value
    assert download.suggested_filename == "XDS.INP"
    text = (OUTPUT / "XDS.INP").read_text() if await download.save_as(OUTPUT / "XDS.INP") is None else ""
    assert f"X-RAY_WAVELENGTH= {node['wavelength']:.5f}" in text
    assert "JOB=" in text
    await page.screenshot(path=OUTPUT / "detail.png", full_page=True)
    # Escape goes back to the same results, with focus on the link that opened the view
    await page.keyboard.press("Escape")
    await page.wait_for_selector("#search-view:not([hidden])")
    assert await page.evaluate("document.activeElement.closest('tr').dataset.id") == node["id"]


async def test_a_slow_site_is_named_and_the_others_answer(page, web_hub):
    web_hub.flaky.mode = "slow"
    web_hub.flaky.release.clear()
    try:
        await page.goto("/#/?type=Mesh")
        await settle(page)
        problem = page.locator('#problems li[data-site="flaky"]')
        assert await problem.get_attribute("data-code") == "SITE_TIMEOUT"
        assert "too slow" in await problem.inner_text()
        await page.screenshot(path=OUTPUT / "slow.png")
        assert len(await row_ids(page)) == 25
        assert (await page.inner_text("#pageinfo")).endswith(
            f"of at least {(await hub_page(web_hub, {'experimentType': 'Mesh'}))['totalCount']:,}"
        )
        # asked alone, the slow site gets the hub's full timeout: the page says it is still waiting,
        # then shows the answer once the site is released
        await page.goto("/#/?site=flaky")
        await expect(page.locator("#status")).to_have_attribute("data-state", "busy slow", timeout=30000)
        assert "Still waiting" in await page.inner_text("#status")
        await page.screenshot(path=OUTPUT / "waiting.png")
        web_hub.flaky.release.set()
        await settle(page, "site=flaky")
        assert await page.inner_text("#status") == "No data collections match."  # it answered, with nothing
    finally:
        web_hub.flaky.mode = "garbage"
        web_hub.flaky.release.set()


async def test_empty_results_and_errors_say_so(page):
    await page.goto("/")
    await settle(page)
    await page.fill("#q", "no such protein anywhere")
    await page.press("#q", "Enter")
    await settle(page, "q=no")
    assert "as protein name" in await page.inner_text("#interpretation")
    assert "No data collection matches" in await page.inner_text("#results")
    assert await page.inner_text("#status") == "No data collections match."
    await page.screenshot(path=OUTPUT / "empty.png")
    await page.click("#results button.chip")  # "Try without: q = ..." brings the results back
    await expect(page.locator("#results tbody tr[data-id]").first).to_be_visible()
    page.allow("400")  # the hub's answer to an unknown site, asked for
    await page.goto("/#/?site=nowhere")
    await page.wait_for_selector('#status[data-state="error"]')
    assert "unknown site" in await page.inner_text("#status")
    assert "Nothing to show" in await page.inner_text("#results")


async def test_lims_facets_search_crystallisation_conditions(page, web_hub):
    await page.goto("/")
    await settle(page)
    assert await page.is_visible("#facet-lims")
    await page.fill("#chemical", "sodium chloride")
    await page.press("#chemical", "Enter")
    await settle(page, "chemical=")
    expected = await hub_page(web_hub, {"lims": {"chemical": "sodium chloride"}})
    assert expected["totalCount"] > 0
    assert total_shown(await page.inner_text("#pageinfo")) == expected["totalCount"]
    assert await row_ids(page) == [e["node"]["id"] for e in expected["edges"]]


async def test_a_token_is_kept_for_the_tab_sent_as_a_bearer_and_a_bad_one_refused(page):
    await page.goto("/")
    await settle(page)
    assert await page.is_visible("text=Anonymous: public data only.")
    await page.fill("#token", ADMIN_TOKEN)
    async with page.expect_request(lambda r: r.url.endswith("/graphql") and r.method == "POST") as sent:
        await page.press("#token", "Enter")
    assert (await sent.value).headers.get("authorization") == f"Bearer {ADMIN_TOKEN}"
    await settle(page)
    assert await page.get_attribute("#status", "data-state") == "done"
    assert await page.evaluate("sessionStorage.getItem('mxhub.token')") == ADMIN_TOKEN
    await page.click("#logout")
    assert await page.evaluate("sessionStorage.getItem('mxhub.token')") is None
    page.allow("401")  # the hub's answer to a token it did not issue, asked for
    await page.fill("#token", "not-a-token-this-hub-issued")
    await page.press("#token", "Enter")
    await page.wait_for_selector('#status[data-state="error"]')
    assert "refused the token" in await page.inner_text("#status")


async def test_an_indexed_sweep_shows_its_images_and_feeds_xds_inp(page, web_hub, images, tmp_path):
    from site_adapter.indexer.scan import run_scan
    from tests.fixtures.images import fixtures_root

    FIXTURES = fixtures_root()

    tree = tmp_path / "data" / "l-cyst"
    tree.mkdir(parents=True)
    for f in sorted((images / "l_cysteine").glob("l-cyst_01_*.cbf"))[:15]:
        if not f.name.endswith("00005.cbf"):  # one image lost from the archive
            os.symlink(f, tree / f.name)
    conn = await asyncpg.connect(web_hub.flaky_dsn)
    try:
        await conn.execute(
            "INSERT INTO data_collection (id, image_directory, file_template, start_image_number, number_of_images,"
            " experiment_type, start_time) VALUES (7, $1, 'l-cyst_01_#####.cbf', 1, 15, 'OSC', now())",
            f"{tree}/",
        )
        await run_scan(
            conn, [str(tmp_path)], follow_links_into=[str(FIXTURES)], verify=True, site="flaky", previews=True
        )
    finally:
        await conn.close()
    web_hub.flaky.mode = "ok"
    try:
        await page.goto("/#/?site=flaky")
        await settle(page, "site=flaky")
        q = """query($f: DataCollectionFilter) { dataCollections(filter: $f) { edges { node {
                 id images { count missing verified format } reprocessing { xdsInp } } } } }"""
        (edge,) = (await web_hub.hub.query(q, {"f": {"sites": ["flaky"]}}))["data"]["dataCollections"][
            "edges"
        ]
        (sweep,) = edge["node"]["images"]
        assert (sweep["count"], sweep["missing"]) == (14, [5])
        verdict = {True: "✓ verified", False: "✗ checksum errors", None: "not verified"}[sweep["verified"]]
        assert await page.inner_text("#results tbody tr td:nth-child(10)") == f"14/15 {verdict}, 1 missing"
        await page.click("#results a.details")
        await page.wait_for_selector('section[aria-labelledby="images-heading"] table')
        shown = await page.inner_text('section[aria-labelledby="images-heading"]')
        assert "l-cyst_01_#####.cbf" in shown and "14 of 15 recorded" in shown and sweep["format"] in shown
        assert re.search(r"Missing\s+5\b", shown)
        # The stored preview (issue 22), fetched through the hub's /previews route, with rings over it.
        await page.wait_for_function(
            "() => { const i = document.querySelector('figure.preview img');"
            " return i && i.complete && i.naturalWidth > 0 && document.querySelector('figure.preview svg.rings'); }"
        )
        size = await page.eval_on_selector("figure.preview img", "i => [i.naturalWidth, i.naturalHeight]")
        assert size == [1475 // 4, 1679 // 4]  # PILATUS 2M at 512 px: 4 x 4 detector pixels a picture pixel
        assert any("/previews/" in url for url in page.requests)
        async with page.expect_download() as info:
            await page.click('button[data-download="xdsInp"]')
        await (await info.value).save_as(tmp_path / "XDS.INP")
        assert (tmp_path / "XDS.INP").read_text() == edge["node"]["reprocessing"]["xdsInp"]
        await page.screenshot(path=OUTPUT / "images.png", full_page=True)
    finally:
        web_hub.flaky.mode = "garbage"
