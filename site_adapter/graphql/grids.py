"""Grid scans, per-image quality and X-ray centring of a data collection (since schema 1.2.0; issue 16).

Types only, built by name from site_adapter.model records already in canonical units; the fields that
load them (DataCollection.grid, imageQuality, xrayCentring) live in collection.py. No SQL here.
"""

from __future__ import annotations

import strawberry

from site_adapter import model
from site_adapter.graphql.records import from_record
from site_adapter.graphql.types import d


@strawberry.type(
    description="The raster of a grid (mesh) scan: one image per grid box (since 1.2.0). Images are "
    "numbered along the fast direction (`orientation`), every other row reversed when `snaked`."
)
class GridScan:
    local_id: str = strawberry.field(description="The facility's own id (e.g. ISPyB gridInfoId).")
    steps_x: int | None = strawberry.field(description=d("grid boxes", "Boxes along x (since 1.2.0)."))
    steps_y: int | None = strawberry.field(description=d("grid boxes", "Boxes along y (since 1.2.0)."))
    step_size_x: float | None = strawberry.field(
        description=d("µm", "Distance between box centres along x (since 1.2.0).")
    )
    step_size_y: float | None = strawberry.field(
        description=d("µm", "Distance between box centres along y (since 1.2.0).")
    )
    orientation: str | None = strawberry.field(
        description="`horizontal` or `vertical`: the raster's fast direction (since 1.2.0)."
    )
    snaked: bool | None = strawberry.field(
        description="Every other row was collected in reverse (since 1.2.0)."
    )
    microns_per_pixel_x: float | None = strawberry.field(
        description=d("µm per pixel", "Scale of the sample snapshot the grid was drawn on (since 1.2.0).")
    )
    microns_per_pixel_y: float | None = strawberry.field(
        description=d("µm per pixel", "Scale of the sample snapshot, vertical (since 1.2.0).")
    )
    snapshot_offset_x: float | None = strawberry.field(
        description=d("pixels", "Grid's top-left corner on the snapshot (since 1.2.0).")
    )
    snapshot_offset_y: float | None = strawberry.field(
        description=d("pixels", "Grid's top-left corner on the snapshot (since 1.2.0).")
    )
    mesh_angle: float | None = strawberry.field(
        description=d("degrees", "Goniometer angle of the grid's plane (since 1.2.0).")
    )

    @classmethod
    def of(cls, r: model.GridScan) -> GridScan:
        grid: GridScan = from_record(cls, "", r)  # every field by name; no id or site
        return grid


@strawberry.type(
    description="Spot finding on one image (ISPyB ImageQualityIndicators), e.g. from DIALS per-image "
    "analysis during collection (since 1.2.0)."
)
class ImageQuality:
    image_number: int = strawberry.field(description=d("image number", "Counted from 1 (since 1.2.0)."))
    spot_total: int | None = strawberry.field(description=d("spots", "Spots found (since 1.2.0)."))
    in_resolution_total: int | None = strawberry.field(
        description=d("spots", "Spots within the resolution range (since 1.2.0).")
    )
    good_bragg_candidates: int | None = strawberry.field(
        description=d("spots", "Spots that look like Bragg reflections (since 1.2.0).")
    )
    ice_rings: int | None = strawberry.field(description=d("rings", "Ice rings found (since 1.2.0)."))
    method1_resolution: float | None = strawberry.field(
        description=d("Å", "Resolution estimate, method 1 (since 1.2.0).")
    )
    method2_resolution: float | None = strawberry.field(
        description=d("Å", "Resolution estimate, method 2 (since 1.2.0).")
    )
    max_unit_cell: float | None = strawberry.field(
        description=d("Å", "Largest unit-cell edge the spot spacing allows (since 1.2.0).")
    )
    total_integrated_signal: float | None = strawberry.field(
        description=d("detector counts", "Signal summed over the spots (since 1.2.0).")
    )
    dozor_score: float | None = strawberry.field(
        description=d("dimensionless", "DOZOR's diffraction score, where a site runs DOZOR (since 1.2.0).")
    )

    @classmethod
    def of(cls, r: model.ImageQuality) -> ImageQuality:
        quality: ImageQuality = from_record(cls, "", r)  # every field by name; no id or site
        return quality


@strawberry.type(
    description="A crystal found by X-ray centring on a grid scan, in grid-box (voxel) coordinates "
    "counted from 0 (since 1.2.0)."
)
class XrayCentringResult:
    local_id: str = strawberry.field(description="The facility's own id (e.g. ISPyB xrayCentringResultId).")
    status: str | None = strawberry.field(description="SUCCESS, FAILED or PENDING (since 1.2.0).")
    kind: str | None = strawberry.field(description="`2d` or `3d` centring (since 1.2.0).")
    centre_of_mass_x: float | None = strawberry.field(description=d("grid boxes", "(since 1.2.0)"))
    centre_of_mass_y: float | None = strawberry.field(description=d("grid boxes", "(since 1.2.0)"))
    centre_of_mass_z: float | None = strawberry.field(description=d("grid boxes", "(since 1.2.0)"))
    max_voxel_x: int | None = strawberry.field(
        description=d("grid boxes", "Box with the most signal (since 1.2.0).")
    )
    max_voxel_y: int | None = strawberry.field(description=d("grid boxes", "(since 1.2.0)"))
    max_voxel_z: int | None = strawberry.field(description=d("grid boxes", "(since 1.2.0)"))
    number_of_voxels: int | None = strawberry.field(
        description=d("grid boxes", "Boxes in the bounding box (since 1.2.0).")
    )
    total_count: float | None = strawberry.field(
        description=d("spots", "Signal summed over the bounding box (since 1.2.0).")
    )
    bounding_box_min_x: float | None = strawberry.field(description=d("grid boxes", "(since 1.2.0)"))
    bounding_box_max_x: float | None = strawberry.field(description=d("grid boxes", "(since 1.2.0)"))
    bounding_box_min_y: float | None = strawberry.field(description=d("grid boxes", "(since 1.2.0)"))
    bounding_box_max_y: float | None = strawberry.field(description=d("grid boxes", "(since 1.2.0)"))
    bounding_box_min_z: float | None = strawberry.field(description=d("grid boxes", "(since 1.2.0)"))
    bounding_box_max_z: float | None = strawberry.field(description=d("grid boxes", "(since 1.2.0)"))

    @classmethod
    def of(cls, r: model.XrayCentringResult) -> XrayCentringResult:
        result: XrayCentringResult = from_record(cls, "", r)  # every field by name; no id or site
        return result
