"""The scanner: walk image trees, index new or changed files in worker processes, save results in
batches (a killed scan keeps every finished batch and resumes), then rebuild and link the sweeps.

A file that cannot be indexed is recorded with its reason and the scan goes on; nothing here raises
for one bad file. Worker processes are spawned, never forked, so they share no database socket.
Past 400 lines because reading, writing and summing up a scan are one pipeline (issue 17 overlaps them).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import AsyncGenerator, Callable, Container, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from typing import Any

import asyncpg

from site_adapter.indexer import store
from site_adapter.indexer.budget import OverBudget, check_declared, check_decode, max_bytes
from site_adapter.indexer.byte_offset import DecodeError, decode_byte_offset, summarise
from site_adapter.indexer.cbf_header import CbfHeader, HeaderError, read_header
from site_adapter.indexer.integrity import Md5Check, read_section, section_md5
from site_adapter.indexer.nexus import read_nexus
from site_adapter.indexer.sweeps import split_template
from site_adapter.indexer.walk import os_reason as _os_reason
from site_adapter.indexer.walk import storable, walk

BATCH = 1024  # rows per COPY and transaction: a killed scan keeps every finished batch
CHUNK = 256  # files read per call into a thread or worker: one hop per chunk, not per file (issue 17)
# Spawning workers costs ~0.5 s of imports; a memoised header read takes ~0.03 ms, so fewer files than
# this go faster in one process.
PARALLEL_MIN = 8192
# What a header must give for its image to be reprocessed (PILATUS header spec fields).
REQUIRED = {
    "miniCBF": (
        "wavelength",
        "detector_distance",
        "beam_x",
        "beam_y",
        "start_angle",
        "angle_increment",
        "exposure_time",
        "pixel_size_x",
    ),
    "imgCIF": ("wavelength",),
    "NXmx": ("wavelength", "detector_distance", "pixel_size_x"),
}
_BYTE_OFFSET = "x-CBF_BYTE_OFFSET"
_DTYPES = {
    "signed 32-bit integer": "int32",
    "unsigned 32-bit integer": "uint32",
    "signed 16-bit integer": "int16",
    "unsigned 16-bit integer": "uint16",
    "signed 8-bit integer": "int8",
    "unsigned 8-bit integer": "uint8",
    "signed 64-bit integer": "int64",
}


@dataclass(slots=True)
class ScanSummary:
    """Counts are disjoint (issue 13): files == indexed + skipped + len(failed)."""

    files: int = 0  # every path the walk met: image files, and entries it could not read
    indexed: int = 0  # read and indexed by this scan
    skipped: int = 0  # indexed before and unchanged since (not read again)
    failed: list[dict[str, str]] = field(default_factory=list)  # could not be indexed, this scan or before
    sweeps: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "indexed": self.indexed,
            "skipped": self.skipped,
            "failed": self.failed,
            "sweeps": self.sweeps,
            "unlinked": [s for s in self.sweeps if s.get("linked") is None],
        }


def index_file(
    path: str, verify: bool = False, size: int | None = None, mtime_ns: int | None = None
) -> store.FileRecord:
    """Index one file; every failure comes back as a record with `error` set, never as an exception."""
    directory, name = os.path.split(path)
    split = split_template(name)
    base = store.FileRecord(
        path=path,
        directory=directory,
        name=name,
        size=size,
        mtime_ns=mtime_ns,
        image_number=split[1] if split else None,
    )
    try:
        if size is None or mtime_ns is None:
            st = os.stat(path)
            size, mtime_ns = st.st_size, st.st_mtime_ns
            base = replace(base, size=size, mtime_ns=mtime_ns)
        return _read_file(base, size, verify)
    except (HeaderError, DecodeError) as exc:
        return replace(base, error=str(exc))
    except EOFError:  # gzip/bz2 stream cut short inside the pixels
        return replace(base, error="truncated: compressed stream ends before the data does")
    except OSError as exc:
        return replace(base, error=_os_reason(exc))
    except Exception as exc:  # a reader bug must cost one file, not the scan
        return replace(base, error=f"{type(exc).__name__}: {exc}")


def _read_file(base: store.FileRecord, size: int, verify: bool) -> store.FileRecord:
    """The header (and, with `verify`, the checksums and a pixel summary) of the file `base` names."""
    path = base.path
    is_nexus = base.name.lower().endswith((".h5", ".nxs"))
    header = read_nexus(path) if is_nexus else read_header(path)
    missing = [k for k in REQUIRED.get(header.format, ()) if getattr(header, k) is None]
    if missing:
        return replace(
            base,
            format=header.format,
            header=header.to_dict(),
            error=f"missing header fields: {', '.join(missing)}",
        )
    if not is_nexus:
        _check_size(path, header, size)
    verified, pixels = _verify(path, header) if verify and not is_nexus else (None, None)
    if verified is False:
        return replace(
            base,
            format=header.format,
            header=header.to_dict(),
            pixels=pixels,
            verified=False,
            error=_md5_reason(pixels),
        )
    # The common outcome, made directly: dataclasses.replace costs as much as the line parse (issue 17).
    return store.FileRecord(
        base.path,
        base.directory,
        base.name,
        base.size,
        base.mtime_ns,
        header.format,
        base.image_number,
        header.to_dict(),
        pixels,
        verified,
        base.error,
    )


def _check_size(path: str, header: CbfHeader, size: int) -> None:
    """Every section's declared size against the file (a stat, no read): past the end of a plain file,
    or beyond what a compressed file can hold (budget.py). Compressed files are checked for truncation
    when --verify streams them."""
    compressed = path.lower().endswith((".gz", ".bz2"))
    for section in header.binary_sections:
        check_declared(section, size, compressed)


def _verify(path: str, header: CbfHeader) -> tuple[bool | None, dict[str, Any]]:
    """Content-MD5 of each section; byte-offset pixels decoded from the same read for a summary."""
    import base64
    import hashlib

    import numpy as np

    checks: list[Md5Check] = []
    pixels: dict[str, Any] = {}
    budget = max_bytes()
    for k, section in enumerate(header.binary_sections):
        dtype = _DTYPES.get((section.element_type or "").lower())
        if k == 0 and section.conversions == _BYTE_OFFSET and dtype:
            try:
                check_decode(section, np.dtype(dtype).itemsize, budget)
            except OverBudget as exc:  # still verified, by streaming; only the pixel summary is skipped
                checks.append(section_md5(path, section))
                pixels["unsupported"] = str(exc)
                continue
            data = read_section(path, section)
            actual = base64.b64encode(hashlib.md5(data).digest()).decode("ascii")
            checks.append(Md5Check(section.binary_id, section.content_md5, actual))
            values = decode_byte_offset(data, section.number_of_elements, np.dtype(dtype))
            pixels.update(summarise(values, header.count_cutoff).to_dict())
        else:
            checks.append(section_md5(path, section))
            if k == 0:
                pixels["unsupported"] = f"pixels not decoded: {section.conversions} compression"
    bad = [c for c in checks if c.ok is False]
    if bad:
        pixels["md5_mismatch"] = [
            {"binary_id": c.binary_id, "expected": c.expected, "actual": c.actual} for c in bad
        ]
        return False, pixels
    if any(c.ok is None for c in checks):
        return None, pixels  # e.g. the Eiger-to-CBF converter writes no Content-MD5
    return True, pixels


def _md5_reason(pixels: dict[str, Any] | None) -> str:
    bad = (pixels or {}).get("md5_mismatch", [])
    return (
        "; ".join(
            f"Content-MD5 mismatch in binary section {b['binary_id']}: header {b['expected']},"
            f" data {b['actual']}"
            for b in bad
        )
        or "Content-MD5 mismatch"
    )


async def _save(
    conn: asyncpg.Connection,
    batch: list[store.FileRecord],
    problems: list[dict[str, str]],
    known: Container[str] = (),
) -> None:
    """Save a batch; if the batch is refused, save its records one by one so one bad record costs
    itself only (reported in `problems`), never the batch or the scan. `known`: paths stored before."""
    if not batch:
        return
    try:
        new = [r for r in batch if r.path not in known]
        if new:
            await store.save_files(conn, new, new=True)
        if len(new) < len(batch):
            await store.save_files(conn, [r for r in batch if r.path in known])
        return
    except (asyncpg.PostgresError, asyncpg.exceptions.DataError, ValueError, TypeError):
        pass
    for record in batch:
        try:
            await store.save_files(conn, [record])
        except (asyncpg.PostgresError, asyncpg.exceptions.DataError, ValueError, TypeError) as exc:
            problems.append(
                {"path": storable(record.path), "reason": f"not saved: {type(exc).__name__}: {exc}"[:300]}
            )


def _run_one(args: tuple[str, bool, int, int]) -> store.FileRecord:
    record = index_file(*args)
    if storable(record.path) != record.path:  # an undecodable file name: keep its bytes, as text
        record = replace(
            record,
            path=storable(record.path),
            directory=storable(record.directory),
            name=storable(record.name),
        )
    return record


def _run_chunk(jobs: list[tuple[str, bool, int, int]]) -> list[store.FileRecord]:
    return [_run_one(job) for job in jobs]


async def _read_chunks(
    todo: list[tuple[str, bool, int, int]], workers: int, verify: bool
) -> AsyncGenerator[list[store.FileRecord], None]:
    """The records of `todo`, a chunk at a time: from worker processes for big scans (spawning costs
    ~0.5 s of imports) and for --verify, else from one thread that reads the next chunk while the
    caller writes this one (the database waits on I/O, not on this process)."""
    if workers > 1 and (len(todo) >= PARALLEL_MIN or (verify and len(todo) > 1)):
        executor = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        try:
            loop = asyncio.get_running_loop()
            size = max(1, min(CHUNK, len(todo) // (4 * workers)))  # keep every worker busy
            parts = [todo[i : i + size] for i in range(0, len(todo), size)]
            futures = [loop.run_in_executor(executor, _run_chunk, part) for part in parts]
            for fut in asyncio.as_completed(futures):
                yield await fut
        finally:
            executor.shutdown(wait=False, cancel_futures=True)
        return
    chunks = [todo[i : i + CHUNK] for i in range(0, len(todo), CHUNK)]
    pending: asyncio.Future[list[store.FileRecord]] | None = None
    try:
        for k, chunk in enumerate(chunks):
            current = pending or asyncio.ensure_future(asyncio.to_thread(_run_chunk, chunk))
            records = await current
            pending = None
            if k + 1 < len(chunks):
                pending = asyncio.ensure_future(asyncio.to_thread(_run_chunk, chunks[k + 1]))
            yield records
    finally:
        if pending is not None:
            pending.cancel()


async def _index_all(
    conn: asyncpg.Connection,
    todo: list[tuple[str, bool, int, int]],
    workers: int,
    verify: bool,
    progress: Callable[[int, int], None] | None,
    problems: list[dict[str, str]],
    known: Container[str] = (),
) -> None:
    """Index every job and save the records in batches of BATCH; an interrupted run keeps what
    finished. Records are not kept once saved (the sweeps are rebuilt from the store).

    A batch is written while the next files are read: the database parses a batch's JSON (~60 us a row)
    while this process parses headers, so the scan takes the longer of the two, not their sum (issue 17).
    One write is in flight at a time, on the one connection."""
    if progress:
        progress(0, len(todo))
    batch: list[store.FileRecord] = []
    writing: asyncio.Task[None] | None = None
    done = 0
    try:
        async with aclosing(_read_chunks(todo, workers, verify)) as chunks:
            async for records in chunks:
                for r in records:  # progress per file: an interruption keeps exactly the files reported
                    batch.append(r)
                    done += 1
                    if progress:
                        progress(done, len(todo))
                if len(batch) >= BATCH:
                    if writing is not None:  # shielded: an interruption lets the write finish
                        await asyncio.shield(writing)
                    out, batch = batch, []
                    writing = asyncio.ensure_future(_save(conn, out, problems, known))
        if writing is not None:
            await asyncio.shield(writing)
            writing = None
        out, batch = batch, []
        await _save(conn, out, problems, known)
    finally:
        # Interrupted: the write under way finishes, and what was read since is kept too.
        if writing is not None and not writing.done():
            await asyncio.shield(writing)
        if batch:
            await asyncio.shield(_save(conn, batch, problems, known))


def _sweep_summary(s: store.StoredSweep, site: str) -> dict[str, Any]:
    """One stored sweep as `mxhub index --json` prints it."""
    sw = s.sweep
    return sweep_entry(
        site,
        {
            "template": sw.template,
            "directory": sw.directory,
            "first": sw.first,
            "last": sw.last,
            "count": sw.count,
            "missing": sw.missing,
            "duplicates": sw.duplicates,
            "kind": sw.kind,
            "format": sw.format,
            "total_bytes": sw.total_bytes,
            "verified": sw.verified,
            "image_set_id": s.image_set_id,
            "data_collection_id": s.data_collection_id,
        },
    )


def sweep_entry(site: str, row: dict[str, Any]) -> dict[str, Any]:
    """A sweep's JSON entry from its stored values: one shape for `mxhub index --json`, `mxhub index list`
    and the index worker's results (the CONTRACT names these keys)."""
    from mx_schema.ids import encode_id

    entry = {k: v for k, v in row.items() if k not in ("image_set_id", "data_collection_id")}
    entry["image_set"] = encode_id(site, "ImageSet", row["image_set_id"])
    dc = row["data_collection_id"]
    entry["linked"] = encode_id(site, "DataCollection", dc) if dc is not None else None
    return entry


