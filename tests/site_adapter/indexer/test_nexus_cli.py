"""NXmx masters through the commands: `mxhub index --json` (one sweep per master, bad masters listed
and the batch going on) against a real PostgreSQL site store, and `mxhub reprocess --image x_master.h5`."""

from __future__ import annotations

import asyncio
import json
import re

import asyncpg
import h5py
import numpy as np
from click.testing import CliRunner

from mxhub.commands.index import index
from mxhub.commands.reprocess import reprocess
from site_adapter.indexer import store
from tests.site_adapter.indexer.test_nexus_geometry import BEAM, DISTANCE, WAVELENGTH, write_master


def _stored_header(dsn: str, image_set: str) -> dict:
    async def go() -> dict:
        conn = await asyncpg.connect(dsn)
        try:
            local = str(await conn.fetchval("SELECT id FROM image_set WHERE template = $1", image_set))
            return await store.image_header(conn, local, 1)
        finally:
            await conn.close()

    return asyncio.run(go())


def test_index_masters_one_sweep_each_and_bad_ones_listed(native_dsn, tmp_path):
    root = tmp_path / "visit"
    write_master(root / "rot", "thau_1", n=10)
    write_master(root / "nodata", "thau_2", n=7, files=1, write_data=False)
    grid = write_master(
        root / "grid",
        "xtal_grid",
        n=12,
        files=1,
        omega=np.full(12, 0.0),
        increment=0.0,
        translations={"sam_x": (np.tile(np.arange(4) * 0.02, 3), (1, 0, 0))},
    )
    assert grid.exists()
    cycle = write_master(root / "bad", "cycle", n=3, files=1)
    with h5py.File(cycle, "r+") as f:
        f["/entry/sample/transformations/omega"].attrs["depends_on"] = np.bytes_("phi")
    (root / "bad" / "junk_master.h5").write_bytes(b"\x00not hdf5" * 64)
    result = CliRunner().invoke(index, [str(root), "--json", "--dsn", native_dsn, "--workers", "1"])
    assert result.exit_code == 1, result.output  # bad masters fail the run, after indexing the rest
    out = json.loads(result.output)
    sweeps = {
        s["template"]: (s["first"], s["last"], s["count"], s["missing"], s["kind"], s["format"])
        for s in out["sweeps"]
    }
    assert sweeps == {
        "thau_1_master.h5": (1, 10, 10, [], "rotation", "NXmx"),
        "thau_2_master.h5": (1, 7, 7, [], "rotation", "NXmx"),
        "xtal_grid_master.h5": (1, 12, 12, [], "grid", "NXmx"),
    }
    failed = {f["path"].rsplit("/", 1)[1]: f["reason"] for f in out["failed"]}
    assert set(failed) == {"cycle_master.h5", "junk_master.h5"}
    assert failed["cycle_master.h5"].startswith("depends_on cycle: /entry/sample/transformations/")
    assert "not a readable HDF5 file" in failed["junk_master.h5"]
    assert out["files"] == 5 and out["indexed"] == 3  # data files are not images of their own
    # The master without its data keeps its metadata and says what is missing.
    stored = _stored_header(native_dsn, "thau_2_master.h5")
    assert stored["extra"]["missing_data_files"] == "thau_2_000001.h5"
    assert stored["detector_distance"] == DISTANCE and stored["axes"]["frame"] == "McStas"


def _xds(text: str) -> dict[str, str]:
    return {m.group(1): m.group(2).strip() for m in re.finditer(r"^([A-Z_'\-]+)=\s*(.*?)\s*$", text, re.M)}


def test_reprocess_a_written_master(tmp_path):
    master = write_master(tmp_path, "thau_1", n=10)
    result = CliRunner().invoke(
        reprocess,
        ["--image", str(master), "--format", "xds"],
        env={"MXHUB_URL": "", "MXHUB_HUB_URL": "", "MXHUB_SITE_NAME": ""},
    )
    assert result.exit_code == 0, result.output
    xds = _xds(result.output)
    assert xds["DATA_RANGE"] == "1 10"
    assert float(xds["OSCILLATION_RANGE"]) == 0.1 and float(xds["STARTING_ANGLE"]) == 0.0
    assert float(xds["X-RAY_WAVELENGTH"]) == WAVELENGTH and float(xds["DETECTOR_DISTANCE"]) == DISTANCE
    assert xds["NAME_TEMPLATE_OF_DATA_FRAMES"] == f"{tmp_path}/thau_1_??????.h5"
    orgx, orgy = (float(v) for v in re.findall(r"ORG[XY]=\s*(\S+)", result.output))
    assert (orgx, orgy) == (BEAM[0], BEAM[1])
    assert "LIB=" in result.output  # a comment naming the HDF5 plugin XDS needs


def test_reprocess_the_dectris_fixture(images):
    master = images / "image_examples/dectris_eiger_master.h5"
    result = CliRunner().invoke(
        reprocess,
        ["--image", str(master), "--format", "xds"],
        env={"MXHUB_URL": "", "MXHUB_HUB_URL": "", "MXHUB_SITE_NAME": ""},
    )
    assert result.exit_code == 0, result.output
    assert "not a CBF image" not in result.output
    xds = _xds(result.output)
    assert (xds["DATA_RANGE"], float(xds["OSCILLATION_RANGE"]), float(xds["DETECTOR_DISTANCE"])) == (
        "1 1",
        0.5,
        134.255,
    )
    assert "data files missing: dectris_eiger_data_000001.h5" in result.output


def test_reprocess_bad_master_is_one_line(tmp_path):
    junk = tmp_path / "junk_master.h5"
    junk.write_bytes(b"\x00not hdf5" * 64)
    result = CliRunner().invoke(
        reprocess,
        ["--image", str(junk), "--format", "dials"],
        env={"MXHUB_URL": "", "MXHUB_HUB_URL": "", "MXHUB_SITE_NAME": ""},
    )
    assert result.exit_code == 1
    assert result.output.startswith(f"error: cannot read the header of {junk}: not a readable HDF5 file")
    assert "Traceback" not in result.output


def test_reprocess_a_grid_master(tmp_path):
    master = write_master(
        tmp_path,
        "grid",
        n=12,
        files=1,
        omega=np.zeros(12),
        increment=0.0,
        translations={"sam_x": (np.arange(12) * 0.01, (1, 0, 0))},
    )
    env = {"MXHUB_URL": "", "MXHUB_HUB_URL": "", "MXHUB_SITE_NAME": ""}
    xds = CliRunner().invoke(reprocess, ["--image", str(master), "--format", "xds"], env=env)
    assert xds.exit_code == 1 and "Traceback" not in xds.output
    assert xds.output.startswith(f"error: cannot write xds input for {master}: ") and "grid" in xds.output
    dials = CliRunner().invoke(reprocess, ["--image", str(master), "--format", "dials"], env=env)
    assert dials.exit_code == 0, dials.output
    assert str(master) in dials.output and "image_range=1,12" in dials.output
