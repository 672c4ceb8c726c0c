from __future__ import annotations

import fabio
import numpy as np
import pytest
from fabio.compression import compByteOffset

from site_adapter.indexer.byte_offset import DecodeError, decode_byte_offset, summarise
from site_adapter.indexer.cbf_header import read_header
from site_adapter.indexer.integrity import read_section

FILES = [
    "l_cysteine/l-cyst_01_00001.cbf",
    "thaumatin_grid/thau_3_2_0001.cbf.bz2",
    "image_examples/DLS_I03_smargon_0001.cbf.gz",
    "dialects/psi_in16c_010001.cbf",
    "dialects/dxtbx_i19_phi_scan_001.cbf",
    "dialects/psi_example_headerless.cbf",
]


@pytest.mark.parametrize("name", FILES)
def test_pixels_identical_to_fabio(images, name):
    path = images / name
    header = read_header(path)
    section = header.binary_sections[0]
    values = decode_byte_offset(read_section(path, section), section.number_of_elements)
    reference = fabio.open(str(path)).data
    assert values.dtype == reference.dtype == np.int32
    assert np.array_equal(values.reshape(header.dimension_y, header.dimension_x), reference)


def test_every_escape_width():
    values = np.array(
        [
            0,
            5,
            127,
            128,
            -128,
            -129,
            200,
            -300,
            32767,
            -32768,
            32768,
            70000,
            -70000,
            2**31 - 1,
            -(2**31),
            2**33,
            -(2**33),
            3,
            0x80,
            0x8080,
            0x808080,
        ],
        dtype=np.int64,
    )
    encoded = compByteOffset(values)
    assert decode_byte_offset(encoded, values.size, np.int64).tolist() == values.tolist()
    small = values[np.abs(values) < 2**31]
    assert np.array_equal(decode_byte_offset(compByteOffset(small), small.size), small.astype(np.int32))


def test_sparse_escapes_in_a_long_stream_take_the_run_copy_path():
    # Few escapes in many one-byte deltas (a real frame's shape): the runs between escapes are copied
    # one slice each. Every escape width, values that wrap int32 and escapes at both ends; fabio's
    # encoder writes the stream, numpy's cumulative sum of the values is the reference.
    rng = np.random.default_rng(7)
    deltas = rng.integers(-100, 100, 300_000).astype(np.int64)
    for at, delta in ((0, 5000), (1, -(2**20)), (777, 2**40), (150_000, -(2**40)), (299_999, 40_000)):
        deltas[at] = delta
    values = np.cumsum(deltas)
    got = decode_byte_offset(compByteOffset(values), values.size, np.int64)
    assert np.array_equal(got, values)
    narrow = np.cumsum(deltas.clip(-(2**31) + 1, 2**31 - 1)).astype(np.int32)  # wraps as C int32
    got32 = decode_byte_offset(compByteOffset(narrow), narrow.size)
    assert np.array_equal(got32, narrow)
    assert np.array_equal(got32, fabio_reference(compByteOffset(narrow), narrow.size))


def fabio_reference(data: bytes, size: int) -> np.ndarray:
    from fabio.compression import decByteOffset

    return decByteOffset(data, size=size)


def test_busy_stream_takes_the_vectorised_path():
    rng = np.random.default_rng(4)
    values = np.cumsum(rng.integers(-400, 400, 50_000)).astype(np.int32)  # an escape on most pixels
    assert np.array_equal(decode_byte_offset(compByteOffset(values), values.size), values)


def test_wrong_pixel_count_and_cut_escape():
    encoded = compByteOffset(np.array([1, 2, 3000], dtype=np.int32))
    with pytest.raises(DecodeError):
        decode_byte_offset(encoded, 4)
    with pytest.raises(DecodeError):
        decode_byte_offset(encoded[:-1], 3)


def test_summary_counts_gaps_bad_pixels_and_overloads(images):
    path = images / "thaumatin_grid/thau_3_2_0001.cbf.bz2"
    ref = fabio.open(str(path)).data
    s = summarise(ref.ravel(), 115897)
    assert s.gap_pixels == int((ref == -1).sum()) == 526101
    assert s.bad_pixels == int((ref == -2).sum()) == 625
    assert s.sum == int(ref[ref >= 0].sum()) and s.max == int(ref.max())
    assert summarise(ref.ravel(), 100).overloads == int((ref >= 100).sum()) > 0
