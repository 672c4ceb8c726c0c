"""hasDoi and pdbId through the hub (issue 19): passed to every site and merged exactly, checked
against SQL on each demo site's own store."""

from __future__ import annotations

import asyncpg
import pytest

QUERY = """query($f: DataCollectionFilter, $after: String) { dataCollections(filter: $f, first: 200, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } edges { node { site localId doi { doi level } } } } }"""

CITED = (
    "SELECT dc.id FROM data_collection dc WHERE EXISTS (SELECT 1 FROM doi d WHERE d.data_collection_id = dc.id"
    " OR d.data_collection_group_id = dc.group_id OR d.session_id = dc.session_id)"
)
BY_CODE = (
    "SELECT dc.id FROM data_collection dc WHERE dc.protein_id IN (SELECT protein_id FROM pdb_entry WHERE pdb_id = $1)"
    " OR dc.id IN (SELECT pr.data_collection_id FROM processing_result pr JOIN pdb_entry pe"
    " ON pe.processing_result_id = pr.id WHERE pe.pdb_id = $1)"
)


async def expected(dsns: dict[str, str], sql: str, *args: object) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for site, dsn in dsns.items():
        conn = await asyncpg.connect(dsn)
        try:
            out |= {(site, str(r["id"])) for r in await conn.fetch(sql, *args)}
        finally:
            await conn.close()
    return out


async def walk(hub, flt: dict) -> list[dict]:
    nodes, after = [], None
    while True:
        body = await hub.query(QUERY, {"f": flt, "after": after})
        assert "errors" not in body, body
        page = body["data"]["dataCollections"]
        nodes += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


@pytest.fixture
async def hub(running_hub, demo_sites):
    for name, url in demo_sites.items():
        assert "errors" not in await running_hub.register(name, url)
    return running_hub


async def test_filters_pass_through_the_hub(hub, esrf_demo_dsn, diamond_demo_dsn):
    dsns = {"esrf": esrf_demo_dsn, "diamond": diamond_demo_dsn}
    cited = await expected(dsns, CITED)
    assert {s for s, _ in cited} == {"esrf"}  # only the demo ESRF mints (session) DOIs
    nodes = await walk(hub, {"hasDoi": True})
    assert {(n["site"], n["localId"]) for n in nodes} == cited and len(nodes) == len(cited)
    assert all(n["doi"]["level"] == "session" for n in nodes)
    lysozyme = await expected(dsns, BY_CODE, "1LYZ")
    assert {s for s, _ in lysozyme} == {"esrf", "diamond"}
    nodes = await walk(hub, {"pdbId": "1lyz", "hasDoi": False})
    assert {(n["site"], n["localId"]) for n in nodes} == lysozyme - cited
