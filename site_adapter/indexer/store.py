"""The image index in the native site store (migration 002): files, image sets, and their link to a
data collection by directory, template and image range. All of the indexer's SQL lives here, which is
why it runs past 400 lines; it reads no files."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import asyncpg
import orjson

from site_adapter.indexer.sweeps import GROUPING_EXTRA_KEYS, GROUPING_KEYS, IndexedFile, Sweep, group_sweeps

# asyncpg ships no type information (pyproject: ignore_missing_imports), so both names are Any to mypy.
Conn: TypeAlias = "asyncpg.Connection | asyncpg.Pool"
# A file is under a root when it is the root (a file given by name) or inside it (a directory).
_UNDER_ROOTS = (
    "(path = ANY($1::text[]) OR EXISTS (SELECT 1 FROM unnest($1::text[]) r"
    " WHERE starts_with(path, rtrim(r, '/') || '/')))"
)


@dataclass(frozen=True, slots=True)
class ImageSet:
    """One sweep of image files as stored: what DataCollection.images serves."""

    local_id: str
    data_collection_local_id: str | None
    directory: str  # where the files are now
    template: str
    first: int
    last: int
    count: int
    missing: tuple[int, ...]
    total_bytes: int
    verified: bool | None
    format: str | None
    kind: str


@dataclass(frozen=True, slots=True)
class FileRecord:
    """One file's outcome from a scan, as written to image_file."""

    path: str
    directory: str
    name: str
    size: int | None
    mtime_ns: int | None
    format: str | None = None
    image_number: int | None = None
    header: dict[str, Any] | None = None
    pixels: dict[str, Any] | None = None
    verified: bool | None = None
    error: str | None = None


def map_to_original(directory: str, path_map: Sequence[tuple[str, str]]) -> str:
    """Undo an archive move: with OLD=NEW, a directory now under NEW was recorded under OLD."""
    directory = directory.rstrip("/") or "/"
    for old, new in path_map:
        new = new.rstrip("/")
        if directory == new or directory.startswith(new + "/"):
            return old.rstrip("/") + directory[len(new) :]
    return directory


async def known_files(conn: Conn, roots: Sequence[str]) -> dict[str, tuple[int | None, int | None]]:
    """(size, mtime_ns) of every file already recorded under the given roots."""
    rows = await conn.fetch(f"SELECT path, size, mtime_ns FROM image_file WHERE {_UNDER_ROOTS}", list(roots))
    return {r["path"]: (r["size"], r["mtime_ns"]) for r in rows}


_BATCH_TABLE = (
    "CREATE TEMP TABLE IF NOT EXISTS image_file_batch (path text, directory text, name text, size bigint,"
    " mtime_ns bigint, format text, image_number integer, header jsonb, pixels jsonb, verified boolean,"
    " error text) ON COMMIT DELETE ROWS"
)
_COLUMNS = "path, directory, name, size, mtime_ns, format, image_number, header, pixels, verified, error"
_COLUMN_LIST = tuple(_COLUMNS.split(", "))


def _json(value: dict[str, Any] | None) -> str | None:
    """JSON text for a jsonb column: orjson (~10x json.dumps, which cost as much as the header read),
    json for what orjson refuses (integers beyond 64 bits)."""
    if value is None:
        return None
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY).decode()
    except TypeError:
        return json.dumps(value)


_LONG_INT = re.compile(r"\d{19}")


def _loads(text: str) -> Any:
    """A stored JSON value as json.loads gives it: orjson (~5x faster) unless a number has 19 digits or
    more, which orjson reads as a float where json keeps an exact int."""
    return json.loads(text) if _LONG_INT.search(text) else orjson.loads(text)


def file_row(r: FileRecord) -> tuple[Any, ...]:
    """One record as an image_file row (header and pixels as JSON text)."""
    return (
        r.path,
        r.directory,
        r.name,
        r.size,
        r.mtime_ns,
        r.format,
        r.image_number,
        _json(r.header),
        _json(r.pixels),
        r.verified,
        r.error,
    )


