"""Hostile files cost the indexer little memory (issue 15): declared sizes are checked before reading.

Files declare big and allocate small: a section larger than the file, a sparse file, .gz and .bz2
members of zeros concatenated. The scan runs in a child process that reports its own peak memory.
"""

from __future__ import annotations

import bz2
import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from site_adapter.indexer.budget import MAX_RATIO, check_declared
from site_adapter.indexer.cbf_header import BinarySection, HeaderError
from tests.site_adapter.indexer.test_walk import _tiny_cbf

LIMIT_KB = 512 * 1024  # the bound for the whole hostile run


def _declaring(size: int, elements: int, fast: int, slow: int) -> bytes:
    t = _tiny_cbf()
    for old, new in (
        (b"X-Binary-Size: 4\n", b"X-Binary-Size: %d\n" % size),
        (b"X-Binary-Number-of-Elements: 4\n", b"X-Binary-Number-of-Elements: %d\n" % elements),
        (b"X-Binary-Size-Fastest-Dimension: 2\n", b"X-Binary-Size-Fastest-Dimension: %d\n" % fast),
        (b"X-Binary-Size-Second-Dimension: 2\n", b"X-Binary-Size-Second-Dimension: %d\n" % slow),
    ):
        t = t.replace(old, new)
    return t[:-4]  # header only: the data is added below


def hostile_tree(root: Path) -> None:
    root.mkdir()
    (root / "big_0001.cbf").write_bytes(_declaring(512 << 20, 512 << 20, 16384, 32768) + b"\x01" * 8000)
    header = _declaring(256 << 20, 256 << 20, 16384, 16384)
    with open(root / "sparse_0001.cbf", "wb") as f:  # 256 MB of holes: no disk, but real bytes to read
        f.write(header)
        f.truncate(len(header) + (256 << 20))
    zeros = b"\x00" * (1 << 20)
    gz_header = _declaring(200 << 20, 200 << 20, 10240, 20480)
    member = gzip.compress(zeros, 9)
    with open(root / "gz_0001.cbf.gz", "wb") as f:  # ~200 KB on disk, 200 MB inflated
        f.write(gzip.compress(gz_header) + member * 200)
    with open(root / "bz_0001.cbf.bz2", "wb") as f:  # ~5 KB on disk, 200 MB inflated
        f.write(bz2.compress(gz_header) + bz2.compress(zeros, 9) * 200)


_CHILD = r"""
import asyncio, json, resource, sys
import asyncpg
from site_adapter.backends.native.migrate import migrate
from site_adapter.indexer.scan import run_scan

async def main():
    conn = await asyncpg.connect(sys.argv[1])
    try:
        await migrate(conn)
        summary = await run_scan(conn, [sys.argv[2]], verify=True)
    finally:
        await conn.close()
    out = summary.to_dict()
    # The peak of this process's own memory (VmHWM). Not ru_maxrss: Linux carries the forking parent's
    # high-water mark across exec, so a child of a grown pytest process (780 MB in the full suite)
    # reported the parent's size, not its own.
    try:
        with open("/proc/self/status") as status:
            out["peak_kb"] = next(int(l.split()[1]) for l in status if l.startswith("VmHWM:"))
    except (OSError, StopIteration):
        out["peak_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(out))

asyncio.run(main())
"""


def test_hostile_files_are_refused_or_streamed_within_the_budget(tmp_path: Path, native_dsn: str) -> None:
    hostile_tree(tmp_path / "h")
    env = {"MXHUB_INDEX_MAX_BYTES": "32M", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, native_dsn, str(tmp_path / "h")],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=str(Path(__file__).resolve().parents[3]),
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["peak_kb"] < LIMIT_KB, out["peak_kb"]
    reasons = {Path(f["path"]).name: f["reason"] for f in out["failed"]}
    assert reasons["big_0001.cbf"].startswith("truncated: ")
    assert "refused as a decompression bomb" in reasons["bz_0001.cbf.bz2"]
    # the sparse file and the .gz are within what a file can hold: indexed, verified by streaming only
    assert {s["template"] for s in out["sweeps"]} == {"sparse_####.cbf", "gz_####.cbf"}


def test_dimensions_must_match_the_element_count() -> None:
    section = BinarySection(
        conversions="x-CBF_BYTE_OFFSET",
        encoding="BINARY",
        binary_id=1,
        binary_size=10,
        content_md5=None,
        element_type="signed 32-bit integer",
        byte_order="LITTLE_ENDIAN",
        number_of_elements=4,
        fastest_dimension=2,
        second_dimension=3,
        third_dimension=None,
        padding=None,
        data_offset=100,
    )
    with pytest.raises(HeaderError, match="4 elements declared, its dimensions make 6"):
        check_declared(section, 1000, compressed=False)
    assert MAX_RATIO >= 100  # real compressed frames (2-30x) are never refused
