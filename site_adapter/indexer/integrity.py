"""Streaming checks of binary sections: Content-MD5 (RFC 1864, base64 of the MD5 of the compressed
bytes, as the CBF spec uses it) and reading one section's bytes for decoding. Never loads a file whole
unless asked for the section's bytes."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path

from site_adapter.indexer.cbf_header import BinarySection, HeaderError, open_image

BLOCK = 1 << 20


class TruncatedData(HeaderError):
    """The file ends before X-Binary-Size bytes of a section."""


@dataclass(frozen=True, slots=True)
class Md5Check:
    binary_id: int | None
    expected: str | None  # the header's Content-MD5 (None: the writer gave none)
    actual: str  # base64 MD5 of the bytes on disk

    @property
    def ok(self) -> bool | None:
        return None if self.expected is None else self.expected == self.actual


def section_md5(path: str | Path, section: BinarySection) -> Md5Check:
    """MD5 of one section's X-Binary-Size bytes, read in 1 MB blocks (through .gz/.bz2)."""
    if section.data_offset is None or section.binary_size is None:
        raise HeaderError("section without data offset or X-Binary-Size")
    digest = hashlib.md5()
    with open_image(path) as f:
        f.seek(section.data_offset)
        left = section.binary_size
        while left:
            block = f.read(min(BLOCK, left))
            if not block:
                raise TruncatedData(
                    f"file ends {left} bytes before the end of binary section {section.binary_id}"
                )
            digest.update(block)
            left -= len(block)
    actual = base64.b64encode(digest.digest()).decode("ascii")
    return Md5Check(section.binary_id, section.content_md5, actual)


def verify_sections(path: str | Path, sections: tuple[BinarySection, ...]) -> list[Md5Check]:
    return [section_md5(path, s) for s in sections]


def read_section(path: str | Path, section: BinarySection) -> bytes:
    """The compressed bytes of one section (for the pixel decoder)."""
    if section.data_offset is None or section.binary_size is None:
        raise HeaderError("section without data offset or X-Binary-Size")
    with open_image(path) as f:
        f.seek(section.data_offset)
        data = f.read(section.binary_size)
    if len(data) < section.binary_size:
        raise TruncatedData(
            f"file ends {section.binary_size - len(data)} bytes before the end of "
            f"binary section {section.binary_id}"
        )
    return data
