"""Identifiers in the native store (migration 010): DOIs at three levels, PDB entries, archive links,
the hasDoi / pdbId filters and the export's related data set, checked against SQL on the store."""

from __future__ import annotations

import datetime as dt

import asyncpg
import gemmi
import httpx
import pytest

from mx_schema.ids import encode_id
from site_adapter.app import create_app
from site_adapter.backends.native import NativeBackend
from site_adapter.backends.native.loader import load_demo
from tests.fixtures.sites import GraphQLClient
from tests.site_adapter.export.pdbx_subset import check_against_dictionary

SITE = "diamond"
OPEN = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
async def store(native_dsn):
    """A small demo Diamond (it mints no session DOIs) plus one DOI at each level, a PDB entry on a
    processing result and an archive link; returns the DSN and the ids the rows hang on."""
    conn = await asyncpg.connect(native_dsn)
    try:
        await load_demo(conn, SITE, 60)
        dcs = await conn.fetch(
            "SELECT dc.id, dc.group_id, dc.session_id FROM data_collection dc ORDER BY dc.id LIMIT 60"
        )
        own, grouped = dcs[0], next(r for r in dcs if r["group_id"] != dcs[0]["group_id"])
        session = next(
            r["session_id"] for r in dcs if r["session_id"] not in (own["session_id"], grouped["session_id"])
        )
        result = await conn.fetchrow(
            "SELECT pr.id, pr.data_collection_id FROM processing_result pr WHERE pr.status = 'SUCCESS' ORDER BY pr.id LIMIT 1"
        )
        await conn.execute(
            "INSERT INTO doi (doi, licence, open_from, data_collection_id) VALUES ('10.5281/zenodo.51405', 'CC-BY-4.0', $1, $2)",
            OPEN,
            own["id"],
        )
        await conn.execute(
            "INSERT INTO doi (doi, data_collection_group_id) VALUES ('10.1234/dataset.7', $1)",
            grouped["group_id"],
        )
        await conn.execute("INSERT INTO doi (doi, session_id) VALUES ('10.1234/session.9', $1)", session)
        await conn.execute(
            "INSERT INTO pdb_entry (pdb_id, title, resolution, processing_result_id) VALUES ('7ABC', 'Deposited', 1.4, $1)",
            result["id"],
        )
        await conn.execute(
            "INSERT INTO archive_link (data_collection_id, url, kind) VALUES ($1, 'https://archive.example/dc', 'landing-page')",
            own["id"],
        )
    finally:
        await conn.close()
    return {
        "dsn": native_dsn,
        "own": own["id"],
        "grouped": grouped["id"],
        "session": session,
        "result": result,
    }


@pytest.fixture
async def gql(store):
    app = create_app(NativeBackend(store["dsn"]), site=SITE)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://n.test") as c:
            yield GraphQLClient(c)


