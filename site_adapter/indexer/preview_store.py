"""The previews' SQL (migration 008): stored pictures of an image set, each file's total counts, and the
files a frame is read from. Beside store.py, which keeps the index itself; nothing here renders."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from site_adapter.indexer.store import Conn


@dataclass(frozen=True, slots=True)
class StoredPreview:
    image_set_id: int
    kind: str  # frame | heatmap
    image_number: int
    size: int
    media_type: str
    width: int
    height: int
    binning: int
    source_path: str | None = None
    source_mtime_ns: int | None = None
    data: bytes = b""


@dataclass(frozen=True, slots=True)
class SetFile:
    """One file of an image set, as a frame is read from it."""

    path: str
    image_number: int | None
    format: str | None
    header: dict[str, Any] | None
    gone: bool


async def save_previews(conn: asyncpg.Connection, previews: Iterable[StoredPreview]) -> None:
    rows = [
        (
            p.image_set_id,
            p.kind,
            p.image_number,
            p.size,
            p.media_type,
            p.width,
            p.height,
            p.binning,
            p.source_path,
            p.source_mtime_ns,
            p.data,
        )
        for p in previews
    ]
    if not rows:
        return
    await conn.executemany(
        "INSERT INTO image_preview (image_set_id, kind, image_number, size, media_type, width, height,"
        " binning, source_path, source_mtime_ns, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        " ON CONFLICT (image_set_id, kind, image_number, size) DO UPDATE SET media_type = excluded.media_type,"
        " width = excluded.width, height = excluded.height, binning = excluded.binning,"
        " source_path = excluded.source_path, source_mtime_ns = excluded.source_mtime_ns,"
        " data = excluded.data, made_at = now()",
        rows,
    )


async def prune_frames(conn: asyncpg.Connection, image_set_id: int, keep: Sequence[int]) -> None:
    """Drop frame previews of images no longer chosen (a sweep that grew has a new last frame)."""
    await conn.execute(
        "DELETE FROM image_preview WHERE image_set_id = $1 AND kind = 'frame'"
        " AND NOT image_number = ANY($2::int[])",
        image_set_id,
        list(keep),
    )


async def hold_set(conn: asyncpg.Connection, image_set_id: int) -> bool:
    """Inside a transaction: keep the image set from being deleted until it ends; False when it is gone.

    Index workers rebuild a directory's sets concurrently (issue 18): a set replaced while its frames
    decoded has no previews to save (the scan that replaced it makes the new set's)."""
    row = await conn.fetchval("SELECT id FROM image_set WHERE id = $1 FOR KEY SHARE", image_set_id)
    return row is not None


async def made_from(conn: Conn, image_set_ids: Sequence[int]) -> dict[tuple[int, str, int, int], int | None]:
    """(set, kind, image, size) -> the source file's mtime_ns when the preview was made."""
    rows = await conn.fetch(
        "SELECT image_set_id, kind, image_number, size, source_mtime_ns FROM image_preview"
        " WHERE image_set_id = ANY($1::bigint[])",
        list(image_set_ids),
    )
    return {(r["image_set_id"], r["kind"], r["image_number"], r["size"]): r["source_mtime_ns"] for r in rows}


async def save_counts(conn: asyncpg.Connection, counts: Iterable[tuple[str, int]]) -> None:
    """Total counts of decoded files, by path."""
    rows = list(counts)
    if rows:
        await conn.executemany("UPDATE image_file SET total_counts = $2 WHERE path = $1", rows)


async def previews_of(conn: Conn, image_set_ids: Sequence[int]) -> dict[int, list[StoredPreview]]:
    """The stored previews of each set, without their bytes (for listing)."""
    rows = await conn.fetch(
        "SELECT image_set_id, kind, image_number, size, media_type, width, height, binning"
        " FROM image_preview WHERE image_set_id = ANY($1::bigint[])"
        " ORDER BY image_set_id, kind DESC, image_number, size",
        list(image_set_ids),
    )
    out: dict[int, list[StoredPreview]] = {i: [] for i in image_set_ids}
    for r in rows:
        out.setdefault(r["image_set_id"], []).append(StoredPreview(**dict(r)))
    return out


async def counts_per_image(conn: Conn, image_set_ids: Sequence[int]) -> dict[int, list[tuple[int, int]]]:
    """(image number, total counts) of each set's files whose pixels were decoded: by the preview step, or
    by `--verify` (its pixel summary's sum)."""
    rows = await conn.fetch(
        "SELECT image_set_id, image_number, coalesce(total_counts, (pixels->>'sum')::bigint) AS counts"
        " FROM image_file WHERE image_set_id = ANY($1::bigint[]) AND image_number IS NOT NULL"
        " AND coalesce(total_counts, (pixels->>'sum')::bigint) IS NOT NULL"
        " ORDER BY image_set_id, image_number",
        list(image_set_ids),
    )
    out: dict[int, list[tuple[int, int]]] = {i: [] for i in image_set_ids}
    for r in rows:
        out.setdefault(r["image_set_id"], []).append((r["image_number"], r["counts"]))
    return out


async def image_set_row(
    conn: Conn, image_set_id: int, wants: tuple[str, int, int] | None = None
) -> tuple[dict[str, Any] | None, StoredPreview | None]:
    """An image set's row (id, data collection, first, last, kind, format, template), None when absent;
    with `wants` (kind, image number, size) also that stored preview, in the same statement."""
    kind, number, size = wants or ("", 0, 0)
    row = await conn.fetchrow(
        "SELECT s.id, s.data_collection_id, s.first_image, s.last_image, s.kind, s.format, s.template,"
        " p.media_type, p.width, p.height, p.binning, p.data"
        " FROM image_set s LEFT JOIN image_preview p ON p.image_set_id = s.id AND p.kind = $2"
        " AND p.image_number = $3 AND p.size = $4 WHERE s.id = $1",
        image_set_id,
        kind,
        number,
        size,
    )
    if row is None:
        return None, None
    found = dict(row)
    stored = None
    if wants is not None and found["data"] is not None:
        stored = StoredPreview(
            image_set_id,
            kind,
            number,
            size,
            found["media_type"],
            found["width"],
            found["height"],
            found["binning"],
            data=found["data"],
        )
    return {
        k: found[k]
        for k in ("id", "data_collection_id", "first_image", "last_image", "kind", "format", "template")
    }, stored


async def set_file(conn: Conn, image_set_id: int, image_number: int) -> SetFile | None:
    """The file holding image `image_number` of a set (an NXmx set's master), without its header."""
    r = await conn.fetchrow(
        "SELECT f.path, f.image_number, f.format, f.gone_at FROM image_file f"
        " JOIN image_set s ON s.id = f.image_set_id"
        " WHERE f.image_set_id = $1 AND f.error IS NULL AND (f.image_number = $2"
        "   OR (f.format = 'NXmx' AND $2 BETWEEN s.first_image AND s.last_image))"
        " ORDER BY f.image_number NULLS LAST LIMIT 1",
        image_set_id,
        image_number,
    )
    return (
        None
        if r is None
        else SetFile(r["path"], r["image_number"], r["format"], None, r["gone_at"] is not None)
    )


async def first_header(conn: Conn, image_set_id: int) -> dict[str, Any] | None:
    """The header of the set's first indexed file (its geometry: the detector does not move in a sweep)."""
    import json

    raw = await conn.fetchval(
        "SELECT header FROM image_file WHERE image_set_id = $1 AND error IS NULL AND header IS NOT NULL"
        " ORDER BY image_number NULLS FIRST, path LIMIT 1",
        image_set_id,
    )
    return json.loads(raw) if raw else None


async def files_present(conn: Conn, image_set_id: int) -> int:
    found: int = await conn.fetchval(
        "SELECT count(*) FROM image_file WHERE image_set_id = $1 AND error IS NULL AND gone_at IS NULL",
        image_set_id,
    )
    return found
