"""Grid scans, per-image quality and X-ray centring of data collections, read from ISPyB.

One statement per relation per batch (GridInfo, ImageQualityIndicators, XrayCentring + Result); units
are converted here, once: GridInfo.dx_mm/dy_mm are mm and the model wants µm. An ISPyB without one of
these tables (or its key columns) answers empty relations, never an error.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from site_adapter import model
from site_adapter.backends.ispyb import normalise as n
from site_adapter.backends.ispyb.keyset import id_list, int_ids
from site_adapter.backends.ispyb.schema_check import SchemaInfo


def usable(s: SchemaInfo, table: str, *keys: str) -> bool:
    """The table exists with the columns a statement joins on (others read NULL when absent)."""
    return s.has(table) and all(s.has(table, k) for k in keys)


def _grid_links(s: SchemaInfo, count: int) -> list[str]:
    """One SELECT per way a GridInfo row names its collection, each on its own index (an OR in one
    join would scan GridInfo): its own dataCollectionId first (own 0), else its group's (own 1)."""
    ids = id_list([0] * count)
    links = []
    if s.has("GridInfo", "dataCollectionId"):
        links.append(
            "SELECT dc.`dataCollectionId` AS dc, g.`gridInfoId` AS gid, 0 AS own FROM DataCollection dc"
            f" JOIN GridInfo g ON g.`dataCollectionId` = dc.`dataCollectionId` WHERE dc.`dataCollectionId` IN ({ids})"
        )
    if s.has(
        "GridInfo", "dataCollectionGroupId"
    ):  # older rows name only the group (one grid for its collections)
        own = " AND g.`dataCollectionId` IS NULL" if s.has("GridInfo", "dataCollectionId") else ""
        links.append(
            "SELECT dc.`dataCollectionId` AS dc, g.`gridInfoId` AS gid, 1 AS own FROM DataCollection dc"
            f" JOIN GridInfo g ON g.`dataCollectionGroupId` = dc.`dataCollectionGroupId`{own}"
            f" WHERE dc.`dataCollectionId` IN ({ids})"
        )
    return links


def _grid_sql(s: SchemaInfo, count: int) -> str:
    g = functools.partial(s.col, "g", "GridInfo")
    return f"""
SELECT l.dc, g.`gridInfoId` AS id, {g("steps_x")} AS steps_x, {g("steps_y")} AS steps_y,
       {g("dx_mm")} AS dx_mm, {g("dy_mm")} AS dy_mm, {g("orientation")} AS orientation, {g("snaked")} AS snaked,
       {g("micronsPerPixelX")} AS um_per_px_x, {g("micronsPerPixelY")} AS um_per_px_y,
       {g("snapshot_offsetXPixel")} AS offset_x, {g("snapshot_offsetYPixel")} AS offset_y,
       {g("meshAngle")} AS mesh_angle
FROM ({" UNION ALL ".join(_grid_links(s, count))}) l
JOIN GridInfo g ON g.`gridInfoId` = l.gid
ORDER BY l.dc, l.own, g.`gridInfoId`
"""


def _grid(row: dict[str, Any]) -> model.GridScan:
    snaked = n.integer(row["snaked"])
    return model.GridScan(
        local_id=str(row["id"]),
        data_collection_local_id=str(row["dc"]),
        steps_x=n.integer(row["steps_x"]),
        steps_y=n.integer(row["steps_y"]),
        step_size_x=n.mm_to_um(row["dx_mm"]),
        step_size_y=n.mm_to_um(row["dy_mm"]),
        orientation=n.text(row["orientation"]),
        snaked=None if snaked is None else bool(snaked),
        microns_per_pixel_x=n.number(row["um_per_px_x"]),
        microns_per_pixel_y=n.number(row["um_per_px_y"]),
        snapshot_offset_x=n.number(row["offset_x"]),
        snapshot_offset_y=n.number(row["offset_y"]),
        mesh_angle=n.number(row["mesh_angle"]),
    )


async def grids(db: Any, s: SchemaInfo, ids: Sequence[str]) -> dict[str, model.GridScan | None]:
    """The grid of each collection: its own GridInfo row, else its group's (lowest gridInfoId wins)."""
    keys = int_ids(ids)
    out: dict[str, model.GridScan | None] = {str(i): None for i in ids}
    if not keys or not usable(s, "GridInfo", "gridInfoId"):
        return out
    links = len(_grid_links(s, len(keys)))
    if not links:
        return out
    for row in await db.fetch_rows(_grid_sql(s, len(keys)), keys * links):
        if out.get(str(row["dc"])) is None:
            out[str(row["dc"])] = _grid(row)
    return out


# ImageQualityIndicators columns by model field; optional ones read NULL when a site lacks them.
_QUALITY_COLUMNS = (
    ("spot_total", "spotTotal"),
    ("in_resolution_total", "inResTotal"),
    ("good_bragg_candidates", "goodBraggCandidates"),
    ("ice_rings", "iceRings"),
    ("method1_resolution", "method1Res"),
    ("method2_resolution", "method2Res"),
    ("max_unit_cell", "maxUnitCell"),
    ("total_integrated_signal", "totalIntegratedSignal"),
    ("dozor_score", "dozor_score"),
)
_QUALITY_INTEGERS = {"spot_total", "in_resolution_total", "good_bragg_candidates", "ice_rings"}


