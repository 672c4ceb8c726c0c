"""The scanner against a real PostgreSQL site store and a tree of real images (symlinked, or copied
where a test damages them)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import asyncpg
import pytest
from click.testing import CliRunner

from mx_schema.ids import encode_id
from mxhub.commands.index import index
from site_adapter.indexer import store
from site_adapter.indexer.scan import run_scan
from tests.fixtures.images import fixtures_root

FIXTURES = fixtures_root()  # tests link fixture images into temporary trees


ORIGINAL = "/dls/i19-1/data/2016/mt11145-4/l-cyst"


def _link_all(src: Path, dst: Path, pattern: str) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for p in sorted(src.glob(pattern)):
        (dst / p.name).symlink_to(p)


@pytest.fixture
def tree(images, tmp_path) -> Path:
    root = tmp_path / "data"
    _link_all(images / "l_cysteine", root / "lcys", "*.cbf")
    _link_all(images / "thaumatin_grid", root / "grid", "*.cbf.bz2")
    bad = root / "bad"
    bad.mkdir()
    (bad / "notes_0001.cbf").write_text("not an image\n" * 500)
    (bad / "cut_0001.cbf").write_bytes((images / "l_cysteine/l-cyst_01_00001.cbf").read_bytes()[:100_000])
    (bad / "nohead_0001.cbf").symlink_to(images / "dialects/psi_example_headerless.cbf")
    (bad / "loop").symlink_to(bad, target_is_directory=True)
    (bad / "gone_0001.cbf").symlink_to(bad / "nowhere_0001.cbf")
    return root


async def _collections(conn: asyncpg.Connection, grid_dir: Path) -> None:
    await conn.executemany(
        "INSERT INTO data_collection (id, image_directory, file_template, start_image_number, number_of_images)"
        " VALUES ($1, $2, $3, $4, $5)",
        [
            (11, ORIGINAL + "/", "l-cyst_01_#####.cbf", 1, 15),
            (14, ORIGINAL, "l-cyst_04_#####.cbf", 1, 15),
            (20, str(grid_dir), "thau_3_2_####.cbf", 1, 19),
            (21, str(grid_dir), "thau_3_2_####.cbf", 100, 5),
        ],
    )


async def test_scan_links_reports_and_skips_unchanged(native_dsn, tree, images):
    conn = await asyncpg.connect(native_dsn)
    try:
        await _collections(conn, tree / "grid")
        s = await run_scan(
            conn,
            [str(tree)],
            follow_links_into=[str(FIXTURES)],
            site="testsite",
            path_map=[(ORIGINAL, str(tree / "lcys"))],
        )
        # 60 + 19 images, 3 bad files, and 2 entries the walk could not follow (the loop, a broken link)
        assert (s.files, s.indexed, s.skipped, len(s.failed)) == (60 + 19 + 3 + 2, 79, 0, 5)
        reasons = {Path(f["path"]).name: f["reason"] for f in s.failed}
        assert set(reasons) == {"notes_0001.cbf", "cut_0001.cbf", "nohead_0001.cbf", "loop", "gone_0001.cbf"}
        assert reasons["gone_0001.cbf"] == "broken symlink"
        assert "not a CBF" in reasons["notes_0001.cbf"]
        assert reasons["cut_0001.cbf"].startswith("truncated")
        assert reasons["nohead_0001.cbf"].startswith("missing header fields: wavelength")
        assert reasons["loop"].startswith("symlink loop")
        by_template = {x["template"]: x for x in s.sweeps}
        assert len(s.sweeps) == 5
        assert by_template["l-cyst_01_#####.cbf"]["linked"] == encode_id("testsite", "DataCollection", 11)
        assert by_template["l-cyst_04_#####.cbf"]["linked"] == encode_id("testsite", "DataCollection", 14)
        assert by_template["l-cyst_02_#####.cbf"]["linked"] is None  # kept and listed, not dropped
        grid = by_template["thau_3_2_####.cbf"]
        assert (grid["kind"], grid["count"], grid["first"], grid["last"], grid["missing"]) == (
            "grid",
            19,
            1,
            19,
            [],
        )
        assert grid["linked"] == encode_id("testsite", "DataCollection", 20)
        assert {x["template"] for x in s.to_dict()["unlinked"]} == {
            "l-cyst_02_#####.cbf",
            "l-cyst_03_#####.cbf",
        }

        again = await run_scan(
            conn,
            [str(tree)],
            follow_links_into=[str(FIXTURES)],
            site="testsite",
            path_map=[(ORIGINAL, str(tree / "lcys"))],
        )
        # counts are disjoint: files == indexed + skipped + failed (issue 13: a re-run reported
        # "indexed": 60, "skipped": 60); unchanged files that still fail stay failed
        assert (again.files, again.indexed, again.skipped, len(again.failed)) == (84, 0, 79, 5)
        assert again.sweeps == s.sweeps  # same sets, same ids

        # Files moved to tape: the metadata and the sweep stay, the files are marked gone.
        for n in (3, 4):
            (tree / "lcys" / f"l-cyst_01_{n:05d}.cbf").unlink()
        (tree / "bad" / "notes_0001.cbf").unlink()
        after = await run_scan(
            conn,
            [str(tree)],
            follow_links_into=[str(FIXTURES)],
            site="testsite",
            path_map=[(ORIGINAL, str(tree / "lcys"))],
        )
        assert (after.files, after.indexed, after.skipped, len(after.failed)) == (81, 0, 77, 4)
        assert after.sweeps == s.sweeps
        assert await conn.fetchval("SELECT count(*) FROM image_file WHERE gone_at IS NOT NULL") == 3

        sets = await store.image_sets_by_collection(conn, ["11", "20", "999", "abc"])
        (lc,) = sets["11"]
        assert (lc.template, lc.first, lc.last, lc.count, lc.missing, lc.kind) == (
            "l-cyst_01_#####.cbf",
            1,
            15,
            15,
            (),
            "rotation",
        )
        assert lc.directory == str(tree / "lcys") and lc.verified is None and lc.format == "miniCBF"
        assert lc.total_bytes == sum(
            (images / f"l_cysteine/l-cyst_01_{n:05d}.cbf").stat().st_size for n in range(1, 16)
        )
        assert sets["999"] == [] and sets["abc"] == []
        header = await store.image_header(conn, lc.local_id, 5)
        assert header["start_angle"] == -144.6 and header["path"].endswith("l-cyst_01_00005.cbf")
        assert json.dumps(header)  # JSON-able
        assert await store.image_header(conn, lc.local_id, 16) is None
    finally:
        await conn.close()


async def test_verify_catches_a_wrong_md5_and_summarises_pixels(native_dsn, images, tmp_path):
    root = tmp_path / "v"
    root.mkdir()
    shutil.copy(images / "l_cysteine/l-cyst_03_00001.cbf", root / "a_00001.cbf")
    bad = root / "a_00002.cbf"
    shutil.copy(images / "l_cysteine/l-cyst_03_00002.cbf", bad)
    with open(bad, "r+b") as f:
        f.seek(-5000, 2)
        b = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([b[0] ^ 0xFF]))
    whole = (images / "thaumatin_grid/thau_3_2_0005.cbf.bz2").read_bytes()
    (root / "b_0005.cbf.bz2").write_bytes(whole[: len(whole) // 2])
    conn = await asyncpg.connect(native_dsn)
    try:
        s = await run_scan(conn, [str(root)], follow_links_into=[str(FIXTURES)], verify=True)
        assert [(Path(f["path"]).name, f["reason"].split(":")[0]) for f in s.failed] == [
            ("a_00002.cbf", "Content-MD5 mismatch in binary section 1"),
            ("b_0005.cbf.bz2", "truncated"),
        ]
        row = await conn.fetchrow("SELECT verified, pixels FROM image_file WHERE name = 'a_00001.cbf'")
        pixels = json.loads(row["pixels"])
        assert row["verified"] is True and pixels["pixels"] == 1475 * 1679 and pixels["gap_pixels"] > 0
        (sweep,) = s.sweeps  # the damaged files form no sweep
        assert sweep["verified"] is True and sweep["count"] == 1
    finally:
        await conn.close()


async def test_interrupted_scan_keeps_finished_files_and_resumes(native_dsn, images, tmp_path):
    root = tmp_path / "r"
    _link_all(images / "l_cysteine", root, "l-cyst_02_*.cbf")

    def stop_after_five(done: int, total: int) -> None:
        if done == 5:
            raise KeyboardInterrupt

    conn = await asyncpg.connect(native_dsn)
    try:
        with pytest.raises(KeyboardInterrupt):
            await run_scan(conn, [str(root)], follow_links_into=[str(FIXTURES)], progress=stop_after_five)
        assert await conn.fetchval("SELECT count(*) FROM image_file") == 5
        s = await run_scan(conn, [str(root)], follow_links_into=[str(FIXTURES)])
        assert (s.files, s.skipped, s.indexed, s.sweeps[0]["count"]) == (15, 5, 10, 15)
    finally:
        await conn.close()


async def test_parallel_workers_and_nexus(native_dsn, images, tmp_path):
    root = tmp_path / "p"
    _link_all(images / "l_cysteine", root / "lc", "l-cyst_04_*.cbf")
    (root / "nx").mkdir()
    (root / "nx" / "dectris_eiger_master.h5").symlink_to(images / "image_examples/dectris_eiger_master.h5")
    conn = await asyncpg.connect(native_dsn)
    try:
        s = await run_scan(conn, [str(root)], follow_links_into=[str(FIXTURES)], workers=2, verify=True)
        assert s.failed == []
        kinds = {x["template"]: (x["kind"], x["count"], x["format"], x["verified"]) for x in s.sweeps}
        assert kinds == {
            "l-cyst_04_#####.cbf": ("rotation", 15, "miniCBF", True),
            "dectris_eiger_master.h5": ("rotation", 1, "NXmx", None),
        }
    finally:
        await conn.close()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
async def test_unreadable_file(native_dsn, images, tmp_path):
    p = tmp_path / "u_0001.cbf"
    shutil.copy(images / "dialects/psi_in16c_010001.cbf", p)
    p.chmod(0)
    conn = await asyncpg.connect(native_dsn)
    try:
        s = await run_scan(conn, [str(tmp_path)], follow_links_into=[str(FIXTURES)])
        assert s.failed == [{"path": str(p), "reason": "permission denied"}]
    finally:
        await conn.close()


def test_cli_json_and_exit_status(native_dsn, tree):
    async def add_collection() -> None:
        conn = await asyncpg.connect(native_dsn)
        try:
            await conn.execute(
                "INSERT INTO data_collection (id, image_directory, file_template)"
                " VALUES (30, '/old/place/grid', 'thau_3_2_####.cbf')"
            )
        finally:
            await conn.close()

    asyncio.run(add_collection())
    runner = CliRunner()
    ok = runner.invoke(
        index,
        [str(tree / "grid"), "--json", "--dsn", native_dsn, "--workers", "1", "--site", "clisite"],
        env={"MXHUB_PATH_MAP": f"/old/place={tree}", "MXHUB_INDEX_FOLLOW_LINKS_INTO": str(FIXTURES)},
    )
    assert ok.exit_code == 0, ok.output
    out = json.loads(ok.output)
    assert (out["files"], out["indexed"], out["failed"]) == (19, 19, [])
    assert [
        (x["template"], x["first"], x["last"], x["count"], x["missing"], x["kind"], x["linked"])
        for x in out["sweeps"]
    ] == [("thau_3_2_####.cbf", 1, 19, 19, [], "grid", encode_id("clisite", "DataCollection", 30))]
    # A re-run reads nothing again and says so, with disjoint counts (issue 13)
    rerun = [str(tree / "grid"), "--dsn", native_dsn, "--workers", "1", "--follow-links-into", str(FIXTURES)]
    out = json.loads(runner.invoke(index, rerun + ["--json"]).output)
    assert (out["files"], out["indexed"], out["skipped"], out["failed"]) == (19, 0, 19, [])
    verified = json.loads(runner.invoke(index, rerun + ["--json", "--verify"]).output)
    assert (verified["files"], verified["indexed"], verified["skipped"]) == (19, 19, 0)  # --verify reads all
    text = runner.invoke(index, rerun)
    assert text.output.splitlines()[0] == "19 files: 0 indexed, 19 unchanged, 0 failed"
    bad = runner.invoke(
        index,
        [
            str(tree / "bad"),
            "--json",
            "--dsn",
            native_dsn,
            "--workers",
            "1",
            "--follow-links-into",
            str(FIXTURES),
        ],
    )
    assert bad.exit_code == 1
    assert len(json.loads(bad.output)["failed"]) == 5
    assert "--path-map" in runner.invoke(index, ["--help"]).output
