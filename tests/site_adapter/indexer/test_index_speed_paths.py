"""The indexer's fast paths (issue 17) give what the slow ones gave: memoised header parsing keeps each
image's own values, compressed headers are read from the start of the stream only, and the batched
COPY store write keeps one row per path. Expected values come from fabio, gzip/bz2 and SQL."""

from __future__ import annotations

import bz2
import gzip
import json
from pathlib import Path

import asyncpg
import fabio
import pytest

from site_adapter.indexer import store
from site_adapter.indexer.cbf_header import read_header
from site_adapter.indexer.scan import index_file


def _fabio_float(header: dict[str, str], key: str) -> float:
    return float(header[key].split()[0])


def test_memoised_parse_keeps_each_images_own_values(images):
    # Two passes over a sweep: the second reads every line from the memo. Each image must still get its
    # own angle and time (fabio reads them from the same files), never a neighbour's.
    files = sorted((images / "l_cysteine").glob("l-cyst_01_*.cbf"))[:6]
    expected = []
    for p in files:
        lines = {
            line[2:].split(" ", 1)[0]: line[2:].split(" ", 1)[1]
            for line in fabio.open(str(p)).header["_array_data.header_contents"].splitlines()
            if line.startswith("# ") and " " in line[2:]
        }
        expected.append((_fabio_float(lines, "Start_angle"), _fabio_float(lines, "Omega")))
    for _ in range(2):
        got = []
        for p in files:
            h = read_header(p)
            assert h.axes is not None
            omega = next(a for a in h.axes.axes if a.name == "GON_OMEGA")
            got.append((h.start_angle, omega.start))
        assert got == expected
    stamps = {read_header(p).timestamp for p in files}
    assert len(stamps) == len(files)  # every frame its own time


def test_to_dict_is_json_and_round_trips(images):
    p = images / "l_cysteine" / "l-cyst_02_00003.cbf"
    d = read_header(p).to_dict()
    again = json.loads(json.dumps(d))
    section = fabio.open(str(p)).header
    assert again["binary_sections"][0]["binary_size"] == int(section["X-Binary-Size"])
    assert again["binary_sections"][0]["content_md5"] == section["Content-MD5"]
    assert again["axes"]["axes"] and again["timestamp"].startswith("2016-03-05T")


def _stream_prefix(path: Path, opener, size: int, tmp: Path) -> Path:  # type: ignore[no-untyped-def]
    """A copy of the compressed file cut after `size` bytes: what a header read may need at most."""
    cut = tmp / path.name
    cut.write_bytes(path.read_bytes()[:size])
    with pytest.raises(EOFError):  # the cut file is really truncated for a whole-file reader
        with opener(cut) as f:
            while f.read(1 << 20):
                pass
    return cut


def test_bz2_header_needs_only_the_first_block(images, tmp_path):
    # bzip2 decodes whole blocks: the header is in the first (900 kB of the frame), the rest of the
    # 2 MB file is never needed. A copy cut at 600 kB has the same header.
    full = images / "thaumatin_grid" / "thau_3_2_0001.cbf.bz2"
    cut = _stream_prefix(full, bz2.open, 600_000, tmp_path)
    expected = fabio.open(str(full)).header
    h = read_header(cut)
    assert h.wavelength == _fabio_float(
        {"w": expected["_array_data.header_contents"].split("Wavelength ")[1]}, "w"
    )
    assert h.binary_sections[0].binary_size == int(expected["X-Binary-Size"])
    assert h.binary_sections[0].content_md5 == expected["Content-MD5"]


def test_gz_header_needs_only_the_start_of_the_stream(images, tmp_path):
    full = images / "image_examples" / "DLS_I03_smargon_0001.cbf.gz"
    cut = _stream_prefix(full, gzip.open, 64_000, tmp_path)
    with gzip.open(full) as f:
        head = f.read(200_000)
    size_line = next(line for line in head.split(b"\r\n") if line.startswith(b"X-Binary-Size:"))
    assert read_header(cut).binary_sections[0].binary_size == int(size_line.split(b":")[1])


