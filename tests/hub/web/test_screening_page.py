"""The detail view's characterisation part in headless Chromium: strategies as a table, energy scans as
an SVG chart of their peak and inflection f′/f″ (hub/static/detail-screening.js, schema 1.2.0)."""

from __future__ import annotations

from urllib.parse import quote

FIND = """{ dataCollections(filter: {experimentType: "Characterization"}, first: 200) { edges { node { id site
  screenings { outputs { strategies { wedges { subWedges { axisStart } } } } }
  session { energyScans { localId points { kind energy fPrime fDoublePrime } } } } } } }"""


async def test_detail_shows_strategies_and_energy_scan_markers(page, web_hub):
    body = await web_hub.hub.query(FIND)
    nodes = [e["node"] for e in body["data"]["dataCollections"]["edges"]]
    with_scans = [n for n in nodes if n["screenings"] and n["session"] and n["session"]["energyScans"]]
    node = (with_scans or [n for n in nodes if n["screenings"]])[0]
    sub_wedges = sum(
        len(w["subWedges"])
        for s in node["screenings"]
        for o in s["outputs"]
        for st in o["strategies"]
        for w in st["wedges"]
    )
    await page.goto(f"/#/dc/{quote(node['id'], safe='')}")
    await page.wait_for_selector('table[data-table="strategies"]')
    rows = await page.locator('table[data-table="strategies"] tbody tr').count()
    assert rows == sub_wedges > 0
    header = await page.inner_text('table[data-table="strategies"] thead')
    assert "Transmission (%)" in header and "Start (degrees)" in header
    scans = node["session"]["energyScans"] if node["session"] else []
    figures = page.locator('figure[data-chart="energy-scan"]')
    assert await figures.count() == len(scans)
    for scan in scans:
        figure = page.locator(f'figure[data-chart="energy-scan"][data-scan="{scan["localId"]}"]')
        kinds = await figure.locator("circle").evaluate_all("els => els.map(e => e.dataset.kind)")
        assert sorted(kinds) == sorted(p["kind"] for p in scan["points"] if p["fPrime"] is not None)
        caption = await figure.locator("figcaption").inner_text()
        for p in scan["points"]:
            assert f"{p['energy']:.1f} eV" in caption
    await page.screenshot(path="tests/hub/web/output/screening.png", full_page=True)
