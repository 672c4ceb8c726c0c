"""Vectorised numpy decoder of x-CBF_BYTE_OFFSET data and the pixel summary the indexer stores.

Spec (CBF "byte_offset" compression, CBFlib doc): each pixel is the previous one plus a delta; the
delta is one signed byte, unless that byte is -128 (0x80), then a signed little-endian int16 follows,
which if -32768 is followed by an int32, which if -2**31 is followed by an int64. Never a Python loop
per pixel: only 0x80 bytes that fall inside another escape's payload are resolved one by one, and a
frame with few escapes copies the runs between them one slice each.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_I16_ESC = -0x8000
_I32_ESC = -0x80000000


class DecodeError(ValueError):
    """The compressed stream does not hold the number of pixels the MIME header promises."""


def decode_byte_offset(
    data: bytes | memoryview, n_elements: int | None = None, dtype: np.dtype | type = np.int32
) -> np.ndarray:
    """Decode a byte-offset stream to a 1-D array of `dtype` (int32 for "signed 32-bit integer").

    The deltas (one-byte ones widened, each escape's value in its place, payload bytes dropped) are
    written to the output, which one running sum in place turns into the pixel values.
    """
    raw = np.frombuffer(data, dtype=np.uint8)
    n = raw.size
    cand = _escape_candidates(data, raw)
    work = np.dtype(np.int64 if np.dtype(dtype).itemsize > 4 else np.int32)
    if not cand.size:
        _checked(raw, n_elements)
        values = np.empty(n, dtype=work)
        values[:] = raw.view(np.int8)  # widened first: a same-type sum in place is twice as fast
        np.cumsum(values, out=values)
        return values.astype(dtype, copy=False)
    lengths = _escape_lengths(raw, cand)
    starts = _resolve_starts(cand, lengths)
    esc_pos, esc_len = cand[starts], lengths[starts]
    if int(esc_pos[-1] + esc_len[-1]) > n:
        raise DecodeError("byte-offset stream ends inside an escape")
    esc_val = np.empty(esc_pos.size, dtype=np.int64)
    for length, width, offset in ((3, np.int16, 1), (7, np.int32, 3), (15, np.int64, 7)):
        sel = esc_len == length
        if sel.any():
            esc_val[sel] = _read_le(raw, esc_pos[sel] + offset, width)
    if (esc_len == 15).any():
        work = np.dtype(np.int64)
    # Element index of each escape once the payload bytes before it are dropped.
    payload_before = np.concatenate(([0], np.cumsum(esc_len - 1)[:-1]))
    esc_elem = esc_pos - payload_before
    total = n - int((esc_len - 1).sum())
    if n_elements is not None and total != n_elements:
        raise DecodeError(f"decoded {total} pixels, the header says {n_elements}")
    # The deltas with each escape's payload bytes dropped and its value in its place, then one running
    # sum in place, in the working width: its wrap-around is CBFlib's C integer arithmetic. Issue 17:
    # a cumulative sum per run between escapes, then a pass adding each run's base, was slower than
    # fabio on 6M frames (~600 escapes each); this is one cast-copy and one same-type sum per pixel.
    values = np.empty(total, dtype=work)
    d8 = raw.view(np.int8)
    if esc_pos.size <= n // 1024:  # a slice copy per run between escapes (~1 us each)
        _copy_runs(d8, values, esc_pos, esc_len, esc_elem)
    else:  # busy frames: one mask of the payload bytes
        keep = np.ones(n, dtype=bool)
        keep[(esc_pos[:, None] + _OFFSETS)[_OFFSETS < esc_len[:, None]]] = False
        values[:] = d8[keep]
    values[esc_elem] = esc_val  # in the working width: 64-bit escapes made it int64 above
    np.cumsum(values, out=values)
    return values.astype(dtype, copy=False)


_OFFSETS = np.arange(1, 15)[None, :]


def _copy_runs(
    d8: np.ndarray, values: np.ndarray, esc_pos: np.ndarray, esc_len: np.ndarray, esc_elem: np.ndarray
) -> None:
    """The one-byte deltas before, between and after the escapes, each run copied (and widened) to
    where its pixels are; the escapes' own places are left for the caller."""
    first = int(esc_pos[0])
    values[:first] = d8[:first]
    byte_starts = (esc_pos + esc_len).tolist()
    byte_ends = esc_pos[1:].tolist() + [d8.size]
    for b0, b1, e in zip(byte_starts, byte_ends, (esc_elem + 1).tolist(), strict=True):
        values[e : e + b1 - b0] = d8[b0:b1]


def _escape_candidates(data: bytes | memoryview, raw: np.ndarray, few: int = 256) -> np.ndarray:
    """Positions of 0x80 bytes. Quiet frames have a handful, found by memchr-speed bytes.find
    without building a mask of the whole frame; busy ones switch to a numpy comparison."""
    if not isinstance(data, bytes):
        return np.flatnonzero(raw == 0x80)
    found: list[int] = []
    at = data.find(b"\x80")
    while at >= 0:
        found.append(at)
        if len(found) > few:
            return np.flatnonzero(raw == 0x80)
        at = data.find(b"\x80", at + 1)
    return np.array(found, dtype=np.int64)


def _checked(values: np.ndarray, n_elements: int | None) -> np.ndarray:
    if n_elements is not None and values.size != n_elements:
        raise DecodeError(f"decoded {values.size} pixels, the header says {n_elements}")
    return values


def _read_le(buf: np.ndarray, pos: np.ndarray, width: type) -> np.ndarray:
    """Little-endian integers of `width` starting at each byte position `pos` (unaligned reads;
    positions past the end read the last byte, and the caller rejects such escapes)."""
    size = np.dtype(width).itemsize
    idx = pos[:, None] + np.arange(size)
    chunk = np.take(buf, idx, mode="clip")
    return np.ascontiguousarray(chunk).view(np.dtype(width).newbyteorder("<")).ravel()


def _escape_lengths(buf: np.ndarray, cand: np.ndarray) -> np.ndarray:
    """Bytes each 0x80 would take if it starts an escape: 3, 7 or 15."""
    lengths = np.full(cand.size, 3, dtype=np.int64)
    v16 = _read_le(buf, cand + 1, np.int16)
    m16 = v16 == _I16_ESC
    if m16.any():
        v32 = _read_le(buf, cand[m16] + 3, np.int32)
        sub = np.where(v32 == _I32_ESC, 15, 7)
        lengths[m16] = sub
    return lengths


def _resolve_starts(cand: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Which 0x80 bytes start escapes. One not covered by any earlier candidate's payload surely
    does; the rare ones inside a payload (e.g. delta 128 = 80 80 00) are settled in order."""
    ends = cand + lengths
    prev_max = np.empty_like(ends)
    prev_max[0] = -1
    np.maximum.accumulate(ends[:-1], out=prev_max[1:])
    covered = prev_max > cand
    starts: np.ndarray = ~covered
    for i in np.flatnonzero(covered):
        q = cand[i]
        j = i - 1
        is_start = True
        while j >= 0 and cand[j] > q - 15:
            if starts[j] and ends[j] > q:
                is_start = False
                break
            j -= 1
        starts[i] = is_start
    return starts


@dataclass(frozen=True, slots=True)
class PixelSummary:
    """Counts a user can check a frame by: total and max of valid counts, gaps, bad pixels, overloads."""

    pixels: int
    sum: int  # over pixels >= 0
    max: int
    gap_pixels: int  # value -1: module gaps (PILATUS convention)
    bad_pixels: int  # value -2: pixels flagged bad in the excluded-pixel mask
    overloads: int  # value >= Count_cutoff, when the header gives one

    def to_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in self.__slots__}


def summarise(values: np.ndarray, count_cutoff: int | None = None) -> PixelSummary:
    valid = values >= 0
    return PixelSummary(
        pixels=int(values.size),
        sum=int(values.sum(where=valid, dtype=np.int64)),
        max=int(values.max()) if values.size else 0,
        gap_pixels=int(np.count_nonzero(values == -1)),
        bad_pixels=int(np.count_nonzero(values == -2)),
        overloads=int(np.count_nonzero(values >= count_cutoff)) if count_cutoff else 0,
    )
