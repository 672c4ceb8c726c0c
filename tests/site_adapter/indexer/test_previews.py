"""Previews (issue 22) of the real fixtures: made at index time, stored, still served after the raw files
are deleted; on-demand views while the files exist; coded 4xx for bad input. Real PostgreSQL, real files
copied to tmp_path (they are deleted), the site app over ASGI. Pixel expectations come from fabio (the
field's CBF reader) and from the data h5py wrote, never from our decoder."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import asyncpg
import h5py
import httpx
import numpy as np
import pytest
from PIL import Image

from mx_schema.ids import encode_id
from site_adapter.app import create_app
from site_adapter.backends.native import NativeBackend
from site_adapter.indexer.frames import read_frame
from site_adapter.indexer.previews import BAD, GAP, LEVELS, OVERLOAD, block_max, heat_map, render
from site_adapter.indexer.scan import run_scan

EIGER = "image_examples/dectris_eiger_master.h5"


def _png(data: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    return np.asarray(image)


# --- pure -----------------------------------------------------------------------------------------


def test_block_max_is_the_maximum_of_each_block():
    rng = np.random.default_rng(7)
    pixels = rng.integers(-2, 1000, size=(23, 31)).astype(np.int32)
    got = block_max(pixels, 4)
    assert got.shape == (5, 7)
    for i in range(5):
        for j in range(7):
            assert got[i, j] == pixels[4 * i : 4 * i + 4, 4 * j : 4 * j + 4].max()


def test_masks_and_overloads_have_their_own_colours():
    pixels = np.zeros((8, 8), dtype=np.int32)
    pixels[0, :] = -1  # a gap row
    pixels[1, :] = -2  # bad pixels
    pixels[2, 3] = 5000  # an overload at cutoff 4000
    pixels[4, 4] = 10
    indices = _png(render(pixels, 8, count_cutoff=4000).data)
    assert set(indices[0]) == {GAP} and set(indices[1]) == {BAD}
    assert indices[2, 3] == OVERLOAD
    assert indices[4, 4] > 0 and indices[5, 5] == 0  # counts darker than no counts


def test_pilatus_frame_preview_against_fabio(images):
    fabio = pytest.importorskip("fabio")
    path = images / "l_cysteine/l-cyst_01_00001.cbf"
    reference = fabio.open(str(path)).data.astype(np.int64)
    frame = read_frame(str(path))
    assert frame.pixels.shape == reference.shape  # (slow, fast) as fabio gives it
    assert frame.total_counts == int(reference[reference >= 0].sum())
    picture = render(frame.pixels, 512, frame.count_cutoff)
    k = picture.binning
    assert k == int(np.ceil(max(reference.shape) / 512))
    indices = _png(picture.data)
    assert (
        indices.shape == (picture.height, picture.width) == (reference.shape[0] // k, reference.shape[1] // k)
    )
    # Where fabio's blocks are all module gaps the picture shows the gap colour, and nowhere else.
    cropped = reference[: indices.shape[0] * k, : indices.shape[1] * k]
    blocks = cropped.reshape(indices.shape[0], k, indices.shape[1], k)
    all_gap = (blocks == -1).all(axis=(1, 3))
    assert all_gap.any()
    assert np.array_equal(indices == GAP, all_gap)
    # The brightest block is drawn at the darkest grey (or as an overload).
    i, j = np.unravel_index(np.argmax(blocks.max(axis=(1, 3))), indices.shape)
    assert indices[i, j] in (LEVELS - 1, OVERLOAD)


def test_heat_map_cells_follow_the_counts():
    indices = _png(heat_map([0, 10, 20, None], 4).data)
    assert indices.shape == (4, 4)  # 2 x 2 cells of 2 px
    assert indices[0, 0] == 0 and indices[0, 2] > 0 and indices[2, 0] == LEVELS - 1 and indices[2, 2] == GAP


# --- indexed, deleted, still served ---------------------------------------------------------------


def _write_eiger_data(master: Path) -> np.ndarray:
    """The fixture master's missing data file, made here with bitshuffle/LZ4 as a DECTRIS Eiger writes it:
    one 3269 x 3110 uint16 frame, a few spots, one masked row (the all-ones value)."""
    hdf5plugin = pytest.importorskip("hdf5plugin")
    data = np.zeros((1, 3269, 3110), dtype=np.uint16)
    data[0, 1000:1003, 1500:1503] = 900
    data[0, 2000, 100] = 400
    data[0, 551, :] = 0xFFFF
    with h5py.File(master.parent / "dectris_eiger_data_000001.h5", "w") as f:
        f.create_dataset(
            "entry/data/data", data=data, chunks=(1, 3269, 3110), **hdf5plugin.Bitshuffle(cname="lz4")
        )
    return data


@pytest.fixture
def raw(images, tmp_path) -> Path:
    """Copies of the real fixtures (they get deleted): a 2M sweep, the 6M grid (.cbf.bz2), the I23 12M
    (.cbf.gz), and the Eiger master with a data file made here."""
    root = tmp_path / "raw"
    for src, dst in (
        (images / "l_cysteine", root / "lcys"),
        (images / "thaumatin_grid", root / "grid"),
    ):
        dst.mkdir(parents=True)
        pattern, n = ("l-cyst_01_*.cbf", 15) if "l_cysteine" in str(src) else ("*.cbf.bz2", 9)
        for p in sorted(src.glob(pattern))[:n]:
            shutil.copy(p, dst / p.name)
    (root / "i23").mkdir()
    shutil.copy(images / "image_examples/DLS_I23_P12M_thau_00001.cbf.gz", root / "i23")
    (root / "eiger").mkdir()
    shutil.copy(images / EIGER, root / "eiger")
    return root


async def _get(app, path: str, **params) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://lab.test") as c:
        return await c.get(path, params=params or None)


async def test_previews_outlive_the_raw_files(native_dsn, raw):
    written = _write_eiger_data(raw / "eiger" / "dectris_eiger_master.h5")
    conn = await asyncpg.connect(native_dsn)
    try:
        await conn.execute(
            "INSERT INTO data_collection (id, image_directory, file_template, start_image_number, number_of_images)"
            " VALUES (7, $1, 'l-cyst_01_#####.cbf', 1, 15)",
            str(raw / "lcys"),
        )
        summary = await run_scan(conn, [str(raw)], site="lab", previews=True)
        assert not summary.failed, summary.failed
        sets = {s["template"]: s for s in summary.sweeps}
        assert set(sets) == {
            "l-cyst_01_#####.cbf",
            "thau_3_2_####.cbf",
            "DLS_I23_P12M_thau_#####.cbf",
            "dectris_eiger_master.h5",
        }
        stored = {
            (r["template"], r["kind"], r["image_number"], r["size"]): (r["width"], r["height"], r["binning"])
            for r in await conn.fetch(
                "SELECT s.template, p.kind, p.image_number, p.size, p.width, p.height, p.binning"
                " FROM image_preview p JOIN image_set s ON s.id = p.image_set_id"
            )
        }
        # First, middle and last of the 15-image sweep; every size.
        assert {k[2] for k in stored if k[0] == "l-cyst_01_#####.cbf"} == {1, 8, 15}
        assert stored[("l-cyst_01_#####.cbf", "frame", 1, 1024)] == (1475 // 2, 1679 // 2, 2)
        assert stored[("DLS_I23_P12M_thau_#####.cbf", "frame", 1, 512)] == (2463 // 10, 5071 // 10, 10)
        assert ("thau_3_2_####.cbf", "heatmap", 0, 512) in stored
        assert stored[("dectris_eiger_master.h5", "frame", 1, 512)] == (3110 // 7, 3269 // 7, 7)
        # The grid's counts per image, each against fabio's sum of the frame.
        fabio = pytest.importorskip("fabio")
        counts = dict(
            await conn.fetch(
                "SELECT name, total_counts FROM image_file WHERE name LIKE 'thau_3_2_%' ORDER BY name"
            )
        )
        assert len(counts) == 9
        for name in ("thau_3_2_0001.cbf.bz2", "thau_3_2_0009.cbf.bz2"):
            data = fabio.open(str(raw / "grid" / name)).data.astype(np.int64)
            assert counts[name] == int(data[data >= 0].sum())
    finally:
        await conn.close()

    backend = NativeBackend(native_dsn)
    await backend.start()
    try:
        app = create_app(backend, site="lab", manage_backend=False)
        lcys = sets["l-cyst_01_#####.cbf"]["image_set"]
        eiger = sets["dectris_eiger_master.h5"]["image_set"]
        # While the files exist: any frame and any region, on demand.
        r = await _get(app, f"/previews/{lcys}/view", frame=5, x=100, y=200, w=300, h=100, bin=2)
        assert r.status_code == 200, r.text
        assert _png(r.content).shape == (50, 150)
        r = await _get(app, f"/previews/{eiger}/view", frame=1, x=1400, y=900, w=200, h=200, bin=1)
        assert r.status_code == 200, r.text
        region = _png(r.content)
        spot = written[0, 1000:1003, 1500:1503]
        assert (region[100:103, 100:103] == LEVELS - 1).all() and spot.max() == 900
        r = await _get(app, f"/previews/{eiger}/view", frame=1, x=0, y=540, w=64, h=20)
        assert set(_png(r.content)[11]) == {GAP}  # the masked row, in the gap colour
        # Bad input, coded.
        for params, status, code in (
            ({"frame": 16}, 404, "FRAME_OUT_OF_RANGE"),
            ({"frame": 1, "x": 1400, "y": 0, "w": 200, "h": 10}, 400, "REGION_OUTSIDE_DETECTOR"),
            ({"frame": "one"}, 400, "BAD_USER_INPUT"),
        ):
            r = await _get(app, f"/previews/{lcys}/view", **params)
            assert r.status_code == status and r.json()["errors"][0]["extensions"]["code"] == code, r.text
        r = await _get(app, "/previews/not-an-id/frames/1")
        assert r.status_code == 400 and r.json()["errors"][0]["extensions"]["code"] == "INVALID_ID"
        r = await _get(app, f"/previews/{encode_id('lab', 'ImageSet', 999999)}")
        assert r.status_code == 404 and r.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    finally:
        await backend.close()

    shutil.rmtree(raw)  # the facility's retention period ends
    conn = await asyncpg.connect(native_dsn)
    try:
        await run_scan(conn, [str(raw.parent)], site="lab", previews=True)  # marks the files gone
        gone = await conn.fetchval("SELECT count(*) FROM image_file WHERE gone_at IS NOT NULL")
        assert gone == 15 + 9 + 1 + 1
    finally:
        await conn.close()
    backend = NativeBackend(native_dsn)
    await backend.start()
    try:
        app = create_app(backend, site="lab", manage_backend=False)
        for s in sets.values():
            listing = (await _get(app, f"/previews/{s['image_set']}")).json()
            assert listing["rawFilesPresent"] == 0 and listing["previews"], listing
            for p in listing["previews"]:
                r = await _get(app, p["url"])
                assert r.status_code == 200, (p, r.text)
                assert _png(r.content).shape == (p["height"], p["width"])
        r = await _get(app, f"/previews/{lcys}/view", frame=5)
        assert r.status_code == 410 and r.json()["errors"][0]["extensions"]["code"] == "RAW_FILE_GONE"
        r = await _get(app, f"/previews/{lcys}/frames/8", size=512)  # stored: still served
        assert r.status_code == 200
        # GraphQL lists the same previews, with counts per image.
        q = """query($id: ID!) { node(id: $id) { ... on DataCollection { images { id previews { kind frame size url }
                 countsPerImage { image counts } ringGeometry(dSpacings: [3.0]) } } } }"""
        dc = encode_id("lab", "DataCollection", 7)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://lab.test") as c:
            body = (await c.post("/graphql", json={"query": q, "variables": {"id": dc}})).json()
        assert "errors" not in body, body
        (node,) = body["data"]["node"]["images"]
        assert node["id"] == lcys and [r["d"] for r in node["ringGeometry"]["rings"]] == [3.0]
        assert {(p["frame"], p["size"]) for p in node["previews"]} == {
            (n, s) for n in (1, 8, 15) for s in (512, 1024)
        }
        assert [c["image"] for c in node["countsPerImage"]] == [1, 8, 15]
    finally:
        await backend.close()


def test_the_frame_cache_keeps_recent_values_within_its_bound():
    from site_adapter.indexer.frame_cache import ByteLru

    cache: ByteLru[bytes] = ByteLru(10, len)
    cache.put("a", b"1234")
    cache.put("b", b"5678")
    assert cache.get("a") == b"1234"  # now the most recent
    cache.put("c", b"90ab")  # over 10 bytes: the least recent ("b") goes
    assert cache.get("b") is None and cache.get("a") == b"1234" and cache.get("c") == b"90ab"
    cache.put("big", b"x" * 11)  # larger than the bound: not kept, nothing evicted for it
    assert cache.get("big") is None and len(cache) == 2 and cache.bytes == 8


@pytest.mark.parametrize("switch", [["--no-previews"], ["env"]])
def test_the_preview_step_can_be_switched_off(native_dsn, images, tmp_path, switch, monkeypatch):
    import asyncio

    from click.testing import CliRunner

    from mxhub.commands.index import index

    tree = tmp_path / "lcys"
    tree.mkdir()
    for f in sorted((images / "l_cysteine").glob("l-cyst_02_*.cbf"))[:3]:
        shutil.copy(f, tree / f.name)
    args = [str(tree), "--json", "--dsn", native_dsn, "--workers", "1"]
    if switch == ["env"]:
        monkeypatch.setenv("MXHUB_INDEX_PREVIEWS", "0")
    else:
        args += switch
    result = CliRunner().invoke(index, args)
    assert result.exit_code == 0, result.output

    async def stored() -> int:
        conn = await asyncpg.connect(native_dsn)
        try:
            return int(await conn.fetchval("SELECT count(*) FROM image_preview"))
        finally:
            await conn.close()

    assert asyncio.run(stored()) == 0
    monkeypatch.delenv("MXHUB_INDEX_PREVIEWS", raising=False)
    rerun = CliRunner().invoke(index, [str(tree), "--json", "--dsn", native_dsn, "--workers", "1"])
    assert rerun.exit_code == 0, rerun.output
    assert asyncio.run(stored()) == 3 * 2  # on by default: three frames, two sizes
