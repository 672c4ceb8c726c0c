"""The search page's crystallisation search: the "anything" guess tries chemicals (through the LIMS and
their vocabulary) before proteins, and chemistry results show the condition's pH and concentration."""

from __future__ import annotations

from urllib.parse import urlencode

from tests.hub.web.conftest import OUTPUT
from tests.hub.web.test_page import hub_page, row_ids, settle, total_shown

XTAL = """query($f: DataCollectionFilter) { dataCollections(filter: $f, first: 25) { totalCount edges { node { id
  sample { crystallisation { ph components { name concentration unit } } } } } } }"""


async def search_for(page, text: str) -> None:
    await page.fill("#q", text)
    await page.press("#q", "Enter")
    key = urlencode({"q": text})
    await page.wait_for_selector(
        f'#status[data-state="done"][data-search="{key}"], #status[data-state="error"][data-search="{key}"]'
    )


async def test_anything_reads_a_chemical_as_a_chemical_not_a_protein(page, web_hub):
    await page.goto("/")
    await settle(page)
    await search_for(page, "sodium chloride")
    assert "as crystallisation chemical" in await page.inner_text("#interpretation")
    expected = await hub_page(web_hub, {"lims": {"chemical": "sodium chloride"}})
    assert expected["totalCount"] > 0
    assert total_shown(await page.inner_text("#pageinfo")) == expected["totalCount"]
    assert await row_ids(page) == [e["node"]["id"] for e in expected["edges"]]
    # An abbreviation the LIMS vocabulary knows, and a buffer that looks like a protein acronym.
    for text in ("NaCl", "HEPES"):
        await search_for(page, text)
        assert "as crystallisation chemical" in await page.inner_text("#interpretation"), text
        expected = await hub_page(web_hub, {"lims": {"chemical": text}})
        assert expected["totalCount"] > 0 and await row_ids(page) == [
            e["node"]["id"] for e in expected["edges"]
        ]
    # Not a chemical: still a protein (name, or acronym by its shape).
    await search_for(page, "thermolysin")
    assert "as protein name" in await page.inner_text("#interpretation")
    assert await row_ids(page) == [
        e["node"]["id"] for e in (await hub_page(web_hub, {"proteinName": "thermolysin"}))["edges"]
    ]
    await search_for(page, "TLN")
    assert "as protein acronym" in await page.inner_text("#interpretation")


async def test_chemistry_results_show_ph_and_concentration(page, web_hub):
    await page.goto("/#/?chemical=sodium+chloride")
    await settle(page, "chemical=")
    headers = await page.eval_on_selector_all("#results thead th button", "bs => bs.map(b => b.dataset.key)")
    assert "ph" in headers and "conc" in headers
    assert "Concentration of sodium chloride" in await page.inner_text("#results thead")
    body = await web_hub.hub.query(XTAL, {"f": {"lims": {"chemical": "sodium chloride"}}})
    rows = {
        e["node"]["id"]: e["node"]["sample"]["crystallisation"]
        for e in body["data"]["dataCollections"]["edges"]
    }
    cells = await page.eval_on_selector_all(
        "#results tbody tr[data-id]",
        """trs => trs.map(tr => ({id: tr.dataset.id, ph: tr.querySelector('td[data-col="ph"]').textContent,
                                  conc: tr.querySelector('td[data-col="conc"]').textContent}))""",
    )
    assert len(cells) == len(rows) > 0
    for cell in cells:
        x = rows[cell["id"]]
        nacl = next(c for c in x["components"] if c["name"] == "sodium chloride")
        assert cell["ph"] == f"{x['ph']:.1f}"
        assert (
            float(cell["conc"].split()[0]) == nacl["concentration"]
            and cell["conc"].split()[1] == nacl["unit"]
        )
    await page.screenshot(path=OUTPUT / "chemistry.png", full_page=True)
    # Sorting by concentration works on the numbers of this page.
    await page.click('#results th button[data-key="conc"]')
    shown = await page.eval_on_selector_all(
        '#results tbody td[data-col="conc"]', "tds => tds.map(t => parseFloat(t.textContent))"
    )
    assert shown == sorted(shown)


async def test_a_chemical_no_lims_knows_offers_the_close_names(page, web_hub):
    await page.goto("/#/?chemical=sodium+chlorid")
    await settle(page, "chemical=sodium+chlorid")
    warning = page.locator('#problems li[data-code="UNKNOWN_TERM"]')
    assert "No registered LIMS records the chemical “sodium chlorid”" in await warning.inner_text()
    assert await page.inner_text("#status") == "No data collections match."
    await warning.locator("a", has_text="sodium chloride").click()
    await settle(page, "chemical=sodium+chloride")
    expected = await hub_page(web_hub, {"lims": {"chemical": "sodium chloride"}})
    assert await row_ids(page) == [e["node"]["id"] for e in expected["edges"]]
