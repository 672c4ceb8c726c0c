"""`mxhub export ID --format mmcif` against a real ISPyB site, a site with an embargo, and the hub with
the demo sites and LIMS (where `_exptl_crystal_grow` comes from the LIMS record)."""

from __future__ import annotations

from contextlib import ExitStack

import asyncmy
import asyncpg
import gemmi
import httpx
import pytest
from click.testing import CliRunner

from mx_schema.ids import decode_id, encode_id
from mxhub.cli import main
from site_adapter.access import AccessPolicy, EmbargoPolicy
from site_adapter.app import create_app
from site_adapter.backends.ispyb import IspybBackend
from site_adapter.lims.app import create_lims_app
from site_adapter.lims.store import LimsStore
from tests.fixtures.mariadb import connect_kwargs
from tests.fixtures.sites import serve_in_thread
from tests.site_adapter.export.pdbx_subset import check_against_dictionary


async def ispyb_row(dsn: str, sql: str, args: tuple = ()) -> dict:
    conn = await asyncmy.connect(**connect_kwargs(dsn), db=dsn.rsplit("/", 1)[1])
    try:
        async with conn.cursor(asyncmy.cursors.DictCursor) as cur:
            await cur.execute(sql, args)
            return dict(await cur.fetchone())
    finally:
        conn.close()


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["export", *args], env={"MXHUB_URL": None, "MXHUB_HUB_URL": None})
    return result.exit_code, result.stdout, result.stderr


async def test_export_a_site_local_id_from_an_ispyb_site(ispyb_dsn):
    want = await ispyb_row(ispyb_dsn, "SELECT wavelength FROM DataCollection WHERE dataCollectionId = 993677")
    with serve_in_thread(create_app(IspybBackend(ispyb_dsn, pool_size=2), site="dls")) as url:
        code, out, err = run("993677", "--site", "dls", "--url", url, "--format", "mmcif")
        assert code == 0, err
        check_against_dictionary(out)
        block = gemmi.cif.read_string(out).sole_block()
        assert float(block.find_value("_diffrn_radiation_wavelength.wavelength")) == pytest.approx(
            want["wavelength"], rel=1e-5
        )
        assert block.find_value("_exptl_crystal_grow.method") is None  # a site alone knows no LIMS
        code, out, err = run("993677", "--url", url)
        assert code == 1 and "--site" in err and out == ""


async def test_an_embargoed_collection_is_not_exported(ispyb_dsn, hub_tokens):
    """Every session is under a 500-year embargo: an anonymous caller gets NOT_FOUND and no metadata;
    a member of the proposal (boaty, cm14451) gets the fragment, so the refusal is the embargo's."""
    policy = AccessPolicy(trusted_keys=[hub_tokens.public_key], embargo=EmbargoPolicy(default_years=500))
    app = create_app(IspybBackend(ispyb_dsn, pool_size=2), site="dls", access_policy=policy)
    gid = encode_id("dls", "DataCollection", "993677")
    with serve_in_thread(app) as url:
        code, out, err = run(gid, "--url", url)
        assert code == 1 and out == "" and "NOT_FOUND" in err
        query = "query($id: ID!) { node(id: $id) { ... on DataCollection { export(format: MMCIF) } } }"
        async with httpx.AsyncClient(base_url=url) as c:
            anonymous = (await c.post("/graphql", json={"query": query, "variables": {"id": gid}})).json()
            member = (
                await c.post(
                    "/graphql",
                    json={"query": query, "variables": {"id": gid}},
                    headers=hub_tokens.headers(hub_tokens("dls", login="boaty")),
                )
            ).json()
    assert anonymous["data"]["node"] is None and "1.28255" not in str(anonymous)
    assert "_diffrn_radiation_wavelength.wavelength" in member["data"]["node"]["export"]


@pytest.fixture
async def federation(running_hub, demo_sites, lims_demo_dsn):
    with ExitStack() as stack:
        lims = stack.enter_context(
            serve_in_thread(create_lims_app(LimsStore(lims_demo_dsn, min_size=1, max_size=2), name="lims"))
        )
        for name, url in demo_sites.items():
            assert "errors" not in await running_hub.register(name, url)
        assert "errors" not in await running_hub.register("lims", lims, kind="lims")
        yield running_hub


async def test_export_through_the_hub_adds_the_lims_crystallisation(federation, esrf_demo_dsn):
    hub = federation
    body = await hub.query(
        '{ dataCollections(filter: {site: "esrf"}, first: 100) { edges { node { id'
        " sample { crystallisation { method ph temperature } } } } } }"
    )
    assert "errors" not in body, body
    node = next(
        e["node"] for e in body["data"]["dataCollections"]["edges"] if e["node"]["sample"]["crystallisation"]
    )
    xtal = node["sample"]["crystallisation"]
    code, out, err = run(node["id"], "--url", hub.url)
    assert code == 0, err
    check_against_dictionary(out)
    block = gemmi.cif.read_string(out).sole_block()
    assert gemmi.cif.as_string(block.find_value("_exptl_crystal_grow.method")) == xtal["method"]
    assert float(block.find_value("_exptl_crystal_grow.pH")) == pytest.approx(xtal["ph"])
    assert float(block.find_value("_exptl_crystal_grow.temp")) == pytest.approx(xtal["temperature"])
    # ESRF mints a DOI per session: the demo's is 10.15151/ESRF-ES-<session id> (site_adapter/demo_data.py)
    conn = await asyncpg.connect(esrf_demo_dsn)
    try:
        doi = await conn.fetchval(
            "SELECT d.doi FROM data_collection dc JOIN doi d ON d.session_id = dc.session_id WHERE dc.id = $1",
            int(decode_id(node["id"]).local_id),
        )
    finally:
        await conn.close()
    assert doi and block.find_value("_pdbx_related_exp_data_set.data_reference") == doi
    code, out, _ = run(node["id"], "--url", hub.url, "--no-lims")
    assert code == 0 and "_exptl_crystal_grow" not in out
