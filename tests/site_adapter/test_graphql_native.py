"""The site adapter over the native store: CONTRACT.md's query, checked against the store itself."""

from __future__ import annotations

import asyncpg
import pytest

from mx_schema.examples import CONTRACT_QUERY
from mx_schema.ids import decode_id, encode_id


async def _sample_with_processing(dsn: str) -> asyncpg.Record:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchrow(
            """SELECT s.name, count(*) AS n FROM data_collection dc JOIN sample s ON s.id = dc.sample_id
               WHERE dc.best_resolution IS NOT NULL GROUP BY s.name ORDER BY count(*) DESC, s.name LIMIT 1"""
        )
    finally:
        await conn.close()


async def test_contract_query_by_sample_name_matches_the_store(esrf_gql, esrf_demo_dsn):
    row = await _sample_with_processing(esrf_demo_dsn)
    body = await esrf_gql(CONTRACT_QUERY, {"filter": {"sampleName": row["name"]}, "first": 20})
    assert "errors" not in body
    conn = await asyncpg.connect(esrf_demo_dsn)
    try:
        expected = await conn.fetch(
            """SELECT dc.id, dc.wavelength, dc.detector_distance, se.visit, d.model
               FROM data_collection dc JOIN sample s ON s.id = dc.sample_id JOIN session se ON se.id = dc.session_id
               JOIN detector d ON d.id = dc.detector_id
               WHERE s.name = $1 ORDER BY dc.sort_time DESC, dc.id DESC""",
            row["name"],
        )
        processing = await conn.fetch(
            """SELECT data_collection_id, program, status, (overall->>'resolution_high')::float8 AS res
               FROM processing_result WHERE data_collection_id = ANY($1) ORDER BY id""",
            [r["id"] for r in expected],
        )
    finally:
        await conn.close()
    conn_ = body["data"]["dataCollections"]
    assert conn_["totalCount"] == len(expected) >= row["n"] >= 1
    nodes = [e["node"] for e in conn_["edges"]]
    assert [n["localId"] for n in nodes] == [str(r["id"]) for r in expected]
    for node, want in zip(nodes, expected, strict=True):
        assert node["site"] == "esrf"
        assert decode_id(node["id"]).local_id == node["localId"]
        assert node["wavelength"] == pytest.approx(want["wavelength"])
        assert node["detectorDistance"] == pytest.approx(want["detector_distance"])
        assert node["session"]["visit"] == want["visit"]
        assert node["detector"]["model"] == want["model"]
        assert node["sample"]["name"] == row["name"]
        mine = [p for p in processing if p["data_collection_id"] == int(node["localId"])]
        assert [p["program"] for p in node["processing"]] == [p["program"] for p in mine]
        ok = [p for p in mine if p["status"] == "SUCCESS"]
        if ok:
            best = min(ok, key=lambda p: p["res"])
            assert node["bestProcessing"]["overall"]["resolutionHigh"] == pytest.approx(best["res"])
        else:
            assert node["bestProcessing"] is None
        for p in node["processing"]:
            if p["overall"]:
                assert 0 <= p["overall"]["ccHalf"] <= 1
                assert 0 <= p["overall"]["completeness"] <= 100


async def test_filters_combine_and_match_sql(esrf_gql, esrf_demo_dsn):
    conn = await asyncpg.connect(esrf_demo_dsn)
    try:
        want = await conn.fetchval(
            """SELECT count(*) FROM data_collection dc JOIN protein p ON p.id = dc.protein_id
               WHERE p.acronym = 'TLN' AND dc.best_resolution <= 1.8 AND dc.beamline = 'id29'"""
        )
        by_uniprot = await conn.fetchval(
            """SELECT count(*) FROM data_collection dc JOIN protein p ON p.id = dc.protein_id
               WHERE 'P00698' = ANY(p.uniprot_ids) AND dc.experiment_type = 'OSC'"""
        )
        by_name = await conn.fetchval(
            """SELECT count(*) FROM data_collection dc JOIN protein p ON p.id = dc.protein_id
               WHERE lower(p.name) LIKE '%thaumatin%'"""
        )
        sg = await conn.fetchval("SELECT count(*) FROM data_collection WHERE best_space_group = 'P 61 2 2'")
    finally:
        await conn.close()
    q = "query($f: DataCollectionFilter) { dataCollections(filter: $f, first: 0) { totalCount } }"
    assert want > 0
    got = await esrf_gql(q, {"f": {"proteinAcronym": "TLN", "resolutionBetterThan": 1.8, "beamline": "id29"}})
    assert got["data"]["dataCollections"]["totalCount"] == want
    got = await esrf_gql(q, {"f": {"uniprotId": "p00698", "experimentType": "osc"}})
    assert got["data"]["dataCollections"]["totalCount"] == by_uniprot > 0
    got = await esrf_gql(q, {"f": {"proteinName": "THAUMATIN"}})
    assert got["data"]["dataCollections"]["totalCount"] == by_name > 0
    got = await esrf_gql(q, {"f": {"spaceGroup": "P6122"}})
    assert got["data"]["dataCollections"]["totalCount"] == sg > 0