async def image_quality(db: Any, s: SchemaInfo, ids: Sequence[str]) -> dict[str, list[model.ImageQuality]]:
    """Per-image spot finding of each collection, by image number."""
    keys = int_ids(ids)
    out: dict[str, list[model.ImageQuality]] = {str(i): [] for i in ids}
    if not keys or not usable(s, "ImageQualityIndicators", "dataCollectionId", "imageNumber"):
        return out
    q = functools.partial(s.col, "q", "ImageQualityIndicators")
    cols = ", ".join(f"{q(col)} AS {label}" for label, col in _QUALITY_COLUMNS)
    rows = await db.fetch_rows(
        f"SELECT q.`dataCollectionId` AS dc, q.`imageNumber` AS image_number, {cols}"
        f" FROM ImageQualityIndicators q WHERE q.`dataCollectionId` IN ({id_list(keys)})"
        " ORDER BY q.`dataCollectionId`, q.`imageNumber`",
        keys,
    )
    for row in rows:
        values: dict[str, Any] = {
            label: (n.integer(row[label]) if label in _QUALITY_INTEGERS else n.number(row[label]))
            for label, _ in _QUALITY_COLUMNS
        }
        out.setdefault(str(row["dc"]), []).append(
            model.ImageQuality(
                data_collection_local_id=str(row["dc"]), image_number=int(row["image_number"]), **values
            )
        )
    return out


_CENTRING_COLUMNS = (
    ("centre_of_mass_x", "centreOfMassX"),
    ("centre_of_mass_y", "centreOfMassY"),
    ("centre_of_mass_z", "centreOfMassZ"),
    ("max_voxel_x", "maxVoxelX"),
    ("max_voxel_y", "maxVoxelY"),
    ("max_voxel_z", "maxVoxelZ"),
    ("number_of_voxels", "numberOfVoxels"),
    ("total_count", "totalCount"),
    ("bounding_box_min_x", "boundingBoxMinX"),
    ("bounding_box_max_x", "boundingBoxMaxX"),
    ("bounding_box_min_y", "boundingBoxMinY"),
    ("bounding_box_max_y", "boundingBoxMaxY"),
    ("bounding_box_min_z", "boundingBoxMinZ"),
    ("bounding_box_max_z", "boundingBoxMaxZ"),
)
_CENTRING_INTEGERS = {"max_voxel_x", "max_voxel_y", "max_voxel_z", "number_of_voxels"}
# XrayCentring.status is success/failed/pending; the older XrayCentringResult.status says 'failure'.
_CENTRING_STATUS = {"success": "SUCCESS", "failed": "FAILED", "failure": "FAILED", "pending": "PENDING"}


async def xray_centring(
    db: Any, s: SchemaInfo, ids: Sequence[str]
) -> dict[str, list[model.XrayCentringResult]]:
    """Crystals the centring of each collection's group found (XrayCentring belongs to the group)."""
    keys = int_ids(ids)
    out: dict[str, list[model.XrayCentringResult]] = {str(i): [] for i in ids}
    if not (
        keys
        and usable(s, "XrayCentring", "xrayCentringId", "dataCollectionGroupId")
        and usable(s, "XrayCentringResult", "xrayCentringResultId", "xrayCentringId")
    ):
        return out
    r = functools.partial(s.col, "r", "XrayCentringResult")
    cols = ", ".join(f"{r(col)} AS {label}" for label, col in _CENTRING_COLUMNS)
    status = f"COALESCE({s.col('xc', 'XrayCentring', 'status')}, {r('status')})"
    rows = await db.fetch_rows(
        f"SELECT dc.`dataCollectionId` AS dc, r.`xrayCentringResultId` AS id, {status} AS status,"
        f" {s.col('xc', 'XrayCentring', 'xrayCentringType')} AS kind, {cols}"
        " FROM DataCollection dc"
        " JOIN XrayCentring xc ON xc.`dataCollectionGroupId` = dc.`dataCollectionGroupId`"
        " JOIN XrayCentringResult r ON r.`xrayCentringId` = xc.`xrayCentringId`"
        f" WHERE dc.`dataCollectionId` IN ({id_list(keys)})"
        " ORDER BY dc.`dataCollectionId`, r.`xrayCentringResultId`",
        keys,
    )
    for row in rows:
        values: dict[str, Any] = {
            label: (n.integer(row[label]) if label in _CENTRING_INTEGERS else n.number(row[label]))
            for label, _ in _CENTRING_COLUMNS
        }
        raw_status = n.text(row["status"])
        out.setdefault(str(row["dc"]), []).append(
            model.XrayCentringResult(
                local_id=str(row["id"]),
                data_collection_local_id=str(row["dc"]),
                status=None if raw_status is None else _CENTRING_STATUS.get(raw_status.lower(), "UNKNOWN"),
                kind=n.text(row["kind"]),
                **values,
            )
        )
    return out
