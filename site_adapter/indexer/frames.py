"""One frame's pixels as a 2-D numpy array (slow, fast), from a CBF (plain, .gz, .bz2) or an NXmx master
and its data files. What the previews and the on-demand views read; it never renders or stores.

Decoded: the first binary section of a CBF with x-CBF_BYTE_OFFSET (every PILATUS/Eiger miniCBF and the
full-CBF files we index) or no compression. Not decoded: x-CBF_PACKED (the Rayonix and CSPAD imgCIF
fixtures) and multi-section detectors: they raise Unsupported, with the reason.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from site_adapter.indexer.budget import OverBudget, check_decode, max_bytes
from site_adapter.indexer.byte_offset import decode_byte_offset
from site_adapter.indexer.cbf_header import CbfHeader, HeaderError, read_header
from site_adapter.indexer.integrity import read_section

_DTYPES = {
    "signed 32-bit integer": "int32",
    "unsigned 32-bit integer": "uint32",
    "signed 16-bit integer": "int16",
    "unsigned 16-bit integer": "uint16",
    "signed 8-bit integer": "int8",
    "unsigned 8-bit integer": "uint8",
}
_NONE = {None, "", "x-CBF_NONE", "none"}


class Unsupported(HeaderError):
    """The file's pixels are in a form we do not decode (the message says which)."""


class Gone(OSError):
    """The raw file is no longer there (deleted after the retention period, moved to tape)."""


@dataclass(frozen=True, slots=True)
class Frame:
    """Counts as the detector wrote them: -1 module gaps and -2 bad pixels kept (PILATUS convention)."""

    pixels: np.ndarray  # 2-D, (slow, fast)
    count_cutoff: int | None

    @property
    def total_counts(self) -> int:
        return int(self.pixels.sum(where=self.pixels >= 0, dtype=np.int64))


def is_nexus(path: str) -> bool:
    return path.lower().endswith((".h5", ".nxs"))


def read_frame(path: str, index: int = 0, header: CbfHeader | None = None) -> Frame:
    """Frame `index` (0-based; only an NXmx master holds more than one) of the file at `path`."""
    if not os.path.exists(path):
        raise Gone(f"the raw file {os.path.basename(path)} is no longer on disk")
    if is_nexus(path):
        from site_adapter.indexer import nexus

        values = nexus.read_frame(path, index)
        if values.ndim != 2:
            raise Unsupported(f"NXmx frame of shape {values.shape}: two dimensions expected")
        cutoff = None
        if header is not None:
            cutoff = header.count_cutoff
        return Frame(_nexus_masked(values), cutoff)
    if index != 0:
        raise HeaderError(f"a CBF file holds one frame, not frame {index + 1}")
    header = header or read_header(path)
    return Frame(cbf_pixels(path, header), header.count_cutoff)


def cbf_pixels(path: str, header: CbfHeader) -> np.ndarray:
    """The first binary section as (slow, fast) pixels."""
    if not header.binary_sections:
        raise HeaderError("no binary section: the file holds no pixels")
    if len(header.binary_sections) > 1:
        raise Unsupported(
            f"{len(header.binary_sections)} binary sections (a multi-panel detector): not drawn"
        )
    section = header.binary_sections[0]
    dtype_name = _DTYPES.get((section.element_type or "").lower())
    if dtype_name is None:
        raise Unsupported(f"pixel type {section.element_type!r} is not decoded")
    dtype = np.dtype(dtype_name)
    nx, ny = section.fastest_dimension, section.second_dimension
    if not nx or not ny:
        raise HeaderError("the binary section does not state its dimensions")
    try:
        check_decode(section, dtype.itemsize, max_bytes())
    except OverBudget as exc:
        raise Unsupported(str(exc)) from None
    if section.conversions == "x-CBF_BYTE_OFFSET":
        values = decode_byte_offset(read_section(path, section), section.number_of_elements, dtype)
    elif section.conversions in _NONE:
        little = (section.byte_order or "").upper().startswith("LITTLE")
        values = np.frombuffer(read_section(path, section), dtype=dtype.newbyteorder("<" if little else ">"))
    else:
        raise Unsupported(f"pixels not decoded: {section.conversions} compression")
    if values.size != nx * ny:
        raise HeaderError(f"{values.size} pixels, the header says {nx} x {ny}")
    return values.reshape(ny, nx)


def _nexus_masked(values: np.ndarray) -> np.ndarray:
    """Eiger data files are unsigned; the all-ones value marks gaps and bad pixels (DECTRIS: pixel_mask
    applied by the detector). Turned into -1 (gaps), as in a PILATUS CBF, so one colouring serves both."""
    if values.dtype.kind == "u":
        flagged = values == np.iinfo(values.dtype).max
        out = values.astype(np.int64 if values.dtype.itemsize >= 4 else np.int32)
        out[flagged] = -1
        return out
    return values