async def fetch(dsn: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


FILTER = "query($f: DataCollectionFilter) { dataCollections(filter: $f, first: 200) { totalCount edges { node { localId } } } }"


def ids(body: dict) -> set[str]:
    assert "errors" not in body, body
    return {e["node"]["localId"] for e in body["data"]["dataCollections"]["edges"]}


async def test_has_doi_matches_sql(gql, store):
    cited = await fetch(
        store["dsn"],
        "SELECT dc.id FROM data_collection dc WHERE EXISTS (SELECT 1 FROM doi d WHERE d.data_collection_id = dc.id"
        " OR d.data_collection_group_id = dc.group_id OR d.session_id = dc.session_id)",
    )
    every = await fetch(store["dsn"], "SELECT id FROM data_collection")
    want = {str(r["id"]) for r in cited}
    assert {str(store["own"]), str(store["grouped"])} <= want and len(want) < len(every)
    assert ids(await gql(FILTER, {"f": {"hasDoi": True}})) == want
    assert ids(await gql(FILTER, {"f": {"hasDoi": False}})) == {str(r["id"]) for r in every} - want


async def test_pdb_id_matches_sql(gql, store):
    rows = await fetch(
        store["dsn"],
        "SELECT dc.id FROM data_collection dc JOIN processing_result pr ON pr.data_collection_id = dc.id"
        " JOIN pdb_entry pe ON pe.processing_result_id = pr.id WHERE pe.pdb_id = '7ABC'"
        " UNION SELECT dc.id FROM data_collection dc JOIN pdb_entry pe ON pe.protein_id = dc.protein_id"
        " WHERE pe.pdb_id = '7ABC'",
    )
    assert ids(await gql(FILTER, {"f": {"pdbId": "7abc"}})) == {str(r["id"]) for r in rows} != set()
    protein = await fetch(
        store["dsn"],
        "SELECT DISTINCT dc.id FROM data_collection dc JOIN pdb_entry pe ON pe.protein_id = dc.protein_id"
        " WHERE pe.pdb_id = '1LYZ'",
    )
    assert protein and ids(await gql(FILTER, {"f": {"pdbId": "pdb_00001lyz"}})) == {
        str(r["id"]) for r in protein
    }


async def test_most_specific_doi_and_its_fields(gql, store):
    query = (
        "query($id: ID!) { node(id: $id) { ... on DataCollection { doi { doi url level licence openFrom }"
        " archiveLinks { url kind } session { doi { doi } } } } }"
    )
    own = (await gql(query, {"id": encode_id(SITE, "DataCollection", store["own"])}))["data"]["node"]
    assert own["doi"] == {
        "doi": "10.5281/zenodo.51405",
        "url": "https://doi.org/10.5281/zenodo.51405",
        "level": "collection",
        "licence": "CC-BY-4.0",
        "openFrom": "2030-01-01T00:00:00+00:00",
    }
    assert own["archiveLinks"] == [{"url": "https://archive.example/dc", "kind": "landing-page"}]
    grouped = (await gql(query, {"id": encode_id(SITE, "DataCollection", store["grouped"])}))["data"]["node"]
    assert grouped["doi"]["level"] == "dataset" and grouped["doi"]["doi"] == "10.1234/dataset.7"
    in_session = await fetch(
        store["dsn"], "SELECT id FROM data_collection WHERE session_id = $1 LIMIT 1", store["session"]
    )
    node = (await gql(query, {"id": encode_id(SITE, "DataCollection", in_session[0]["id"])}))["data"]["node"]
    assert node["doi"]["level"] == "session" and node["session"]["doi"] == {"doi": "10.1234/session.9"}


async def test_export_carries_the_raw_data_doi_and_the_entry(gql, store):
    dc = store["result"]["data_collection_id"]
    body = await gql(
        "query($id: ID!, $p: ID) { node(id: $id) { ... on DataCollection { pdbEntries { pdbId relation }"
        " export(format: MMCIF, processing: $p) } } }",
        {
            "id": encode_id(SITE, "DataCollection", dc),
            "p": encode_id(SITE, "ProcessingResult", store["result"]["id"]),
        },
    )
    node = body["data"]["node"]
    assert {"pdbId": "7ABC", "relation": "processing"} in node["pdbEntries"]
    check_against_dictionary(node["export"])
    block = gemmi.cif.read_string(node["export"]).sole_block()
    want = await fetch(
        store["dsn"],
        "SELECT (overall->>'resolution_high')::float8 AS high, (overall->>'cc_half')::float8 AS cc FROM processing_result WHERE id = $1",
        store["result"]["id"],
    )
    assert float(block.find_value("_reflns.d_resolution_high")) == pytest.approx(want[0]["high"], rel=1e-5)
    assert float(block.find_value("_reflns.pdbx_CC_half")) == pytest.approx(want[0]["cc"], rel=1e-5)
    doi = await fetch(
        store["dsn"],
        "SELECT d.doi FROM data_collection dc JOIN doi d ON d.data_collection_id = dc.id OR d.data_collection_group_id"
        " = dc.group_id OR d.session_id = dc.session_id WHERE dc.id = $1 ORDER BY d.data_collection_id IS NULL,"
        " d.data_collection_group_id IS NULL LIMIT 1",
        dc,
    )
    if doi:
        assert block.find_value("_pdbx_related_exp_data_set.data_reference") == doi[0]["doi"]
    else:
        assert block.find_value("_pdbx_related_exp_data_set.data_reference") is None
    own = await gql(
        "query($id: ID!) { node(id: $id) { ... on DataCollection { export(format: MMCIF) } } }",
        {"id": encode_id(SITE, "DataCollection", store["own"])},
    )
    own_block = gemmi.cif.read_string(own["data"]["node"]["export"]).sole_block()
    assert own_block.find_value("_pdbx_related_exp_data_set.data_reference") == "10.5281/zenodo.51405"