async def save_files(conn: asyncpg.Connection, records: Iterable[FileRecord], new: bool = False) -> None:
    """Insert or replace file rows in one transaction, so an interrupted scan keeps whole batches.

    The rows go in by COPY into a temporary table and one INSERT ... ON CONFLICT from it: one round trip
    per batch, not one statement per file (issue 17: per-row inserts cost more than reading the headers).
    With `new` (the caller found none of these paths stored) they are copied straight into image_file,
    which saves the server a third of the work; if another scan stored one of them meanwhile, the batch
    takes the upsert way after all.
    """
    by_path = {r.path: file_row(r) for r in records}  # one row per path: the last record wins
    if not by_path:
        return
    async with conn.transaction():
        if new:
            try:
                async with conn.transaction():  # a savepoint: a clash undoes the copy only
                    await conn.copy_records_to_table(
                        "image_file", records=list(by_path.values()), columns=_COLUMN_LIST
                    )
                return
            except asyncpg.UniqueViolationError:
                pass
        await conn.execute(_BATCH_TABLE)
        await conn.copy_records_to_table("image_file_batch", records=list(by_path.values()))
        await conn.execute(
            f"INSERT INTO image_file ({_COLUMNS}) SELECT {_COLUMNS} FROM image_file_batch"
            " ON CONFLICT (path) DO UPDATE SET directory = excluded.directory, name = excluded.name,"
            " size = excluded.size, mtime_ns = excluded.mtime_ns, format = excluded.format,"
            " image_number = excluded.image_number, header = excluded.header,"
            " pixels = excluded.pixels, verified = excluded.verified, error = excluded.error,"
            " indexed_at = now()"
        )


async def mark_gone(
    conn: Conn, roots: Sequence[str], seen: set[str], known: Iterable[str] | None = None
) -> None:
    """Files under the roots that a scan no longer finds (deleted, moved to tape) keep their row and
    their place in the image set; they are only marked gone. Seen again, they are present again.
    `known`: the paths recorded under the roots before this scan, when the caller has them already."""
    if known is None:
        known = await known_files(conn, roots)
    gone = [p for p in known if p not in seen]
    await conn.execute(
        "UPDATE image_file SET gone_at = coalesce(gone_at, now()) WHERE path = ANY($1::text[])", gone
    )
    await conn.execute(
        "UPDATE image_file SET gone_at = NULL WHERE gone_at IS NOT NULL AND path = ANY($1::text[])",
        sorted(seen),
    )


async def failures(conn: Conn, roots: Sequence[str]) -> list[dict[str, str]]:
    rows = await conn.fetch(
        "SELECT path, error FROM image_file WHERE error IS NOT NULL AND gone_at IS NULL"
        f" AND {_UNDER_ROOTS} ORDER BY path",
        list(roots),
    )
    return [{"path": r["path"], "reason": r["error"]} for r in rows]


@dataclass(frozen=True, slots=True)
class StoredSweep:
    sweep: Sweep
    image_set_id: int
    data_collection_id: int | None


# Every sweep's set in one statement (issue 17: two round trips per sweep cost more than its files'
# headers): each row finds its data collection (the one recorded in this directory with this template
# whose image range overlaps the sweep's, any range when the collection records none; the nearest start
# first) and is inserted, or updated in place when its directory, template and first image are stored
# already, which keeps the set's id (the public ImageSet id) across rescans.
_UPSERT_SETS = """
INSERT INTO image_set AS s (data_collection_id, directory, original_directory, template, first_image,
    last_image, image_count, missing, duplicates, total_bytes, verified, format, kind)
SELECT dc.id, v.directory, v.original, v.template, v.first, v.last, v.count,
    ARRAY(SELECT jsonb_array_elements_text(v.missing::jsonb)::integer),
    ARRAY(SELECT jsonb_array_elements_text(v.duplicates::jsonb)),
    v.total_bytes, v.verified, v.format, v.kind
FROM unnest($1::text[], $2::text[], $3::text[], $4::integer[], $5::integer[], $6::integer[], $7::text[],
            $8::text[], $9::bigint[], $10::boolean[], $11::text[], $12::text[]) WITH ORDINALITY
     AS v(directory, original, template, first, last, count, missing, duplicates, total_bytes, verified,
          format, kind, ord)
LEFT JOIN LATERAL (
    SELECT id FROM data_collection
    WHERE rtrim(image_directory, '/') = rtrim(v.original, '/')
      AND (file_template = v.template OR regexp_replace(file_template, '\\.(gz|bz2)$', '') = v.template)
      AND (start_image_number IS NULL OR number_of_images IS NULL
           OR (start_image_number <= v.last AND start_image_number + number_of_images - 1 >= v.first))
    ORDER BY abs(coalesce(start_image_number, v.first) - v.first), id LIMIT 1
) dc ON true
ORDER BY v.ord
ON CONFLICT (directory, template, first_image) DO UPDATE SET data_collection_id = excluded.data_collection_id,
    original_directory = excluded.original_directory, last_image = excluded.last_image,
    image_count = excluded.image_count, missing = excluded.missing, duplicates = excluded.duplicates,
    total_bytes = excluded.total_bytes, verified = excluded.verified, format = excluded.format,
    kind = excluded.kind, updated_at = now()
RETURNING s.id, s.data_collection_id, s.directory, s.template, s.first_image
"""


