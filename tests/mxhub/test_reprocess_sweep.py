"""`mxhub reprocess --image` takes the sweep the indexer recorded (issue 13), from a real store."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
from click.testing import CliRunner

from mxhub.commands.reprocess import reprocess
from site_adapter.indexer.scan import run_scan


def _lines(text: str, key: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(key)]


async def _index(dsn: str, root: Path, images: Path):
    conn = await asyncpg.connect(dsn)
    try:
        return await run_scan(conn, [str(root)], follow_links_into=[str(images)])  # links into the fixtures
    finally:
        await conn.close()


def test_image_in_an_indexed_sweep_uses_the_sweep(native_dsn, images, tmp_path):
    root = tmp_path / "lc"
    root.mkdir()
    for p in sorted((images / "l_cysteine").glob("l-cyst_02_*.cbf")):
        (root / p.name).symlink_to(p)
    summary = asyncio.run(_index(native_dsn, root, images))
    assert [(s["template"], s["count"]) for s in summary.sweeps] == [("l-cyst_02_#####.cbf", 15)]
    image = str(root / "l-cyst_02_00007.cbf")  # any image of the sweep, not only its first
    runner = CliRunner()
    env = {"MXHUB_IMAGE_STORE_DSN": None, "MXHUB_SITE_DSN": None}

    out = runner.invoke(reprocess, ["--image", image, "--format", "xds", "--dsn", native_dsn], env=env)
    assert out.exit_code == 0, out.output
    assert _lines(out.output, "DATA_RANGE=") == ["DATA_RANGE= 1 15"]  # today: "DATA_RANGE= 7 7"
    # the sweep starts one image's worth of rotation per image before image 7 (its header: -144.4)
    assert _lines(out.output, "STARTING_ANGLE=") == ["STARTING_ANGLE= -145.0000"]
    assert _lines(out.output, "NAME_TEMPLATE_OF_DATA_FRAMES=") == [
        f"NAME_TEMPLATE_OF_DATA_FRAMES= {root}/l-cyst_02_?????.cbf"
    ]

    # the store from the environment, as `mxhub index` reads it
    out = runner.invoke(
        reprocess, ["--image", image, "--format", "dials"], env={**env, "MXHUB_SITE_DSN": native_dsn}
    )
    assert out.exit_code == 0, out.output
    assert "geometry.scan.image_range=1,15" in out.output
    assert "geometry.scan.oscillation=-145.0000,0.1000" in out.output

    # explicit options still win
    out = runner.invoke(
        reprocess, ["--image", image, "--format", "xds", "--dsn", native_dsn, "--images", "5"], env=env
    )
    assert _lines(out.output, "DATA_RANGE=") == ["DATA_RANGE= 1 5"]
    out = runner.invoke(
        reprocess,
        ["--image", image, "--format", "xds", "--dsn", native_dsn, "--template", "l-cyst_02_#####.cbf"],
        env=env,
    )
    assert _lines(out.output, "DATA_RANGE=") == ["DATA_RANGE= 7 7"]


def test_a_compressed_grid_keeps_its_suffix(native_dsn, images, tmp_path):
    root = tmp_path / "grid"
    root.mkdir()
    for p in sorted((images / "thaumatin_grid").glob("*.cbf.bz2")):
        (root / p.name).symlink_to(p)
    summary = asyncio.run(_index(native_dsn, root, images))
    assert [(s["template"], s["count"], s["kind"]) for s in summary.sweeps] == [
        ("thau_3_2_####.cbf", 19, "grid")
    ]
    out = CliRunner().invoke(
        reprocess,
        ["--image", str(root / "thau_3_2_0005.cbf.bz2"), "--format", "dials", "--dsn", native_dsn],
        env={"MXHUB_IMAGE_STORE_DSN": None},
    )
    assert out.exit_code == 0, out.output
    assert f"template='{root}/thau_3_2_####.cbf.bz2'" in out.output
    assert "geometry.scan.image_range=1,19" in out.output


def test_image_outside_any_store_falls_back_to_its_file_name(images, tmp_path, monkeypatch):
    monkeypatch.setenv("MXHUB_DATA_DIR", str(tmp_path / "nodata"))  # no embedded store: none is created
    for var in ("MXHUB_IMAGE_STORE_DSN", "MXHUB_SITE_DSN"):
        monkeypatch.delenv(var, raising=False)
    image = str(images / "l_cysteine" / "l-cyst_03_00004.cbf")
    out = CliRunner().invoke(reprocess, ["--image", image, "--format", "xds"])
    assert out.exit_code == 0, out.output
    assert _lines(out.output, "DATA_RANGE=") == ["DATA_RANGE= 4 4"]
    assert not Path(tmp_path / "nodata").exists()
    # an ISPyB site's MariaDB DSN is no image store: the lookup is skipped, not an error
    out = CliRunner().invoke(
        reprocess,
        ["--image", image, "--format", "xds"],
        env={"MXHUB_SITE_DSN": "mysql://reader@127.0.0.1:3306/ispyb"},
    )
    assert out.exit_code == 0, out.output
