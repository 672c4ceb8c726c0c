"""DataCollection.images and reprocessing from an indexed header: real Pilatus images, real PostgreSQL."""

from __future__ import annotations

import os
import re

import asyncpg
import httpx
import pytest

from mx_schema.ids import encode_id
from site_adapter.app import create_app
from site_adapter.backends.native import NativeBackend
from site_adapter.indexer.scan import run_scan
from tests.fixtures.images import fixtures_root

FIXTURES = fixtures_root()  # tests link fixture images into temporary trees


async def test_indexed_sweep_is_served_with_its_header_and_feeds_reprocessing(native_dsn, images, tmp_path):
    tree = tmp_path / "dls" / "i19-1" / "l-cyst"
    tree.mkdir(parents=True)
    for f in sorted((images / "l_cysteine").glob("l-cyst_01_*.cbf")):
        os.symlink(f, tree / f.name)
    conn = await asyncpg.connect(native_dsn)
    try:
        # A collection that knows only where its images are: geometry must come from the header.
        await conn.execute(
            "INSERT INTO data_collection (id, image_directory, file_template, start_image_number, number_of_images,"
            " experiment_type) VALUES (7, $1, 'l-cyst_01_#####.cbf', 1, 15, 'OSC')",
            str(tree) + "/",
        )
        summary = await run_scan(conn, [str(tmp_path)], follow_links_into=[str(FIXTURES)], site="lab")
    finally:
        await conn.close()
    assert summary.to_dict()["sweeps"][0]["linked"] == encode_id("lab", "DataCollection", 7)
    backend = NativeBackend(native_dsn)
    await backend.start()
    try:
        app = create_app(backend, site="lab", manage_backend=False)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://lab.test") as c:
            q = """query($id: ID!) { node(id: $id) { ... on DataCollection { images { template first last count
                     missing kind verified format header(imageNumber: 3) } reprocessing { xdsInp } } } }"""
            body = (
                await c.post(
                    "/graphql", json={"query": q, "variables": {"id": encode_id("lab", "DataCollection", 7)}}
                )
            ).json()
    finally:
        await backend.close()
    assert "errors" not in body, body
    node = body["data"]["node"]
    (sweep,) = node["images"]
    assert (
        sweep["template"],
        sweep["first"],
        sweep["last"],
        sweep["count"],
        sweep["missing"],
        sweep["kind"],
    ) == ("l-cyst_01_#####.cbf", 1, 15, 15, [], "rotation")
    header = sweep["header"]
    assert header["detector"].upper().startswith("PILATUS") and header["wavelength"] == pytest.approx(
        0.6889, abs=1e-3
    )
    xds = node["reprocessing"]["xdsInp"]
    wavelength = float(re.search(r"X-RAY_WAVELENGTH=\s*([0-9.]+)", xds).group(1))
    orgx = float(re.search(r"ORGX=\s*([0-9.]+)", xds).group(1))
    assert wavelength == pytest.approx(header["wavelength"], abs=1e-5)
    assert orgx == pytest.approx(header["beam_x"], abs=0.01)
