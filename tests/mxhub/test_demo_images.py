"""The demo's real-image collections (issue 13): rows that match the fixture files, so indexing links them,
loaded idempotently; a demo without the fixtures still has its sites."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import click
import pytest
from click.testing import CliRunner

from mx_schema.ids import encode_id
from mxhub.commands.demo import _site_ports, index_command, install_real_images
from mxhub.commands.index import index
from mxhub.embedded import site_database
from site_adapter.demo_images import find_sweeps
from site_adapter.indexer.scan import run_scan


async def test_real_image_collections_link_when_indexed(native_dsn, images):
    conn = await asyncpg.connect(native_dsn)
    try:
        sweeps = await install_real_images(conn, images)
        assert sorted((Path(s.directory).name, s.template, s.first, s.count) for s in sweeps) == [
            ("l_cysteine", f"l-cyst_0{k}_#####.cbf", 1, 15) for k in range(1, 5)
        ] + [("thaumatin_grid", "thau_3_2_####.cbf", 1, 19)]
        again = await install_real_images(conn, images)  # every demo start: same rows, no duplicates
        assert len(again) == 5 and await conn.fetchval("SELECT count(*) FROM data_collection") == 5
        rows = {r["file_template"]: r for r in await conn.fetch("SELECT * FROM data_collection")}
        lc = rows["l-cyst_01_#####.cbf"]
        # from the header of l-cyst_01_00001.cbf: 0.6889 Å, 160 mm, Beam_xy (730, 865) px of 0.172 mm
        assert (lc["wavelength"], lc["detector_distance"], lc["beam_centre_x"], lc["beam_centre_y"]) == (
            0.6889,
            160.0,
            round(730 * 0.172, 3),
            round(865 * 0.172, 3),
        )
        assert (lc["axis_start"], lc["axis_range"], lc["experiment_type"]) == (-145.0, 0.1, "OSC")
        assert rows["thau_3_2_####.cbf"]["experiment_type"] == "Mesh"

        summary = await run_scan(
            conn, [str(images / "l_cysteine"), str(images / "thaumatin_grid")], site="esrf"
        )
        assert summary.failed == [] and len(summary.sweeps) == 5
        ids = {r["file_template"]: r["id"] for r in rows.values()}
        assert {s["template"]: s["linked"] for s in summary.sweeps} == {
            t: encode_id("esrf", "DataCollection", i) for t, i in ids.items()
        }
    finally:
        await conn.close()


def test_without_the_fixtures_there_are_no_real_image_collections(tmp_path):
    assert find_sweeps(None) == [] and find_sweeps(tmp_path / "nowhere") == []


def test_index_command_and_pinned_ports(images):
    sweeps = find_sweeps(images)
    assert index_command("esrf", sweeps, None) == (
        f"mxhub index --site esrf {images / 'l_cysteine'} {images / 'thaumatin_grid'}"
    )
    assert index_command("esrf", sweeps, "postgresql://h/db").startswith(
        "mxhub index --site esrf --dsn postgresql://h/db "
    )
    assert _site_ports(0, 4) == [0, 0, 0, 0] and _site_ports(9001, 4) == [9001, 9002, 9003, 9004]
    with pytest.raises(click.BadParameter):
        _site_ports(65534, 4)


def test_one_database_per_site_for_serve_demo_and_index():
    # the name `mxhub site serve --name esrf` has always used: its existing stores keep their data
    assert site_database("esrf") == "mxhub_site_esrf" and site_database("my-site") == "mxhub_site_my_site"


def test_index_refuses_a_mariadb_dsn_and_an_ispyb_site_without_image_store(tmp_path):
    runner = CliRunner()
    out = runner.invoke(
        index,
        [str(tmp_path)],
        env={"MXHUB_SITE_DSN": "mysql://reader@127.0.0.1/ispyb", "MXHUB_IMAGE_STORE_DSN": None},
    )
    assert out.exit_code == 2 and "MXHUB_IMAGE_STORE_DSN" in out.output
    out = runner.invoke(
        index,
        [str(tmp_path)],
        env={"MXHUB_SITE_BACKEND": "ispyb", "MXHUB_SITE_DSN": None, "MXHUB_IMAGE_STORE_DSN": None},
    )
    assert out.exit_code == 2 and "MXHUB_IMAGE_STORE_DSN" in out.output