async def list_sweeps(conn: asyncpg.Connection, site: str = "local") -> list[dict[str, Any]]:
    """Every sweep in the store, each with the keys of `mxhub index --json`'s sweeps."""
    return [sweep_entry(site, row) for row in await store.stored_sets(conn)]


async def run_scan(
    conn: asyncpg.Connection,
    roots: Sequence[str],
    *,
    verify: bool = False,
    workers: int = 1,
    path_map: Sequence[tuple[str, str]] = (),
    site: str = "local",
    progress: Callable[[int, int], None] | None = None,
    follow_links_into: Sequence[str] = (),
    previews: bool = False,
) -> ScanSummary:
    """Index the roots incrementally and return the summary `mxhub index --json` prints. With `previews`
    (the CLI's default), the stored sweeps get their pictures too (preview_step.py, issue 22)."""
    roots = [os.path.abspath(r) for r in roots]
    summary = ScanSummary()
    walk_errors: list[dict[str, str]] = []
    seen = list(walk(roots, walk_errors, follow_links_into))
    known = await store.known_files(conn, roots)
    todo = [
        (p, verify, st.st_size, st.st_mtime_ns)
        for p, st in seen
        if known.get(storable(p)) != (st.st_size, st.st_mtime_ns) or verify
    ]
    await _index_all(conn, todo, workers, verify, progress, walk_errors, known)

    await store.mark_gone(conn, roots, {storable(p) for p, _ in seen}, known)
    # Directories of the files found, and of indexed files no longer found (a sweep outlives its files).
    directories = sorted(
        {storable(os.path.dirname(p)) for p, _ in seen} | set(await store.directories_with_files(conn, roots))
    )
    # Each directory's sweeps from all its files, so a root that names a few files of a directory (an
    # index request per file, issue 18) adds them to the directory's sweeps instead of replacing them.
    stored = await store.rebuild_sets(conn, directories, path_map)
    if previews:
        from site_adapter.indexer.preview_step import make_previews

        await make_previews(conn, stored, threads=max(2, workers))
    summary.failed = walk_errors + await store.failures(conn, roots)
    # One bucket per path: an unchanged file that still fails is `failed`, not `skipped` (issue 13 saw
    # "indexed": 60, "skipped": 60 on a re-run of 60 files when `indexed` counted every stored file).
    failing = {f["path"] for f in summary.failed}
    read = {storable(job[0]) for job in todo}
    summary.files = len(seen) + len(walk_errors)
    summary.indexed = sum(1 for p in read if p not in failing)
    summary.skipped = sum(1 for p, _ in seen if storable(p) not in read and storable(p) not in failing)
    summary.sweeps = [_sweep_summary(s, site) for s in stored]
    return summary
