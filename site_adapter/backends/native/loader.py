"""Bulk loading into the native store with COPY: reference tables, then streamed bulk rows.

The loader also keeps the denormalised filter columns honest: best_resolution and
best_space_group are computed here, in SQL, from the processing results just loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import asyncpg

from site_adapter.demo_data import DemoFacility, identifier_rows

COLUMNS: dict[str, tuple[str, ...]] = {
    "proposal": ("id", "code", "title"),
    "person": ("id", "login", "name"),
    "proposal_member": ("proposal_id", "person_id"),
    "session": ("id", "proposal_id", "visit_number", "visit", "beamline", "start_time", "end_time"),
    "session_member": ("session_id", "person_id", "role"),
    "protein": ("id", "proposal_id", "acronym", "name", "uniprot_ids", "sequence_hash"),
    "detector": (
        "id",
        "manufacturer",
        "model",
        "serial_number",
        "pixel_size_x",
        "pixel_size_y",
        "number_of_pixels_x",
        "number_of_pixels_y",
        "sensor_material",
        "sensor_thickness",
    ),
    "crystal": (
        "id",
        "protein_id",
        "uuid",
        "space_group",
        "cell_a",
        "cell_b",
        "cell_c",
        "cell_alpha",
        "cell_beta",
        "cell_gamma",
    ),
    "sample": (
        "id",
        "crystal_id",
        "protein_id",
        "proposal_id",
        "name",
        "barcode",
        "container_code",
        "position",
        "external_ids",
    ),
    "data_collection_group": ("id", "session_id", "sample_id", "experiment_type", "start_time", "end_time"),
    "data_collection": (
        "id",
        "group_id",
        "session_id",
        "sample_id",
        "detector_id",
        "protein_id",
        "proposal_id",
        "beamline",
        "experiment_type",
        "start_time",
        "end_time",
        "run_status",
        "image_directory",
        "file_template",
        "start_image_number",
        "number_of_images",
        "wavelength",
        "detector_distance",
        "beam_centre_x",
        "beam_centre_y",
        "axis_start",
        "axis_end",
        "axis_range",
        "overlap",
        "rotation_axis",
        "exposure_time",
        "transmission",
        "flux",
        "beam_size_x",
        "beam_size_y",
        "resolution",
        "detector_2theta",
        "kappa_start",
        "phi_start",
        "chi_start",
        "omega_start",
        "comments",
    ),
    "processing_result": (
        "id",
        "data_collection_id",
        "program",
        "status",
        "space_group",
        "cell_a",
        "cell_b",
        "cell_c",
        "cell_alpha",
        "cell_beta",
        "cell_gamma",
        "start_time",
        "end_time",
        "anomalous",
        "overall",
        "inner_shell",
        "outer_shell",
    ),
}
# Identifiers (issue 19, migration 010): their ids are the store's own (bigserial).
COLUMNS["doi"] = ("doi", "licence", "open_from", "session_id")
COLUMNS["pdb_entry"] = ("pdb_id", "name", "source", "protein_id")

BULK_ORDER = ("crystal", "sample", "data_collection_group", "data_collection", "processing_result")
CHUNK = 20_000


async def copy_rows(conn: asyncpg.Connection, table: str, rows: Iterable[tuple[Any, ...]]) -> int:
    rows = list(rows)
    if rows:
        await conn.copy_records_to_table(table, records=rows, columns=list(COLUMNS[table]))
    return len(rows)


async def upsert_rows(conn: asyncpg.Connection, table: str, rows: Iterable[tuple[Any, ...]]) -> int:
    """Insert rows by id, or update the ones already there (a few rows, e.g. the demo's real-image
    collections, re-pointed at each start; COPY is for bulk loads into empty tables)."""
    rows = list(rows)
    cols = COLUMNS[table]
    if rows:
        updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c != "id")
        await conn.executemany(
            f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(f'${i}' for i in range(1, len(cols) + 1))})"
            f" ON CONFLICT (id) DO UPDATE SET {updates}",
            rows,
        )
    return len(rows)


async def refresh_best_processing(conn: asyncpg.Connection, collection_ids: list[int] | None = None) -> None:
    """Recompute data_collection.best_resolution/best_space_group from processing_result."""
    where = "" if collection_ids is None else "AND pr.data_collection_id = ANY($1)"
    args = [] if collection_ids is None else [collection_ids]
    await conn.execute(
        f"""
        UPDATE data_collection dc SET best_resolution = b.res, best_space_group = b.sg
        FROM (
            SELECT DISTINCT ON (pr.data_collection_id) pr.data_collection_id AS id,
                   (pr.overall->>'resolution_high')::float8 AS res, pr.space_group AS sg
            FROM processing_result pr
            WHERE pr.status = 'SUCCESS' AND pr.overall->>'resolution_high' IS NOT NULL {where}
            ORDER BY pr.data_collection_id, (pr.overall->>'resolution_high')::float8, pr.id
        ) b
        WHERE dc.id = b.id
        """,
        *args,
    )


async def load_demo(
    conn: asyncpg.Connection,
    site: str,
    n_collections: int,
    *,
    seed: int = 1,
    facility: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Generate and COPY one demo facility; returns row counts per table. Idempotent per database:
    a database that already holds data collections is left as it is."""
    if await conn.fetchval("SELECT count(*) FROM data_collection") > 0:
        return {}
    gen = DemoFacility(site, n_collections, seed=seed, facility=facility)
    ref = gen.reference()
    counts: dict[str, int] = {}
    async with conn.transaction():
        for table in (
            "proposal",
            "person",
            "proposal_member",
            "session",
            "session_member",
            "protein",
            "detector",
        ):
            counts[table] = await copy_rows(conn, table, getattr(ref, table))
        for table, rows in identifier_rows(gen, ref).items():
            counts[table] = await copy_rows(conn, table, rows)
        buffers: dict[str, list[tuple[Any, ...]]] = {t: [] for t in BULK_ORDER}
        pending = 0
        for table, row in gen.rows(ref):
            buffers[table].append(row)
            pending += 1
            if pending >= CHUNK:
                done = await _flush(conn, buffers, counts)
                if progress:
                    progress(done)
                pending = 0
        done = await _flush(conn, buffers, counts)
        if progress:
            progress(done)
        await refresh_best_processing(conn)
    await conn.execute("ANALYZE")
    return counts


async def _flush(
    conn: asyncpg.Connection, buffers: dict[str, list[tuple[Any, ...]]], counts: dict[str, int]
) -> int:
    """COPY buffered rows parent tables first, so foreign keys hold; returns collections written."""
    written_dc = 0
    for table in BULK_ORDER:
        rows = buffers[table]
        n = await copy_rows(conn, table, rows)
        counts[table] = counts.get(table, 0) + n
        if table == "data_collection":
            written_dc = n
        rows.clear()
    return written_dc