async def test_batched_store_write_keeps_one_row_per_path(native_dsn, images):
    p = images / "l_cysteine" / "l-cyst_03_00001.cbf"
    first = index_file(str(p))
    second = store.FileRecord(
        path=first.path, directory=first.directory, name=first.name, size=1, mtime_ns=2, error="later"
    )
    others = [index_file(str(q)) for q in sorted((images / "l_cysteine").glob("l-cyst_03_0000[2-5].cbf"))]
    conn = await asyncpg.connect(native_dsn)
    try:
        from site_adapter.backends.native.migrate import migrate

        await migrate(conn)
        await store.save_files(conn, [first, *others, second])  # a path twice in one batch: last wins
        rows = await conn.fetch("SELECT path, size, error, header FROM image_file ORDER BY path")
        assert len(rows) == 5
        assert (rows[0]["size"], rows[0]["error"], rows[0]["header"]) == (1, "later", None)
        await store.save_files(conn, [first])  # a rescan replaces the row in place
        row = await conn.fetchrow("SELECT size, error, header FROM image_file WHERE path = $1", first.path)
        assert row["size"] == p.stat().st_size and row["error"] is None
        assert json.loads(row["header"])["wavelength"] == pytest.approx(
            float(fabio.open(str(p)).header["_array_data.header_contents"].split("Wavelength ")[1].split()[0])
        )
        assert await conn.fetchval("SELECT count(*) FROM image_file") == 5
    finally:
        await conn.close()


async def test_copy_of_new_paths_falls_back_to_upsert_when_a_path_is_stored(native_dsn, images):
    # `new=True` copies straight into image_file; if another scan stored one of the paths meanwhile, the
    # unique path refuses the copy and the batch is upserted instead: one row per path, the newest.
    paths = sorted((images / "l_cysteine").glob("l-cyst_03_0000[1-3].cbf"))
    records = [index_file(str(q)) for q in paths]
    conn = await asyncpg.connect(native_dsn)
    try:
        from site_adapter.backends.native.migrate import migrate

        await migrate(conn)
        await store.save_files(conn, records[:2], new=True)  # nothing stored: copied
        assert await conn.fetchval("SELECT count(*) FROM image_file") == 2
        clash = store.FileRecord(
            path=records[0].path, directory=records[0].directory, name=records[0].name, size=7, mtime_ns=8
        )
        await store.save_files(conn, [clash, records[2]], new=True)  # records[0]'s path is stored
        rows = await conn.fetch("SELECT path, size, header IS NULL AS bare FROM image_file ORDER BY path")
        assert [r["path"] for r in rows] == [str(p) for p in paths]
        assert (rows[0]["size"], rows[0]["bare"]) == (7, True)
        assert [r["size"] for r in rows[1:]] == [p.stat().st_size for p in paths[1:]]
        assert not conn.is_in_transaction()
    finally:
        await conn.close()


def test_axes_made_once_keep_each_frames_settings_and_signs(images, tmp_path):
    # Axis objects are reused between frames whose settings agree; a frame's own scan-axis setting, and a
    # negative zero (-0.0 prints as such, 0.0 == -0.0 as a dict key), must still be its own. Expected values
    # are the numbers written into the copies' _diffrn_scan_frame_axis rows.
    import math

    source = images / "l_cysteine" / "l-cyst_01_00001.cbf"
    data = source.read_bytes()[:20000]
    row = b"FRAME1 GON_OMEGA -145.0000 0.0"
    assert row in data
    starts = ["-145.0000", "-0.0000", "0.0000", "-0.0000", "12.5000"]
    got = []
    for k, start in enumerate(starts):
        copy = tmp_path / f"x_{k:05d}.cbf"
        copy.write_bytes(data.replace(row, b"FRAME1 GON_OMEGA " + start.encode().rjust(9) + b" 0.0"))
        axes = read_header(copy).axes
        assert axes is not None
        omega = next(a for a in axes.axes if a.name == "GON_OMEGA")
        phi = next(a for a in axes.axes if a.name == "GON_PHI")
        got.append((omega.start, math.copysign(1.0, omega.start), phi.start))
    assert got == [(float(s), math.copysign(1.0, float(s)), 0.0) for s in starts]


def test_undefined_element_axis_is_refused_on_every_read(images, tmp_path):
    # The element axes are read once per distinct loop; a header naming an element axis its _axis loop
    # does not define must still be refused each time it is read, and the good frame still parsed.
    from site_adapter.indexer.cbf_header import HeaderError

    data = (images / "l_cysteine" / "l-cyst_01_00002.cbf").read_bytes()[:20000]
    row = b"ELEMENT_X ELEMENT_X 0.0 0.1720"
    assert row in data
    bad = tmp_path / "bad_00001.cbf"
    bad.write_bytes(data.replace(row, b"ELEMENT_X ELEMENT_Q 0.0 0.1720"))
    good = tmp_path / "good_00001.cbf"
    good.write_bytes(data)
    for _ in range(2):
        with pytest.raises(HeaderError, match="ELEMENT_Q"):
            read_header(bad)
        axes = read_header(good).axes
        assert axes is not None and (axes.fast, axes.slow, axes.fast_step) == (
            "ELEMENT_X",
            "ELEMENT_Y",
            0.172,
        )