async def replace_sets(
    conn: asyncpg.Connection,
    directories: Sequence[str],
    sweeps: Sequence[Sweep],
    path_map: Sequence[tuple[str, str]],
) -> list[StoredSweep]:
    """Rebuild the image sets of these directories from their files, and link each one."""
    stored: list[StoredSweep] = []
    async with conn.transaction():
        columns: list[list[Any]] = [[] for _ in range(12)]
        for s in sweeps:
            values = (
                s.directory,
                map_to_original(s.directory, path_map),
                s.template,
                s.first,
                s.last,
                s.count,
                orjson.dumps(s.missing).decode(),
                orjson.dumps(s.duplicates).decode(),
                s.total_bytes,
                s.verified,
                s.format,
                s.kind,
            )
            for column, value in zip(columns, values, strict=True):
                column.append(value)
        rows = await conn.fetch(_UPSERT_SETS, *columns) if sweeps else []
        found = {(r["directory"], r["template"], r["first_image"]): r for r in rows}
        keep: list[int] = []
        members: list[tuple[str, int]] = []
        for s in sweeps:
            row = found[(s.directory, s.template, s.first)]
            set_id = row["id"]
            keep.append(set_id)
            for f in s.files:
                members.append((f.path, set_id))
            stored.append(StoredSweep(s, set_id, row["data_collection_id"]))
        # Every file's set in one statement, not one per sweep.
        await conn.execute(
            "UPDATE image_file f SET image_set_id = m.set_id"
            " FROM unnest($1::text[], $2::bigint[]) AS m(path, set_id)"
            " WHERE f.path = m.path AND f.image_set_id IS DISTINCT FROM m.set_id",
            [p for p, _ in members],
            [i for _, i in members],
        )
        await conn.execute(
            "DELETE FROM image_set WHERE directory = ANY($1::text[]) AND NOT id = ANY($2::bigint[])",
            list(directories),
            keep,
        )
    return stored


# The part of a stored header that sweep grouping reads, built by the server: decoding whole headers (3 KB
# of JSON each, most of it the imgCIF axes) cost more than the grouping (issue 17). A header is stored
# compressed, and each `header->key` would decompress it again: `h` is it decompressed once (`|| '{}'`
# makes a value in memory; OFFSET 0 keeps the planner from copying the expression into each use), 3x
# faster than `header->key` per key. Absent keys read as null, which the grouping's .get() takes as absent.
_GROUPING_HEADER = (
    "(SELECT jsonb_build_object("
    + ", ".join(f"'{k}', h->'{k}'" for k in GROUPING_KEYS)
    + ", 'extra', jsonb_build_object("
    + ", ".join(f"'{k}', h->'extra'->'{k}'" for k in GROUPING_EXTRA_KEYS)
    + ")) FROM (SELECT header || '{}'::jsonb AS h OFFSET 0) decompressed)"
)


async def directories_with_files(conn: Conn, roots: Sequence[str]) -> list[str]:
    """Directories under the roots holding an indexed file, present or gone (a sweep outlives its files)."""
    rows = await conn.fetch(
        "SELECT DISTINCT directory FROM image_file WHERE error IS NULL AND header IS NOT NULL"
        f" AND {_UNDER_ROOTS}",
        list(roots),
    )
    return [r["directory"] for r in rows]


async def rebuild_sets(
    conn: asyncpg.Connection, directories: Sequence[str], path_map: Sequence[tuple[str, str]]
) -> list[StoredSweep]:
    """Rebuild the image sets of these directories from every indexed file in each (not only the files a
    caller just indexed), under a per-directory lock: index workers that each index a few files of one
    directory at once (issue 18) then leave one set of sweeps built from all its files, never a race's
    half."""
    wanted = sorted(set(directories))
    async with conn.transaction():
        # Sorted, so two workers locking overlapping directories cannot deadlock; held to commit.
        await conn.execute(
            "SELECT count(pg_advisory_xact_lock(hashtextextended(d, 18)))"
            " FROM (SELECT d FROM unnest($1::text[]) d ORDER BY d) sorted",
            wanted,
        )
        rows = await conn.fetch(
            f"SELECT path, directory, name, size, {_GROUPING_HEADER} AS header, verified FROM image_file"
            " WHERE error IS NULL AND header IS NOT NULL AND directory = ANY($1::text[])",
            wanted,
        )
        files = [
            IndexedFile(
                r["path"], r["directory"], r["name"], r["size"] or 0, _loads(r["header"]), r["verified"]
            )
            for r in rows
        ]
        return await replace_sets(conn, wanted, group_sweeps(files), path_map)


