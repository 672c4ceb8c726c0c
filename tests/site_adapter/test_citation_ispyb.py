"""Identifiers and the deposition mmCIF over the ISPyB fixture (Diamond's data.sql and the test overlay).

Expected values come from SQL on the fixture; the mmCIF is read back with gemmi. ISPyB v5 has no DOI
column, so a PDB code is added here to a copy of the fixture (CITATION_OVERLAY): the real data holds
one PDB row only, a model with no code (PDB 6 'ceo2' of protein 123497).
"""

from __future__ import annotations

import uuid

import asyncmy
import gemmi
import httpx
import pytest

from mx_schema.ids import encode_id
from site_adapter.app import create_app
from tests.fixtures.mariadb import OVERLAY, admin_execute, connect_kwargs, load_ispyb, with_database
from tests.fixtures.sites import GraphQLClient
from tests.site_adapter.export.pdbx_subset import check_against_dictionary

# Thermolysin's classic entry on the overlay's protein 990001 ('therm'); an entry matched to the
# overlay's autoPROC program 990004 (collection 990003).
CITATION_OVERLAY = """
INSERT INTO PDB (pdbId, name, code, source) VALUES (990001, 'thermolysin', '8tln', NULL);
INSERT INTO Protein_has_PDB (proteinid, pdbid) VALUES (990001, 990001);
INSERT INTO PDBEntry (pdbEntryId, autoProcProgramId, code, pdbTitle, resolution)
  VALUES (990001, 990004, '1ABC', 'A matched entry', 2.0);
"""
SITE = "dls"


@pytest.fixture(scope="module")
async def citation_dsn(mariadb_server_dsn):
    database = f"mxhub_citation_{uuid.uuid4().hex[:10]}"
    try:
        await load_ispyb(mariadb_server_dsn, database, OVERLAY + CITATION_OVERLAY)
        yield with_database(mariadb_server_dsn, database)
    finally:
        await admin_execute(mariadb_server_dsn, f"DROP DATABASE IF EXISTS `{database}`")


@pytest.fixture(scope="module")
async def gql(citation_dsn):
    from site_adapter.backends.ispyb import IspybBackend

    app = create_app(IspybBackend(citation_dsn, pool_size=2), site=SITE)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://dls.test") as c:
            yield GraphQLClient(c)


async def sql(dsn: str, statement: str, args: tuple = ()) -> list[dict]:
    database = dsn.rsplit("/", 1)[1]
    conn = await asyncmy.connect(**connect_kwargs(dsn), db=database)
    try:
        async with conn.cursor(asyncmy.cursors.DictCursor) as cur:
            await cur.execute(statement, args)
            return list(await cur.fetchall())
    finally:
        conn.close()


def dc_id(local: object) -> str:
    return encode_id(SITE, "DataCollection", str(local))


# --- identifiers ---------------------------------------------------------------------------------

COLLECTIONS_OF_CODE = """
SELECT DISTINCT dc.dataCollectionId AS id FROM DataCollection dc
JOIN DataCollectionGroup g ON g.dataCollectionGroupId = dc.dataCollectionGroupId
JOIN BLSample bs ON bs.blSampleId = COALESCE(g.blSampleId, dc.BLSAMPLEID)
JOIN Crystal c ON c.crystalId = bs.crystalId
JOIN Protein_has_PDB php ON php.proteinid = c.proteinId JOIN PDB p ON p.pdbId = php.pdbid
WHERE UPPER(p.code) = %s
UNION
SELECT api.dataCollectionId FROM PDBEntry pe JOIN AutoProcIntegration api ON api.autoProcProgramId = pe.autoProcProgramId
WHERE UPPER(pe.code) = %s
"""
FILTER_QUERY = "query($f: DataCollectionFilter) { dataCollections(filter: $f, first: 100) { totalCount edges { node { localId } } } }"


@pytest.mark.parametrize("code", ["8TLN", "8tln", "1ABC", "9ZZZ"])
async def test_pdb_id_filter_matches_sql(gql, citation_dsn, code):
    want = {str(r["id"]) for r in await sql(citation_dsn, COLLECTIONS_OF_CODE, (code.upper(), code.upper()))}
    body = await gql(FILTER_QUERY, {"f": {"pdbId": code}})
    assert "errors" not in body, body
    got = {e["node"]["localId"] for e in body["data"]["dataCollections"]["edges"]}
    assert got == want
    assert body["data"]["dataCollections"]["totalCount"] == len(want)
    if code.upper() in ("8TLN", "1ABC"):
        assert want  # the overlay links each code to at least one collection


