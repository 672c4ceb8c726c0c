"""What a processing result scaled and led to (since schema 1.2.0; issue 16): its integrations,
molecular replacement runs (`mrRuns`, Dimple at Diamond) and experimental phasing (`phasing`).

Types only, from site_adapter.model records already in canonical units; the fields that load them
live on ProcessingResult (types.py). No SQL here.
"""

from __future__ import annotations

import datetime as dt

import strawberry

from site_adapter import model
from site_adapter.graphql.records import from_record
from site_adapter.graphql.types import UnitCell, d


@strawberry.type(
    description="One integration a processing result scaled: its image range and the geometry the "
    "program refined (since 1.2.0)."
)
class Integration:
    local_id: str = strawberry.field(description="The facility's own id (e.g. ISPyB autoProcIntegrationId).")
    data_collection_local_id: str = strawberry.field(
        description="Local id of the data collection integrated (a multi-sweep result has several)."
    )
    program: str | None = strawberry.field(description="Program that integrated, e.g. `xia2 dials`.")
    start_image_number: int | None = strawberry.field(description=d("image number", "First image used."))
    end_image_number: int | None = strawberry.field(description=d("image number", "Last image used."))
    refined_detector_distance: float | None = strawberry.field(description=d("mm"))
    refined_beam_centre_x: float | None = strawberry.field(
        description=d("mm", "Refined beam centre, in the program's convention (ISPyB refinedXBeam).")
    )
    refined_beam_centre_y: float | None = strawberry.field(
        description=d("mm", "Refined beam centre, in the program's convention (ISPyB refinedYBeam).")
    )
    cell: UnitCell | None = strawberry.field(description="Refined unit cell of this integration.")
    rotation_axis_x: float | None = strawberry.field(
        description=d("dimensionless", "Refined rotation axis, unit vector component.")
    )
    rotation_axis_y: float | None = strawberry.field(description=d("dimensionless"))
    rotation_axis_z: float | None = strawberry.field(description=d("dimensionless"))
    anomalous: bool | None = strawberry.field(description="Friedel pairs kept apart.")

    @classmethod
    def of(cls, r: model.Integration) -> Integration:
        names = [f.name for f in cls.__strawberry_definition__.fields if f.name != "cell"]  # type: ignore[attr-defined]
        return cls(cell=UnitCell.of(r.cell), **{n: getattr(r, n) for n in names})


@strawberry.type(
    description="Molecular replacement and refinement against a known model (ISPyB MXMRRun; Dimple at "
    "Diamond) (since 1.2.0)."
)
class MrRun:
    local_id: str = strawberry.field(description="The facility's own id (e.g. ISPyB mxMRRunId).")
    program: str | None = strawberry.field(description="e.g. `dimple`.")
    status: str = strawberry.field(description="SUCCESS, FAILED, RUNNING or UNKNOWN.")
    message: str | None = strawberry.field(description="The program's last message, e.g. a blob score.")
    r_start: float | None = strawberry.field(description=d("fraction 0-1", "R before refinement."))
    r_end: float | None = strawberry.field(description=d("fraction 0-1", "R after refinement."))
    r_free_start: float | None = strawberry.field(description=d("fraction 0-1", "Rfree before refinement."))
    r_free_end: float | None = strawberry.field(description=d("fraction 0-1", "Rfree after refinement."))
    llg: float | None = strawberry.field(description=d("dimensionless", "Log-likelihood gain."))
    tfz: float | None = strawberry.field(description=d("dimensionless", "Translation-function Z-score."))
    space_group: str | None = strawberry.field(description="Space group of the solution.")
    start_time: dt.datetime | None
    end_time: dt.datetime | None
    log_files: list[str] = strawberry.field(description="Full paths of the run's log files.")
    notes: list[str] = strawberry.field(description="How values were normalised from the store.")

    @classmethod
    def of(cls, r: model.MrRun) -> MrRun:
        skip = {"log_files", "notes"}
        names = [f.name for f in cls.__strawberry_definition__.fields if f.name not in skip]  # type: ignore[attr-defined]
        return cls(
            log_files=list(r.log_files),
            notes=list(r.provenance_notes),
            **{n: getattr(r, n) for n in names},
        )


@strawberry.type(description="Experimental phasing of a processing result (ISPyB Phasing) (since 1.2.0).")
class Phasing:
    local_id: str = strawberry.field(description="The facility's own id (e.g. ISPyB phasingId).")
    program: str | None = strawberry.field(description="e.g. `shelxe`, `fast_ep`.")
    status: str = strawberry.field(description="SUCCESS, FAILED, RUNNING or UNKNOWN.")
    method: str | None = strawberry.field(description="e.g. `SAD`, `shelxe`, `solvent flattening`.")
    space_group: str | None = strawberry.field(description="Space group phased in.")
    resolution_low: float | None = strawberry.field(description=d("Å"))
    resolution_high: float | None = strawberry.field(description=d("Å"))
    figure_of_merit: float | None = strawberry.field(description=d("fraction 0-1", "Mean figure of merit."))
    pseudo_free_cc: float | None = strawberry.field(description=d("%", "SHELXE pseudo-free CC."))
    enantiomorph: bool | None = strawberry.field(description="The inverted substructure hand was chosen.")
    solvent_content: float | None = strawberry.field(description=d("fraction 0-1"))
    start_time: dt.datetime | None
    end_time: dt.datetime | None

    @classmethod
    def of(cls, r: model.Phasing) -> Phasing:
        phasing: Phasing = from_record(cls, "", r)  # every field by name; no id or site
        return phasing
