"""The index-time preview step (issue 22): for each sweep a scan stored, pictures of its first, middle and
last frames at each preview size, and for a grid scan the heat map of every frame's total counts, saved in
the site store so they outlive the raw files.

Only three frames of a rotation sweep are decoded; a grid scan decodes each frame once, for its count.
A preview whose file is unchanged since it was made is not made again; a file that is gone keeps its
preview. A file that cannot be drawn costs its preview only (logged), never the scan.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import asyncpg

from site_adapter.indexer import preview_store
from site_adapter.indexer.frames import is_nexus, read_frame
from site_adapter.indexer.preview_store import StoredPreview
from site_adapter.indexer.previews import MEDIA_TYPE, SIZES, heat_map, render
from site_adapter.indexer.store import StoredSweep

log = logging.getLogger("mxhub.indexer.previews")


@dataclass(frozen=True, slots=True)
class FrameJob:
    """One frame to decode: which file, which frame in it (NXmx), and what to make of it."""

    image_number: int
    path: str
    index: int
    mtime_ns: int
    draw: bool  # render previews (first/middle/last), else only count (grid frames in between)


def chosen(numbers: Sequence[int]) -> list[int]:
    """First, middle and last of the present image numbers (fewer when the sweep is shorter)."""
    if not numbers:
        return []
    ordered = sorted(numbers)
    return sorted({ordered[0], ordered[len(ordered) // 2], ordered[-1]})


def _jobs(s: StoredSweep, made: dict[tuple[int, str, int, int], int | None]) -> list[FrameJob]:
    """The frames to decode: the chosen three whose previews are missing or older than their file; for
    a grid scan with anything to redo, every frame (the heat map needs each one's count)."""
    sweep = s.sweep
    if sweep.files and is_nexus(sweep.files[0].path):
        master = sweep.files[0].path
        files = {n: (master, n - sweep.first) for n in sweep.numbers}
    else:
        files = {n: (f.path, 0) for n, f in zip(sweep.numbers, sweep.files, strict=False)}
    draw = set(chosen(list(files)))
    # A rotation sweep needs only its three files' times; a grid scan may need every frame's.
    mtimes = _mtimes(files, files if sweep.kind == "grid" else draw)
    stale = {
        n
        for n in draw
        if n in mtimes and any(made.get((s.image_set_id, "frame", n, size)) != mtimes[n] for size in SIZES)
    }
    if sweep.kind == "grid" and (stale or (s.image_set_id, "heatmap", 0, SIZES[0]) not in made):
        wanted = sorted(mtimes)
    else:
        wanted = sorted(stale)
    return [FrameJob(n, files[n][0], files[n][1], mtimes[n], n in stale) for n in wanted]


def _mtimes(files: dict[int, tuple[str, int]], numbers: Iterable[int]) -> dict[int, int]:
    """mtime_ns of the files of these image numbers that are still on disk (one stat per file)."""
    by_path: dict[str, int | None] = {}
    out: dict[int, int] = {}
    for n in numbers:
        path = files[n][0]
        if path not in by_path:
            try:
                by_path[path] = os.stat(path).st_mtime_ns
            except OSError:  # gone: its preview (if any) stays as it was
                by_path[path] = None
        stamp = by_path[path]
        if stamp is not None:
            out[n] = stamp
    return out


def _decode(job: FrameJob) -> tuple[int, list[tuple[int, bytes, int, int, int]]]:
    """(total counts, [(size, png, width, height, binning)...]) of one frame; runs in a worker thread."""
    frame = read_frame(job.path, job.index)
    pictures = []
    if job.draw:
        for size in SIZES:
            p = render(frame.pixels, size, frame.count_cutoff)
            pictures.append((size, p.data, p.width, p.height, p.binning))
    return frame.total_counts, pictures


Decoded = tuple[int, list[tuple[int, bytes, int, int, int]]]


async def make_previews(conn: asyncpg.Connection, stored: Sequence[StoredSweep], threads: int = 2) -> int:
    """Make the missing or outdated previews of these sweeps; returns how many pictures were saved.
    Frames decode in `threads` threads (bz2, zlib and numpy release the GIL)."""
    made = await preview_store.made_from(conn, [s.image_set_id for s in stored])
    gate = asyncio.Semaphore(max(1, threads))
    saved = 0

    async def decode(job: FrameJob) -> tuple[FrameJob, Decoded | None]:
        async with gate:
            try:
                return job, await asyncio.to_thread(_decode, job)
            except Exception as exc:  # noqa: BLE001 - one unreadable frame costs its preview only
                log.warning("no preview of %s frame %d: %s", job.path, job.index + 1, exc)
                return job, None

    for s in stored:
        jobs = _jobs(s, made)
        if not jobs:
            continue
        counts: list[tuple[str, int]] = []
        pictures: list[StoredPreview] = []
        for job, result in await asyncio.gather(*(decode(j) for j in jobs)):
            if result is not None:
                if not is_nexus(job.path):
                    counts.append((job.path, result[0]))
                pictures += _frame_pictures(s.image_set_id, job, result)
        async with conn.transaction():
            await preview_store.save_counts(conn, counts)
            if not await preview_store.hold_set(conn, s.image_set_id):
                continue
            if s.sweep.kind == "grid":
                pictures += await _heat_maps(conn, s)
            await preview_store.save_previews(conn, pictures)
            await preview_store.prune_frames(conn, s.image_set_id, chosen(s.sweep.numbers))
        saved += len(pictures)
    return saved


def _frame_pictures(image_set_id: int, job: FrameJob, result: Decoded) -> list[StoredPreview]:
    return [
        StoredPreview(
            image_set_id, "frame", job.image_number, size, MEDIA_TYPE, w, h, k, job.path, job.mtime_ns, png
        )
        for size, png, w, h, k in result[1]
    ]


async def _heat_maps(conn: asyncpg.Connection, s: StoredSweep) -> list[StoredPreview]:
    """A grid scan's heat maps, from every count stored for it (this scan's and earlier ones')."""
    known = dict((await preview_store.counts_per_image(conn, [s.image_set_id]))[s.image_set_id])
    series = [known.get(n) for n in range(s.sweep.first, s.sweep.last + 1)]
    if all(c is None for c in series):
        return []
    out = []
    for size in SIZES:
        p = heat_map(series, size)
        out.append(
            StoredPreview(
                s.image_set_id, "heatmap", 0, size, p.media_type, p.width, p.height, p.binning, data=p.data
            )
        )
    return out