async def test_pdb_id_filter_combines_with_sample_filter(gql, citation_dsn):
    rows = await sql(
        citation_dsn,
        "SELECT dc.dataCollectionId AS id FROM DataCollection dc JOIN DataCollectionGroup g"
        " ON g.dataCollectionGroupId = dc.dataCollectionGroupId JOIN BLSample bs ON bs.blSampleId = g.blSampleId"
        " WHERE bs.name = 'alice_therm_1'",
    )
    coded = {str(r["id"]) for r in await sql(citation_dsn, COLLECTIONS_OF_CODE, ("8TLN", "8TLN"))}
    body = await gql(FILTER_QUERY, {"f": {"pdbId": "8TLN", "sampleName": "alice_therm_1"}})
    got = {e["node"]["localId"] for e in body["data"]["dataCollections"]["edges"]}
    assert got == {str(r["id"]) for r in rows} & coded and got


async def test_has_doi_at_an_ispyb_site(gql, citation_dsn):
    """ISPyB v5 has no DOI column: true matches nothing, false matches every collection."""
    total = (await sql(citation_dsn, "SELECT COUNT(*) AS n FROM DataCollection"))[0]["n"]
    yes = await gql(FILTER_QUERY, {"f": {"hasDoi": True}})
    no = await gql(FILTER_QUERY, {"f": {"hasDoi": False}})
    assert yes["data"]["dataCollections"]["totalCount"] == 0
    assert no["data"]["dataCollections"]["totalCount"] == total