@pytest.mark.parametrize(
    "root,order_sql",
    [
        ("samples", "SELECT id FROM sample ORDER BY coalesce(name, '') COLLATE \"C\", id"),
        ("proteins", "SELECT id FROM protein ORDER BY coalesce(acronym, '') COLLATE \"C\", id"),
        ("sessions", "SELECT id FROM session ORDER BY start_time DESC, id DESC"),
        ("proposals", 'SELECT id FROM proposal ORDER BY code COLLATE "C", id'),
    ],
)
async def test_other_connections_page_exactly(esrf_gql, esrf_demo_dsn, root, order_sql):
    conn = await asyncpg.connect(esrf_demo_dsn)
    try:
        expected = [str(r["id"]) for r in await conn.fetch(order_sql)]
    finally:
        await conn.close()
    q = f"""query($after: String) {{ {root}(first: 200, after: $after) {{
             pageInfo {{ hasNextPage endCursor }} edges {{ node {{ localId }} }} }} }}"""
    seen, after = [], None
    while True:
        page = (await esrf_gql(q, {"after": after}))["data"][root]
        seen += [e["node"]["localId"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == expected


async def test_a_page_of_100_batches_its_relations(esrf_gql, esrf_backend):
    """A page's relations cost one statement each, whatever the page size: no per-row queries."""
    counts = {}
    for size in (10, 100):
        before = esrf_backend.statements
        body = await esrf_gql(CONTRACT_QUERY, {"first": size})
        assert len(body["data"]["dataCollections"]["edges"]) == size
        counts[size] = esrf_backend.statements - before
    # page + count (its plan, then the capped count: issue 17), then sessions, samples, detectors,
    # processing, crystals, proteins
    assert counts[100] == counts[10] <= 9


async def test_node_and_entities_resolve_by_global_id(esrf_gql):
    page = await esrf_gql(
        "{ dataCollections(first: 1) { edges { node { id localId sample { id name } } } } }"
    )
    node = page["data"]["dataCollections"]["edges"][0]["node"]
    got = await esrf_gql(
        "query($id: ID!) { node(id: $id) { id ... on DataCollection { localId } } }", {"id": node["id"]}
    )
    assert got["data"]["node"] == {"id": node["id"], "localId": node["localId"]}
    reps = [
        {"__typename": "Sample", "id": node["sample"]["id"]},
        {"__typename": "DataCollection", "id": node["id"]},
    ]
    got = await esrf_gql(
        """query($r: [_Any!]!) { _entities(representations: $r) {
             ... on Sample { name } ... on DataCollection { localId } } }""",
        {"r": reps},
    )
    assert got["data"]["_entities"] == [{"name": node["sample"]["name"]}, {"localId": node["localId"]}]
    missing = encode_id("esrf", "DataCollection", "999999999")
    got = await esrf_gql("query($id: ID!) { node(id: $id) { id } }", {"id": missing})
    assert got["data"]["node"] is None and "errors" not in got


async def test_sample_keys_filter_matches_uuid_or_barcode(esrf_gql, esrf_demo_dsn):
    conn = await asyncpg.connect(esrf_demo_dsn)
    try:
        rows = await conn.fetch(
            "SELECT s.barcode, c.uuid FROM sample s JOIN crystal c ON c.id = s.crystal_id ORDER BY s.id LIMIT 3"
        )
        want = await conn.fetchval(
            """SELECT count(*) FROM data_collection dc JOIN sample s ON s.id = dc.sample_id
               JOIN crystal c ON c.id = s.crystal_id WHERE c.uuid = ANY($1) OR s.barcode = $2""",
            [rows[0]["uuid"], rows[1]["uuid"]],
            rows[2]["barcode"],
        )
    finally:
        await conn.close()
    q = "query($f: DataCollectionFilter) { dataCollections(filter: $f, first: 0) { totalCount } }"
    keys = {"crystalUuids": [rows[0]["uuid"].upper(), rows[1]["uuid"]], "barcodes": [rows[2]["barcode"]]}
    got = await esrf_gql(q, {"f": {"sampleKeys": keys}})
    assert got["data"]["dataCollections"]["totalCount"] == want > 0
    got = await esrf_gql(q, {"f": {"sampleKeys": {"crystalUuids": [], "barcodes": []}}})
    assert got["data"]["dataCollections"]["totalCount"] == 0
    got = await esrf_gql(q, {"f": {"sampleKeys": {"crystalUuids": ["not-a-uuid"]}}})
    assert got["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_unit_cell_within_tolerance(esrf_gql, esrf_demo_dsn):
    conn = await asyncpg.connect(esrf_demo_dsn)
    try:
        cell = await conn.fetchrow(
            "SELECT cell_a, cell_b, cell_c, cell_alpha, cell_beta, cell_gamma FROM processing_result"
            " WHERE status = 'SUCCESS' ORDER BY id LIMIT 1"
        )
        want = await conn.fetchval(
            """SELECT count(*) FROM data_collection dc WHERE EXISTS (SELECT 1 FROM processing_result pr
               WHERE pr.data_collection_id = dc.id AND pr.status = 'SUCCESS'
                 AND abs(pr.cell_a - $1) <= $1 * 0.005 AND abs(pr.cell_b - $2) <= $2 * 0.005
                 AND abs(pr.cell_c - $3) <= $3 * 0.005 AND abs(pr.cell_alpha - $4) <= 0.5
                 AND abs(pr.cell_beta - $5) <= 0.5 AND abs(pr.cell_gamma - $6) <= 0.5)""",
            *cell,
        )
    finally:
        await conn.close()
    names = ["a", "b", "c", "alpha", "beta", "gamma"]
    flt = {"cell": dict(zip(names, cell, strict=True), lengthTolerance=0.5, angleTolerance=0.5)}
    q = "query($f: DataCollectionFilter) { dataCollections(filter: $f, first: 0) { totalCount } }"
    got = await esrf_gql(q, {"f": flt})
    assert got["data"]["dataCollections"]["totalCount"] == want > 0
    far = {"cell": dict(zip(names, [30.0, 30.0, 30.0, 90.0, 90.0, 90.0], strict=True))}
    assert (await esrf_gql(q, {"f": far}))["data"]["dataCollections"]["totalCount"] == 0
    bad = {"cell": dict(zip(names, [-1.0, 30.0, 30.0, 90.0, 90.0, 90.0], strict=True))}
    assert (await esrf_gql(q, {"f": bad}))["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_the_contract_page_is_planned_whole(esrf_gql, monkeypatch):
    """Issue 17: every field of CONTRACT.md's query is completed by the page executor, level by level;
    graphql-core runs only the root field. A relation added without a batch form would show up here
    (as object-by-object execution) before it showed up as a slow page."""
    from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

    by_graphql_core: list[str] = []
    original = StrawberryGraphQLCoreExecutionContext.execute_fields

    def recording(self, parent_type, *args, **kwargs):
        by_graphql_core.append(parent_type.name)
        return original(self, parent_type, *args, **kwargs)

    monkeypatch.setattr(StrawberryGraphQLCoreExecutionContext, "execute_fields", recording)
    body = await esrf_gql(CONTRACT_QUERY, {"filter": {}, "first": 50})
    assert "errors" not in body
    edges = body["data"]["dataCollections"]["edges"]
    assert len(edges) == 50 and all(e["node"]["session"]["visit"] for e in edges)
    assert by_graphql_core == ["Query"]
    # and the recording sees what is not planned: the DOI lookup has no batch form (yet)
    by_graphql_core.clear()
    body = await esrf_gql("{ dataCollections(first: 3) { edges { node { id doi { doi } } } } }")
    assert "errors" not in body and by_graphql_core == ["Query"] + ["DataCollection"] * 3


async def test_total_count_is_counted_only_when_selected_however_it_is_selected(
    esrf_gql, esrf_backend, esrf_demo_dsn
):
    """selects_total reads the field's nodes: totalCount asked directly, in an inline fragment or in a
    named fragment is counted (the store's own count); a page that does not ask costs one statement less."""
    conn = await asyncpg.connect(esrf_demo_dsn)
    try:
        expected = await conn.fetchval("SELECT count(*) FROM data_collection WHERE beamline = 'id29'")
    finally:
        await conn.close()
    assert expected > 0
    shapes = {
        "direct": "query($f: DataCollectionFilter) { dataCollections(filter: $f, first: 2) { totalCount } }",
        "inline": "query($f: DataCollectionFilter) { dataCollections(filter: $f, first: 2) "
        "{ ... on DataCollectionConnection { totalCount } } }",
        "named": "query($f: DataCollectionFilter) { dataCollections(filter: $f, first: 2) { ...C } } "
        "fragment C on DataCollectionConnection { edges { cursor } ...D } "
        "fragment D on DataCollectionConnection { totalCount }",
    }
    for shape, query in shapes.items():
        body = await esrf_gql(query, {"f": {"beamline": "id29"}})
        assert body["data"]["dataCollections"]["totalCount"] == expected, shape
    statements = []
    for query in (shapes["named"], "{ dataCollections(first: 2) { edges { cursor } } }"):
        before = esrf_backend.statements
        await esrf_gql(query.replace("(filter: $f, ", "(").replace("query($f: DataCollectionFilter) ", ""))
        statements.append(esrf_backend.statements - before)
    assert statements[1] < statements[0]
