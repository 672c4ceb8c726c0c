"""The detail view's "Cite and deposit" card (hub/static/detail-citation.js) in headless Chromium: the
DOI and the PDB entries the hub answers, as links to doi.org, RCSB and PDBe."""

from __future__ import annotations

import asyncpg

from mx_schema.ids import decode_id
from tests.hub.web.test_page import OUTPUT

QUERY = """{ dataCollections(filter: {site: "esrf", proteinAcronym: "HEWL"}, first: 1) { edges { node { id } } } }"""


async def test_detail_links_the_doi_and_the_pdb_entries(page, web_hub, esrf_demo_dsn):
    body = await web_hub.hub.query(QUERY)
    gid = body["data"]["dataCollections"]["edges"][0]["node"]["id"]
    conn = await asyncpg.connect(esrf_demo_dsn)
    try:  # the store's own answer: the session's DOI and the protein's PDB code (demo_data.py writes them)
        row = await conn.fetchrow(
            "SELECT d.doi, pe.pdb_id FROM data_collection dc JOIN doi d ON d.session_id = dc.session_id"
            " JOIN pdb_entry pe ON pe.protein_id = dc.protein_id WHERE dc.id = $1",
            int(decode_id(gid).local_id),
        )
    finally:
        await conn.close()
    await page.goto(f"/#/dc/{gid}")
    card = page.locator('section[data-section="citation"]')
    await card.wait_for()
    doi = card.locator(f'a[href="https://doi.org/{row["doi"]}"]')
    assert await doi.inner_text() == row["doi"]
    assert await doi.get_attribute("rel") == "noopener noreferrer"
    entry = card.locator(f'li[data-pdb="{row["pdb_id"]}"]')
    assert await entry.locator(f'a[href="https://www.rcsb.org/structure/{row["pdb_id"]}"]').count() == 1
    assert (
        await entry.locator(f'a[href="https://www.ebi.ac.uk/pdbe/entry/pdb/{row["pdb_id"].lower()}"]').count()
        == 1
    )
    text = await card.inner_text()
    assert "session" in text and "CC-BY-4.0" in text
    await page.screenshot(path=OUTPUT / "citation.png", full_page=True)