async def test_bad_pdb_id_is_a_coded_error(gql):
    body = await gql(FILTER_QUERY, {"f": {"pdbId": "not a code"}})
    assert body["data"] is None or body["data"]["dataCollections"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_pdb_entries_of_proteins_and_collections(gql, citation_dsn):
    rows = await sql(
        citation_dsn,
        "SELECT php.proteinid, p.code, p.name FROM Protein_has_PDB php JOIN PDB p ON p.pdbId = php.pdbid"
        " ORDER BY php.proteinid, p.pdbId",
    )
    assert {r["proteinid"] for r in rows} >= {123497, 990001}  # the real model and the overlay's entry
    for r in rows:
        body = await gql(
            "query($id: ID!) { node(id: $id) { ... on Protein { pdbEntries { pdbId name relation rcsbUrl } } } }",
            {"id": encode_id(SITE, "Protein", r["proteinid"])},
        )
        entries = body["data"]["node"]["pdbEntries"]
        code = r["code"].upper() if r["code"] else None
        assert {
            "pdbId": code,
            "name": r["name"],
            "relation": "protein",
            "rcsbUrl": f"https://www.rcsb.org/structure/{code}" if code else None,
        } in entries
    # Collection 990003: its sample's protein (121393) has none; its autoPROC program was matched to 1ABC.
    body = await gql(
        "query($id: ID!) { node(id: $id) { ... on DataCollection { doi { doi } archiveLinks { url }"
        " pdbEntries { pdbId relation title resolution pdbeUrl } } } }",
        {"id": dc_id(990003)},
    )
    node = body["data"]["node"]
    assert node["doi"] is None and node["archiveLinks"] == []
    assert node["pdbEntries"] == [
        {
            "pdbId": "1ABC",
            "relation": "processing",
            "title": "A matched entry",
            "resolution": 2.0,
            "pdbeUrl": "https://www.ebi.ac.uk/pdbe/entry/pdb/1abc",
        }
    ]


# --- the deposition mmCIF ------------------------------------------------------------------------

EXPORT = "query($id: ID!, $p: ID, $prog: String) { node(id: $id) { ... on DataCollection { export(format: MMCIF, processing: $p, program: $prog) } } }"
STATS = """
SELECT s.scalingStatisticsType AS kind, s.resolutionLimitLow AS low, s.resolutionLimitHigh AS high,
       s.completeness, s.multiplicity, s.meanIOverSigI AS isig, s.ccHalf, s.rMerge, app.processingPrograms AS program
FROM AutoProcScalingStatistics s JOIN AutoProcScaling sc ON sc.autoProcScalingId = s.autoProcScalingId
JOIN AutoProc ap ON ap.autoProcId = sc.autoProcId JOIN AutoProcProgram app ON app.autoProcProgramId = ap.autoProcProgramId
WHERE s.autoProcScalingId = %s ORDER BY s.autoProcScalingStatisticsId
"""
RESULTS = """
SELECT DISTINCT api.dataCollectionId AS dc, sc.autoProcScalingId AS id, ap.spaceGroup,
       ap.refinedCell_a AS a, ap.refinedCell_b AS b, ap.refinedCell_c AS c,
       ap.refinedCell_alpha AS alpha, ap.refinedCell_beta AS beta, ap.refinedCell_gamma AS gamma
FROM AutoProcIntegration api JOIN AutoProcScaling_has_Int shi ON shi.autoProcIntegrationId = api.autoProcIntegrationId
JOIN AutoProcScaling sc ON sc.autoProcScalingId = shi.autoProcScalingId JOIN AutoProc ap ON ap.autoProcId = sc.autoProcId
JOIN AutoProcProgram app ON app.autoProcProgramId = ap.autoProcProgramId
WHERE app.processingStatus = 1 AND api.dataCollectionId NOT BETWEEN 990001 AND 990099 ORDER BY 1, 2
"""


def block_of(text: str) -> gemmi.cif.Block:
    return gemmi.cif.read_string(text).sole_block()


def number(block: gemmi.cif.Block, tag: str) -> float | None:
    value = block.find_value(tag)
    return None if value in (None, "?", ".") else float(value)


def cc_half_fraction(row: dict) -> float:
    """The fixture's quirk (shared/fixtures/README.md): ccHalf is a percentage in fast_dp rows, a
    fraction elsewhere; mmCIF's _reflns.pdbx_CC_half is a correlation coefficient, -1..1."""
    return row["ccHalf"] / 100 if row["program"] == "fast_dp" else row["ccHalf"]


async def test_mmcif_of_each_fixture_result_matches_sql(gql, citation_dsn):
    results = await sql(citation_dsn, RESULTS)
    assert len({r["dc"] for r in results}) >= 2
    for res in results:
        dc = (
            await sql(
                citation_dsn,
                "SELECT wavelength, startTime FROM DataCollection WHERE dataCollectionId = %s",
                (res["dc"],),
            )
        )[0]
        body = await gql(EXPORT, {"id": dc_id(res["dc"]), "p": str(res["id"])})
        assert "errors" not in body, body
        check_against_dictionary(body["data"]["node"]["export"])
        block = block_of(body["data"]["node"]["export"])
        assert number(block, "_diffrn_radiation_wavelength.wavelength") == pytest.approx(
            dc["wavelength"], rel=1e-5
        )
        assert block.find_value("_diffrn_detector.pdbx_collection_date") == dc["startTime"].date().isoformat()
        assert gemmi.cif.as_string(block.find_value("_symmetry.space_group_name_H-M")) == res["spaceGroup"]
        for k in ("a", "b", "c", "alpha", "beta", "gamma"):
            tag = f"_cell.length_{k}" if len(k) == 1 else f"_cell.angle_{k}"
            assert number(block, tag) == pytest.approx(res[k], rel=1e-5)
        stats = {r["kind"]: r for r in await sql(citation_dsn, STATS, (res["id"],))}
        overall, outer = stats["overall"], stats["outerShell"]
        assert number(block, "_reflns.d_resolution_high") == pytest.approx(overall["high"], rel=1e-5)
        assert number(block, "_reflns.d_resolution_low") == pytest.approx(overall["low"], rel=1e-5)
        assert number(block, "_reflns.percent_possible_obs") == pytest.approx(
            overall["completeness"], rel=1e-5
        )
        assert number(block, "_reflns.pdbx_redundancy") == pytest.approx(overall["multiplicity"], rel=1e-5)
        assert number(block, "_reflns.pdbx_CC_half") == pytest.approx(cc_half_fraction(overall), rel=1e-5)
        assert -1 <= number(block, "_reflns.pdbx_CC_half") <= 1
        table = block.find(
            "_reflns_shell.", ["d_res_high", "d_res_low", "percent_possible_all", "pdbx_CC_half"]
        )
        shells = {round(float(row[0]), 4): row for row in table}
        row = shells[round(outer["high"], 4)]
        assert float(row[1]) == pytest.approx(outer["low"], rel=1e-5)
        assert float(row[2]) == pytest.approx(outer["completeness"], rel=1e-5)
        assert float(row[3]) == pytest.approx(cc_half_fraction(outer), rel=1e-5)


async def test_mmcif_takes_the_best_result_by_default(gql, citation_dsn):
    rows = await sql(
        citation_dsn,
        "SELECT api.dataCollectionId AS dc, MIN(s.resolutionLimitHigh) AS best FROM AutoProcIntegration api"
        " JOIN AutoProcScaling_has_Int shi ON shi.autoProcIntegrationId = api.autoProcIntegrationId"
        " JOIN AutoProcScalingStatistics s ON s.autoProcScalingId = shi.autoProcScalingId"
        " JOIN AutoProcProgram app ON app.autoProcProgramId = api.autoProcProgramId"
        " WHERE s.scalingStatisticsType = 'overall' AND app.processingStatus = 1 GROUP BY 1",
    )
    assert rows
    for r in rows:
        block = block_of((await gql(EXPORT, {"id": dc_id(r["dc"])}))["data"]["node"]["export"])
        assert number(block, "_reflns.d_resolution_high") == pytest.approx(r["best"], rel=1e-5)
    # by pipeline: the best xia2 3dii result of 993677 (SQL above, restricted to the program)
    xia2 = await sql(
        citation_dsn,
        "SELECT MIN(s.resolutionLimitHigh) AS best FROM AutoProcIntegration api"
        " JOIN AutoProcScaling_has_Int shi ON shi.autoProcIntegrationId = api.autoProcIntegrationId"
        " JOIN AutoProcScalingStatistics s ON s.autoProcScalingId = shi.autoProcScalingId"
        " JOIN AutoProcProgram app ON app.autoProcProgramId = api.autoProcProgramId"
        " WHERE s.scalingStatisticsType = 'overall' AND app.processingStatus = 1"
        " AND app.processingPrograms = 'xia2 3dii' AND api.dataCollectionId = 993677",
    )
    block = block_of((await gql(EXPORT, {"id": dc_id(993677), "prog": "3dii"}))["data"]["node"]["export"])
    assert number(block, "_reflns.d_resolution_high") == pytest.approx(xia2[0]["best"], rel=1e-5)


async def test_mmcif_detector_and_source(gql, citation_dsn):
    """Collection 990002 (overlay) has a detector row; its beamline is its session's."""
    det = (
        await sql(
            citation_dsn,
            "SELECT d.detectorManufacturer AS m, d.detectorModel AS model, s.beamLineName AS bl FROM DataCollection dc"
            " JOIN Detector d ON d.detectorId = dc.detectorId JOIN DataCollectionGroup g ON g.dataCollectionGroupId"
            " = dc.dataCollectionGroupId JOIN BLSession s ON s.sessionId = g.sessionId WHERE dc.dataCollectionId = 990002",
        )
    )[0]
    block = block_of((await gql(EXPORT, {"id": dc_id(990002)}))["data"]["node"]["export"])
    assert (
        gemmi.cif.as_string(block.find_value("_diffrn_detector.type")) == f"{det['m']} {det['model']}".upper()
    )
    assert block.find_value("_diffrn_detector.detector") == "PIXEL"  # a DECTRIS Eiger: hybrid pixel
    assert block.find_value("_diffrn_source.source") == "SYNCHROTRON"
    assert (
        gemmi.cif.as_string(block.find_value("_diffrn_source.pdbx_synchrotron_beamline")) == det["bl"].upper()
    )


async def test_unknown_processing_and_format_are_coded_errors(gql):
    body = await gql(EXPORT, {"id": dc_id(993677), "p": "1"})
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    body = await gql(EXPORT, {"id": dc_id(993677), "prog": "no-such-pipeline"})
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    body = await gql(EXPORT, {"id": dc_id(993677), "prog": "x" * 1000})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    body = await gql(EXPORT, {"id": dc_id(993677), "p": encode_id("elsewhere", "ProcessingResult", "596133")})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    body = await gql(
        "query($id: ID!) { node(id: $id) { ... on DataCollection { export(format: PDF) } } }",
        {"id": dc_id(993677)},
    )
    assert body.get("data") is None
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
