"""The walk under hostile trees (issue 15): link graphs, links out of the tree, FIFOs, odd names.

Each case once made the scan explode, hang or read outside its roots; here each must end at once with
the problem reported and the good files still found.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import asyncpg

from site_adapter.indexer.scan import run_scan
from site_adapter.indexer.walk import display, walk
from tests.fixtures.images import fixtures_root

FIXTURES = fixtures_root()
IMAGE = FIXTURES / "images" / "l_cysteine" / "l-cyst_01_00001.cbf"


def _walk(*roots: Path, allow: tuple[Path, ...] = ()) -> tuple[list[str], list[dict[str, str]]]:
    errors: list[dict[str, str]] = []
    found = [p for p, _ in walk([str(r) for r in roots], errors, [str(a) for a in allow])]
    return found, errors


def test_a_link_graph_of_depth_16_is_one_file(tmp_path: Path) -> None:
    # d0 -> (a, b) -> d1 -> (a, b) -> ... -> d16 holding one image: 2**16 paths lead to it
    dirs = [tmp_path / f"d{i}" for i in range(17)]
    for d in dirs:
        d.mkdir()
    for here, nxt in itertools.pairwise(dirs):
        (here / "a").symlink_to(nxt, target_is_directory=True)
        (here / "b").symlink_to(nxt, target_is_directory=True)
    (dirs[-1] / "x_0001.cbf").write_bytes(b"###CBF: not really\n")
    found, errors = _walk(tmp_path)
    assert [Path(p).name for p in found] == ["x_0001.cbf"]
    assert len(errors) <= 2 * 16 and all(e["reason"].startswith("symlink loop") for e in errors)


def test_a_link_to_the_root_filesystem_is_refused(tmp_path: Path) -> None:
    (tmp_path / "rootlink").symlink_to("/", target_is_directory=True)
    (tmp_path / "evil_0001.cbf").symlink_to("/etc/passwd")
    found, errors = _walk(tmp_path)
    assert found == []
    reasons = {Path(e["path"]).name: e["reason"] for e in errors}
    assert reasons["rootlink"] == "symlink leaves the indexed tree (to /): not followed"
    assert reasons["evil_0001.cbf"].startswith("symlink leaves the indexed tree (to /etc/passwd)")


def test_links_into_a_named_tree_are_followed(tmp_path: Path) -> None:
    (tmp_path / "l-cyst_01_00001.cbf").symlink_to(IMAGE)
    assert _walk(tmp_path)[0] == []
    found, errors = _walk(tmp_path, allow=(FIXTURES,))
    assert [Path(p).name for p in found] == ["l-cyst_01_00001.cbf"] and errors == []


def test_fifos_are_skipped_and_reported_never_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "x_0001.cbf"
    os.mkfifo(fifo)
    found, errors = _walk(tmp_path)  # opening the FIFO would block for ever
    assert found == [] and errors == [{"path": str(fifo), "reason": "skipped: a FIFO, not a regular file"}]
    found, errors = _walk(fifo)  # a FIFO given as PATH
    assert found == [] and errors[0]["reason"] == "skipped: a FIFO, not a regular file"


def test_a_non_utf8_name_is_found_and_shown_with_replacement(tmp_path: Path) -> None:
    raw = os.fsencode(str(tmp_path)) + b"/caf\xe9_0001.cbf"
    os.symlink(os.fsencode(str(IMAGE)), raw)
    found, _ = _walk(tmp_path, allow=(FIXTURES,))
    assert len(found) == 1 and os.fsencode(found[0]) == raw  # the exact bytes, for opening the file
    assert display(found[0]).endswith("caf\ufffd_0001.cbf")


async def test_a_scan_with_hostile_entries_still_indexes_the_good_file(
    tmp_path: Path, native_dsn: str
) -> None:
    (tmp_path / "l-cyst_01_00001.cbf").symlink_to(IMAGE)
    second = FIXTURES / "images" / "l_cysteine" / "l-cyst_01_00002.cbf"
    os.symlink(os.fsencode(str(second)), os.fsencode(str(tmp_path)) + b"/l-cyst_01_00002\xff.cbf")
    os.mkfifo(tmp_path / "l-cyst_01_00003.cbf")
    (tmp_path / "rootlink").symlink_to("/", target_is_directory=True)
    conn = await asyncpg.connect(native_dsn)
    try:
        summary = await run_scan(conn, [str(tmp_path)], follow_links_into=[str(FIXTURES)])
    finally:
        await conn.close()
    out = summary.to_dict()
    import json

    json.dumps(out)  # printable as the --json summary, whatever the names
    # files = indexed + skipped + failed (issue 13): the FIFO and the link out of the tree count as failed
    assert (out["files"], out["indexed"], out["skipped"], len(out["failed"])) == (4, 2, 0, 2)
    # the undecodable byte is kept (as \xff) in what the store holds and the summary shows
    assert any("\\xff" in sweep["template"] for sweep in out["sweeps"])
    reasons = sorted(f["reason"].split(":")[0] for f in out["failed"])
    assert "skipped" in reasons and "symlink leaves the indexed tree (to /)" in reasons


def _tiny_cbf(extra_line: bytes = b"") -> bytes:
    """A miniCBF small on disk: a header and a 4-byte byte-offset section."""
    header = (
        b'###CBF: VERSION 1.5\n\ndata_x\n\n_array_data.header_convention "PILATUS_1.2"\n'
        b"_array_data.header_contents\n;\n# Detector: PILATUS 2M, S/N 24-0107\n"
        + extra_line
        + b"# Pixel_size 172e-6 m x 172e-6 m\n# Wavelength 0.9 A\n# Detector_distance 0.2 m\n"
        b"# Beam_xy (1.0, 1.0) pixels\n# Start_angle 0.0 deg.\n# Angle_increment 0.1 deg.\n"
        b"# Exposure_time 0.1 s\n;\n\n_array_data.data\n;\n--CIF-BINARY-FORMAT-SECTION--\n"
        b'Content-Type: application/octet-stream;\n     conversions="x-CBF_BYTE_OFFSET"\n'
        b"Content-Transfer-Encoding: BINARY\nX-Binary-Size: 4\nX-Binary-ID: 1\n"
        b'X-Binary-Element-Type: "signed 32-bit integer"\nX-Binary-Element-Byte-Order: LITTLE_ENDIAN\n'
        b"X-Binary-Number-of-Elements: 4\nX-Binary-Size-Fastest-Dimension: 2\n"
        b"X-Binary-Size-Second-Dimension: 2\n\n"
    )
    return header + b"\x0c\x1a\x04\xd5" + b"\x01\x01\x01\x01"


async def test_a_record_the_store_refuses_costs_only_itself(tmp_path: Path, native_dsn: str) -> None:
    for k in range(1, 6):
        (tmp_path / f"ok_{k:04d}.cbf").write_bytes(_tiny_cbf())
    # PostgreSQL's jsonb refuses \u0000: this header cannot be stored as it is
    (tmp_path / "nul_0001.cbf").write_bytes(_tiny_cbf(b"# Comment a\x00b\n"))
    conn = await asyncpg.connect(native_dsn)
    try:
        summary = await run_scan(conn, [str(tmp_path)])
    finally:
        await conn.close()
    out = summary.to_dict()
    assert out["indexed"] == 5
    assert [Path(f["path"]).name for f in out["failed"]] == ["nul_0001.cbf"]
    assert out["failed"][0]["reason"].startswith("not saved:")
