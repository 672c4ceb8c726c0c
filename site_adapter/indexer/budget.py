"""How much one file may cost the indexer: declared sizes checked against the file, its dimensions and a
memory budget before anything is read, so a hostile header cannot make the indexer allocate.

Pure checks on a parsed header and a stat; reads nothing.
"""
# Issue 15's probe: an 8 KB CBF declaring a 512 MB section took 4.8 GB, a 2 GB sparse file 19 GB, and
# .cbf.gz/.bz2 files of a few KB expanding to 400 MB took 3.8 GB each. Real frames are far smaller: an
# Eiger2 16M frame is 18.1 M pixels (72 MB as int32) in a ~25 MB byte-offset section.

from __future__ import annotations

import math
import os

from site_adapter.indexer.cbf_header import BinarySection, HeaderError

DEFAULT_MAX_BYTES = 256 << 20  # per file: the section read plus the decoded pixels and work arrays
MAX_RATIO = 1000  # decompressed bytes per byte on disk; real CBF.gz/.bz2 frames compress 2-30 times
DECODE_FACTOR = 3  # the byte-offset decoder holds about three arrays of the decoded size at its peak
ENV = "MXHUB_INDEX_MAX_BYTES"


class OverBudget(HeaderError):
    """Decoding this section would take more memory than the indexer's budget allows."""


def max_bytes() -> int:
    """The per-file budget: MXHUB_INDEX_MAX_BYTES (bytes; K, M, G suffixes), else 256 MiB."""
    raw = os.environ.get(ENV, "").strip().upper()
    if not raw:
        return DEFAULT_MAX_BYTES
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(raw[-1], 1)
    try:
        return int(float(raw.rstrip("KMGB") or "0") * scale)
    except ValueError:
        raise HeaderError(f"{ENV}={raw!r} is not a size (e.g. 256M)") from None


def check_declared(section: BinarySection, file_size: int, compressed: bool) -> None:
    """Raise HeaderError when the section cannot be in this file: past its end, or (compressed) more
    than MAX_RATIO times the file's size, or with a pixel count that its dimensions contradict."""
    if section.data_offset is None or section.binary_size is None:
        return
    end = section.data_offset + section.binary_size
    if section.binary_size < 0:
        raise HeaderError(f"binary section {section.binary_id}: negative X-Binary-Size")
    if not compressed and end > file_size:
        raise HeaderError(f"truncated: {file_size} bytes, binary section {section.binary_id} needs {end}")
    if compressed and end > MAX_RATIO * max(file_size, 1):
        raise HeaderError(
            f"binary section {section.binary_id} declares {end} bytes from a {file_size}-byte "
            f"compressed file (over {MAX_RATIO}x): refused as a decompression bomb"
        )
    dims = [d for d in (section.fastest_dimension, section.second_dimension, section.third_dimension) if d]
    if section.number_of_elements is not None and dims:
        product = math.prod(dims)  # exact (numpy's int64 product wraps), and ~20x cheaper per file
        if product != section.number_of_elements:
            raise HeaderError(
                f"binary section {section.binary_id}: {section.number_of_elements} elements "
                f"declared, its dimensions make {product}"
            )


def decode_cost(section: BinarySection, itemsize: int) -> int:
    """Bytes held while reading and decoding the section (its bytes, then the pixel arrays)."""
    return (section.binary_size or 0) + DECODE_FACTOR * itemsize * (section.number_of_elements or 0)


def check_decode(section: BinarySection, itemsize: int, budget: int) -> None:
    cost = decode_cost(section, itemsize)
    if cost > budget:
        raise OverBudget(
            f"pixels not decoded: binary section {section.binary_id} would take "
            f"{cost / 2**20:.0f} MiB, over the indexer's {budget / 2**20:.0f} MiB budget "
            f"({ENV})"
        )
