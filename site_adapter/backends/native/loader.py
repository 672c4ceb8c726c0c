"""Bulk loading into the native store with COPY: reference tables, then streamed bulk rows.

The loader also keeps the denormalised filter columns honest: best_resolution and
best_space_group are computed here, in SQL, from the processing results just loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import asyncpg

from site_adapter.backends.native.screening_demo import load_screening_demo
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
    # Grid scans and downstream results (issue 16; migration 006)
    "grid_scan": (
        "id",
        "data_collection_id",
        "steps_x",
        "steps_y",
        "step_size_x",
        "step_size_y",
        "orientation",
        "snaked",
        "microns_per_pixel_x",
        "microns_per_pixel_y",
        "snapshot_offset_x",
        "snapshot_offset_y",
        "mesh_angle",
    ),
    "image_quality": (
        "data_collection_id",
        "image_number",
        "spot_total",
        "in_resolution_total",
        "good_bragg_candidates",
        "ice_rings",
        "method1_resolution",
        "method2_resolution",
        "max_unit_cell",
        "total_integrated_signal",
        "dozor_score",
    ),
    "xray_centring_result": (
        "id",
        "data_collection_id",
        "status",
        "kind",
        "centre_of_mass_x",
        "centre_of_mass_y",
        "centre_of_mass_z",
        "max_voxel_x",
        "max_voxel_y",
        "max_voxel_z",
        "number_of_voxels",
        "total_count",
        "bounding_box_min_x",
        "bounding_box_max_x",
        "bounding_box_min_y",
        "bounding_box_max_y",
        "bounding_box_min_z",
        "bounding_box_max_z",
    ),
    "integration": (
        "id",
        "processing_result_id",
        "data_collection_id",
        "program",
        "start_image_number",
        "end_image_number",
        "refined_detector_distance",
        "refined_beam_centre_x",
        "refined_beam_centre_y",
        "cell_a",
        "cell_b",
        "cell_c",
        "cell_alpha",
        "cell_beta",
        "cell_gamma",
        "rotation_axis_x",
        "rotation_axis_y",
        "rotation_axis_z",
        "anomalous",
    ),
    "mr_run": (
        "id",
        "processing_result_id",
        "program",
        "status",
        "message",
        "r_start",
        "r_end",
        "r_free_start",
        "r_free_end",
        "llg",
        "tfz",
        "space_group",
        "start_time",
        "end_time",
        "log_files",
    ),
    "phasing": (
        "id",
        "processing_result_id",
        "program",
        "status",
        "method",
        "space_group",
        "resolution_low",
        "resolution_high",
        "figure_of_merit",
        "pseudo_free_cc",
        "enantiomorph",
        "solvent_content",
        "start_time",
        "end_time",
    ),
}
BULK_ORDER = (
    "crystal",
    "sample",
    "data_collection_group",
    "data_collection",
    "processing_result",
    # issue 16: after the collections and results they belong to
    "grid_scan",
    "image_quality",
    "xray_centring_result",
    "integration",
    "mr_run",
    "phasing",
)
# Identifiers (issue 19, migration 010): their ids are the store's own (bigserial).
COLUMNS["doi"] = ("doi", "licence", "open_from", "session_id")
COLUMNS["pdb_entry"] = ("pdb_id", "name", "source", "protein_id")
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
    """Recompute data_collection.best_* (resolution, space group, and since migration 007 the overall
    completeness, CC½ and mean I/sigI of the same result) from processing_result."""
    where = "" if collection_ids is None else "AND pr.data_collection_id = ANY($1)"
    args = [] if collection_ids is None else [collection_ids]
    await conn.execute(
        f"""
        UPDATE data_collection dc SET best_resolution = b.res, best_space_group = b.sg,
            best_completeness = (b.overall->>'completeness')::float8,
            best_cc_half = (b.overall->>'cc_half')::float8,
            best_mean_i_over_sig_i = (b.overall->>'mean_i_over_sig_i')::float8
        FROM (
            SELECT DISTINCT ON (pr.data_collection_id) pr.data_collection_id AS id,
                   (pr.overall->>'resolution_high')::float8 AS res, pr.space_group AS sg, pr.overall
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
        counts.update(await load_screening_demo(conn, site, seed))  # issue 16: after the collections
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


async def install_demo_files(conn: asyncpg.Connection, root: str, collections: int | None = None) -> int:
    """Write the demo's result files and snapshots under `root` (site_adapter.demo_data.demo_file_rows)
    and point the store's rows at them, for the newest `collections` rotation collections with processing.
    Run at each demo start: the root is a new temp directory each time, so earlier rows are replaced."""
    import os

    from site_adapter.demo_data import DEMO_FILE_COLLECTIONS, demo_file_rows

    rows = await conn.fetch(
        """
        SELECT pr.id, pr.data_collection_id, pr.program, pr.status, pr.overall
        FROM processing_result pr
        WHERE pr.data_collection_id IN (
            SELECT dc.id FROM data_collection dc
            WHERE EXISTS (SELECT 1 FROM processing_result p WHERE p.data_collection_id = dc.id)
            ORDER BY dc.sort_time DESC, dc.id DESC LIMIT $1)
        ORDER BY pr.data_collection_id, pr.id
        """,
        collections or DEMO_FILE_COLLECTIONS,
    )
    results = [
        (r["id"], r["data_collection_id"], r["program"], r["status"], _json(r["overall"])) for r in rows
    ]
    tables, files = demo_file_rows(root, results)
    for path, content in files.items():
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(content)
    async with conn.transaction():
        await conn.execute("DELETE FROM result_file; DELETE FROM program_message; DELETE FROM snapshot")
        await conn.copy_records_to_table(
            "result_file",
            records=tables["result_file"],
            columns=["processing_result_id", "name", "directory", "kind", "importance"],
        )
        await conn.copy_records_to_table(
            "program_message",
            records=tables["program_message"],
            columns=["processing_result_id", "severity", "message", "description"],
        )
        await conn.copy_records_to_table(
            "snapshot", records=tables["snapshot"], columns=["data_collection_id", "position", "path"]
        )
    return len(files)


def _json(value: Any) -> dict[str, Any] | None:
    """A jsonb column as asyncpg returns it without a codec: text."""
    import json

    if value is None or isinstance(value, dict):
        return value
    parsed = json.loads(value)
    return parsed if isinstance(parsed, dict) else None