async def stored_sets(conn: Conn) -> list[dict[str, Any]]:
    """Every image set in the store, as `mxhub index list` prints it (directory, template, first order)."""
    rows = await conn.fetch(
        "SELECT id, data_collection_id, directory, template, first_image, last_image, image_count,"
        " missing, duplicates, total_bytes, verified, format, kind FROM image_set"
        " ORDER BY directory, template, first_image"
    )
    return [
        {
            "image_set_id": r["id"],
            "data_collection_id": r["data_collection_id"],
            "directory": r["directory"],
            "template": r["template"],
            "first": r["first_image"],
            "last": r["last_image"],
            "count": r["image_count"],
            "missing": list(r["missing"] or ()),
            "duplicates": list(r["duplicates"] or ()),
            "total_bytes": r["total_bytes"],
            "verified": r["verified"],
            "format": r["format"],
            "kind": r["kind"],
        }
        for r in rows
    ]


_SET_COLUMNS = (
    "id, data_collection_id, directory, template, first_image, last_image, image_count,"
    " missing, total_bytes, verified, format, kind"
)


def _image_set(r: asyncpg.Record) -> ImageSet:
    return ImageSet(
        local_id=str(r["id"]),
        data_collection_local_id=str(r["data_collection_id"])
        if r["data_collection_id"] is not None
        else None,
        directory=r["directory"],
        template=r["template"],
        first=r["first_image"],
        last=r["last_image"],
        count=r["image_count"],
        missing=tuple(r["missing"] or ()),
        total_bytes=r["total_bytes"],
        verified=r["verified"],
        format=r["format"],
        kind=r["kind"],
    )


async def image_sets_by_collection(conn_or_pool: Conn, dc_local_ids: list[str]) -> dict[str, list[ImageSet]]:
    """Image sets of each data collection (one statement for the batch; for a DataLoader)."""
    ids = [int(i) for i in dc_local_ids if str(i).isdigit()]
    out: dict[str, list[ImageSet]] = {str(i): [] for i in dc_local_ids}
    if not ids:
        return out
    rows = await conn_or_pool.fetch(
        f"SELECT {_SET_COLUMNS} FROM image_set WHERE data_collection_id = ANY($1::bigint[])"
        " ORDER BY data_collection_id, first_image, id",
        ids,
    )
    for r in rows:
        out.setdefault(str(r["data_collection_id"]), []).append(_image_set(r))
    return out


async def sweep_of_file(conn_or_pool: Conn, paths: Sequence[str]) -> ImageSet | None:
    """The image set holding the file recorded under any of `paths` (a file's absolute and real path),
    or None when the file is not in an indexed sweep."""
    row = await conn_or_pool.fetchrow(
        "SELECT s.* FROM image_file f JOIN image_set s ON s.id = f.image_set_id"
        " WHERE f.path = ANY($1::text[]) AND f.error IS NULL ORDER BY s.updated_at DESC LIMIT 1",
        list(paths),
    )
    return None if row is None else _image_set(row)


def _header_of(row: Any) -> dict[str, Any]:
    header: dict[str, Any] = json.loads(row["header"])
    header["path"] = row["path"]
    header["verified"] = row["verified"]
    header["pixels"] = json.loads(row["pixels"]) if row["pixels"] else None
    return header


async def first_image_headers(
    conn_or_pool: Conn, image_set_local_ids: list[str]
) -> dict[str, dict[str, Any]]:
    """The parsed header of each set's first image (an NXmx set's master), one statement for the batch."""
    ids = [int(i) for i in image_set_local_ids if str(i).isdigit()]
    if not ids:
        return {}
    rows = await conn_or_pool.fetch(
        "SELECT DISTINCT ON (f.image_set_id) f.image_set_id, f.path, f.header, f.pixels, f.verified, f.format"
        " FROM image_file f JOIN image_set s ON s.id = f.image_set_id"
        " WHERE f.image_set_id = ANY($1::bigint[]) AND (f.image_number = s.first_image OR f.format = 'NXmx')"
        " ORDER BY f.image_set_id, f.image_number NULLS LAST",
        ids,
    )
    return {str(r["image_set_id"]): _header_of(r) for r in rows}


async def image_header(
    conn_or_pool: Conn, image_set_local_id: str, image_number: int
) -> dict[str, Any] | None:
    """The parsed header of one image of a set (for an NXmx set, the master file's), JSON-able."""
    if not str(image_set_local_id).isdigit():
        return None
    row = await conn_or_pool.fetchrow(
        "SELECT f.path, f.header, f.pixels, f.verified, f.format FROM image_file f"
        " JOIN image_set s ON s.id = f.image_set_id"
        " WHERE f.image_set_id = $1 AND (f.image_number = $2"
        "   OR (f.format = 'NXmx' AND $2 BETWEEN s.first_image AND s.last_image))"
        " ORDER BY f.image_number NULLS LAST LIMIT 1",
        int(image_set_local_id),
        image_number,
    )
    if row is None:
        return None
    return _header_of(row)
