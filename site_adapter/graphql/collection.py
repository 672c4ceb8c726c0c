"""The DataCollection type: every field that makes raw images intelligible, and its relations.

Kept apart from types.py because it is the schema's largest type and the one other parts extend
(images from the indexer, reprocessing inputs).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Any

import strawberry
import strawberry.federation as federation
from strawberry.types import Info

from site_adapter import model
from site_adapter.graphql import citation, files, images
from site_adapter.graphql.batches import batched, load
from site_adapter.graphql.context import SiteContext
from site_adapter.graphql.grids import GridScan, ImageQuality, XrayCentringResult
from site_adapter.graphql.images import ImageSet
from site_adapter.graphql.pipelines import PIPELINE, of_pipeline
from site_adapter.graphql.records import from_record
from site_adapter.graphql.screening import DiffractionPlan, Screening, diffraction_plans_of, screenings_of
from site_adapter.graphql.types import (
    HC_KEV_ANGSTROM,
    DataCollectionGroup,
    Detector,
    Node,
    ProcessingResult,
    Provenance,
    Sample,
    Session,
    _provenance,
    best_of,
    ctx,
    d,
)
from site_adapter.reprocess.geometry import Geometry


@strawberry.type(
    description="Inputs to reprocess the raw images with the program of your choice, from this "
    "collection's metadata (and its indexed image header, when there is one)."
)
class Reprocessing:
    _geometry: strawberry.Private[Geometry]
    _cell_from_processing: strawberry.Private[bool]

    @strawberry.field(
        description="XDS.INP for a full run (JOB= XYCORR INIT COLSPOT IDXREF DEFPIX INTEGRATE CORRECT); "
        "an error with code NOT_ROTATION for stills and grid scans."
    )
    def xds_inp(self) -> str | None:  # nullable: a refusal nulls this field, not the others
        from site_adapter.reprocess import render_xds

        return _rotation_only(
            lambda: render_xds(self._geometry, cell_from_processing=self._cell_from_processing)
        )

    @strawberry.field(description="A dials.import command line with the geometry overrides.")
    def dials_import(self) -> str:
        from site_adapter.reprocess import render_dials

        return render_dials(self._geometry)

    @strawberry.field(
        description="A MOSFLM script; an error with code NOT_ROTATION for stills and grid scans."
    )
    def mosflm(self) -> str | None:
        from site_adapter.reprocess import render_mosflm

        return _rotation_only(lambda: render_mosflm(self._geometry))


def _rotation_only(render: Any) -> str:
    from mx_schema.errors import NOT_ROTATION, ContractError
    from site_adapter.reprocess import NotRotation

    try:
        return str(render())
    except NotRotation as exc:
        raise ContractError(str(exc), code=NOT_ROTATION) from None


# The relations of a data collection, each over a list of collections (site_adapter/graphql/batches.py):
# the page executor calls them once per page, a field's resolver with one collection.


async def _sessions(c: SiteContext, dcs: Sequence[DataCollection]) -> list[Session | None]:
    found = await load(c.loaders.sessions, [dc._record.session_local_id for dc in dcs])
    return [None if r is None else Session.of(dc.site, r) for dc, r in zip(dcs, found, strict=True)]


async def _samples(c: SiteContext, dcs: Sequence[DataCollection]) -> list[Sample | None]:
    found = await load(c.loaders.samples, [dc._record.sample_local_id for dc in dcs])
    return [None if r is None else Sample.of(dc.site, r) for dc, r in zip(dcs, found, strict=True)]


async def _detectors(c: SiteContext, dcs: Sequence[DataCollection]) -> list[Detector | None]:
    found = await load(c.loaders.detectors, [dc._record.detector_local_id for dc in dcs])
    return [None if r is None else Detector.of(dc.site, r) for dc, r in zip(dcs, found, strict=True)]


async def _groups(c: SiteContext, dcs: Sequence[DataCollection]) -> list[DataCollectionGroup | None]:
    found = await load(c.loaders.groups, [dc._record.group_local_id for dc in dcs])
    return [
        None if r is None else DataCollectionGroup.of(dc.site, r) for dc, r in zip(dcs, found, strict=True)
    ]


async def _processing(
    c: SiteContext, dcs: Sequence[DataCollection], pipeline: str | None = None
) -> list[list[ProcessingResult]]:
    found = await load(c.loaders.processing, [dc.local_id for dc in dcs])
    return [
        [ProcessingResult.of(dc.site, r) for r in of_pipeline(rs, pipeline)]
        for dc, rs in zip(dcs, found, strict=True)
    ]


async def _best_processing(
    c: SiteContext, dcs: Sequence[DataCollection], pipeline: str | None = None
) -> list[ProcessingResult | None]:
    found = await load(c.loaders.processing, [dc.local_id for dc in dcs])
    best = [best_of(of_pipeline(rs, pipeline)) for rs in found]
    return [None if r is None else ProcessingResult.of(dc.site, r) for dc, r in zip(dcs, best, strict=True)]


async def _provenances(c: SiteContext, dcs: Sequence[DataCollection]) -> list[Provenance]:
    return [_provenance(c, dc._record.provenance_notes) for dc in dcs]


async def _collection_plans(c: SiteContext, dcs: Sequence[DataCollection]) -> list[DiffractionPlan | None]:
    return await diffraction_plans_of(c, dcs, "collection")


async def _grids(c: SiteContext, dcs: Sequence[DataCollection]) -> list[GridScan | None]:
    found = await load(c.loaders.grids, [dc.local_id for dc in dcs])
    return [None if r is None else GridScan.of(r) for r in found]


async def _image_quality(c: SiteContext, dcs: Sequence[DataCollection]) -> list[list[ImageQuality]]:
    found = await load(c.loaders.image_quality, [dc.local_id for dc in dcs])
    return [[ImageQuality.of(q) for q in rs or ()] for rs in found]


async def _xray_centring(c: SiteContext, dcs: Sequence[DataCollection]) -> list[list[XrayCentringResult]]:
    found = await load(c.loaders.xray_centring, [dc.local_id for dc in dcs])
    return [[XrayCentringResult.of(x) for x in rs or ()] for rs in found]


async def _images(c: SiteContext, dcs: Sequence[DataCollection]) -> list[list[ImageSet]]:
    found = await load(c.loaders.image_sets, [dc.local_id for dc in dcs])
    return [[ImageSet.of(dc.site, s) for s in rs or ()] for dc, rs in zip(dcs, found, strict=True)]


@federation.type(
    keys=["id"], description="One data collection (sweep or scan): the images and how they were taken."
)
class DataCollection(Node):
    site: str = strawberry.field(description="Registered name of the site that holds the collection.")
    local_id: str = strawberry.field(
        description="The facility's own id (e.g. ISPyB dataCollectionId), as a string."
    )
    experiment_type: str | None = strawberry.field(
        description="ISPyB experiment type, e.g. `OSC` (rotation), `Mesh` (grid scan)."
    )
    start_time: dt.datetime | None
    end_time: dt.datetime | None
    run_status: str | None
    image_directory: str | None
    file_template: str | None = strawberry.field(
        description="File name template; `#` stands for the image number's digits."
    )
    start_image_number: int | None = strawberry.field(description=d("image number"))
    number_of_images: int | None = strawberry.field(description=d("images"))
    wavelength: float | None = strawberry.field(description=d("Å"))
    detector_distance: float | None = strawberry.field(description=d("mm"))
    beam_centre_x: float | None = strawberry.field(
        description=d("mm", "Beam centre as the facility records it (ISPyB xBeam).")
    )
    beam_centre_y: float | None = strawberry.field(
        description=d("mm", "Beam centre as the facility records it (ISPyB yBeam).")
    )
    axis_start: float | None = strawberry.field(description=d("degrees"))
    axis_end: float | None = strawberry.field(description=d("degrees"))
    axis_range: float | None = strawberry.field(
        description=d("degrees", "Rotation per image; 0 for stills and grid scans.")
    )
    overlap: float | None = strawberry.field(description=d("degrees"))
    rotation_axis: str | None = strawberry.field(description="Omega, Kappa or Phi.")
    exposure_time: float | None = strawberry.field(description=d("s", "Per image."))
    transmission: float | None = strawberry.field(description=d("%"))
    flux: float | None = strawberry.field(description=d("photons/s"))
    beam_size_x: float | None = strawberry.field(description=d("µm", "Beam size at the sample, horizontal."))
    beam_size_y: float | None = strawberry.field(description=d("µm", "Beam size at the sample, vertical."))
    resolution: float | None = strawberry.field(description=d("Å", "Resolution at the detector edge."))
    detector_two_theta: float | None = strawberry.field(description=d("degrees"))
    kappa_start: float | None = strawberry.field(description=d("degrees"))
    phi_start: float | None = strawberry.field(description=d("degrees"))
    chi_start: float | None = strawberry.field(description=d("degrees"))
    omega_start: float | None = strawberry.field(description=d("degrees"))
    comments: str | None
    dose: float | None = strawberry.field(
        description=d("MGy", "Absorbed dose of the collection, where the store records it (since 1.2.0).")
    )
    _record: strawberry.Private[model.DataCollection]

    @classmethod
    def of(cls, site: str, r: model.DataCollection) -> DataCollection:
        return from_record(cls, site, r, detector_two_theta=r.detector_2theta)

    @strawberry.field(description=d("eV", "Photon energy, from the wavelength."))
    def energy(self) -> float | None:
        return None if not self.wavelength else HC_KEV_ANGSTROM / self.wavelength

    @strawberry.field(metadata=batched(_sessions))
    async def session(self, info: Info) -> Session | None:
        return (await _sessions(ctx(info), [self]))[0]

    @strawberry.field(metadata=batched(_samples))
    async def sample(self, info: Info) -> Sample | None:
        return (await _samples(ctx(info), [self]))[0]

    @strawberry.field(metadata=batched(_detectors))
    async def detector(self, info: Info) -> Detector | None:
        return (await _detectors(ctx(info), [self]))[0]

    @strawberry.field(metadata=batched(_groups))
    async def group(self, info: Info) -> DataCollectionGroup | None:
        return (await _groups(ctx(info), [self]))[0]

    @strawberry.field(
        description="Every distinct processing result, once each, oldest first.",
        metadata=batched(_processing),
    )
    async def processing(
        self,
        info: Info,
        pipeline: Annotated[str | None, strawberry.argument(description=PIPELINE)] = None,
    ) -> list[ProcessingResult]:
        return (await _processing(ctx(info), [self], pipeline))[0]

    @strawberry.field(
        description="The successful result with the smallest overall resolutionHigh.",
        metadata=batched(_best_processing),
    )
    async def best_processing(
        self,
        info: Info,
        pipeline: Annotated[str | None, strawberry.argument(description=PIPELINE)] = None,
    ) -> ProcessingResult | None:
        return (await _best_processing(ctx(info), [self], pipeline))[0]

    @strawberry.field(metadata=batched(_provenances))
    def provenance(self, info: Info) -> Provenance:
        return _provenance(ctx(info), self._record.provenance_notes)

    @strawberry.field(
        description="The raster of a grid scan; null for other collections (since 1.2.0).",
        metadata=batched(_grids),
    )
    async def grid(self, info: Info) -> GridScan | None:
        return (await _grids(ctx(info), [self]))[0]

    @strawberry.field(
        description="Spot finding per image, by image number; empty when none was run (since 1.2.0).",
        metadata=batched(_image_quality),
    )
    async def image_quality(self, info: Info) -> list[ImageQuality]:
        return (await _image_quality(ctx(info), [self]))[0]

    @strawberry.field(
        description="Crystals X-ray centring found on this collection's grid scan (since 1.2.0).",
        metadata=batched(_xray_centring),
    )
    async def xray_centring(self, info: Info) -> list[XrayCentringResult]:
        return (await _xray_centring(ctx(info), [self]))[0]

    @strawberry.field(
        metadata=batched(screenings_of),
        description="Characterisations (EDNA, mosflm...) of these images, in the order recorded (by local id; since 1.2.0).",
    )
    async def screenings(self, info: Info) -> list[Screening]:
        return (await screenings_of(ctx(info), [self]))[0]

    @strawberry.field(
        metadata=batched(_collection_plans),
        description="The plan this collection was made under (ISPyB DataCollection.dataCollectionPlanId); "
        "the sample's own plan is Sample.diffractionPlan (since 1.2.0).",
    )
    async def diffraction_plan(self, info: Info) -> DiffractionPlan | None:
        return (await _collection_plans(ctx(info), [self]))[0]

    @strawberry.field(
        description="Image sets the site's indexer linked to this collection (empty when none).",
        metadata=batched(_images),
    )
    async def images(self, info: Info) -> list[ImageSet]:
        return (await _images(ctx(info), [self]))[0]

    @strawberry.field(
        metadata=batched(files.snapshots_of),
        description="Crystal snapshots taken for this collection (since 1.2.0).",
    )
    async def snapshots(self, info: Info) -> list[files.Snapshot]:
        return (await files.snapshots_of(ctx(info), [self]))[0]

    @strawberry.field(
        description="Reprocessing inputs; an error with code MISSING_GEOMETRY names what is missing."
    )
    async def reprocessing(self, info: Info, cell_from_processing: bool = False) -> Reprocessing | None:
        from mx_schema.errors import MISSING_GEOMETRY, ContractError
        from site_adapter.reprocess import MissingGeometry, geometry_from_collection

        c = ctx(info)
        r = self._record
        detector = await c.loaders.detectors.load(r.detector_local_id) if r.detector_local_id else None
        best = best_of(await c.loaders.processing.load(self.local_id))
        header = None
        sets = await c.loaders.image_sets.load(self.local_id) if c.loaders.image_sets is not None else []
        if sets and c.loaders.first_headers is not None:  # an indexed header refines the metadata
            header = images.as_header(await c.loaders.first_headers.load(sets[0].local_id))
        session = await c.loaders.sessions.load(r.session_local_id) if r.session_local_id else None
        try:
            geometry = geometry_from_collection(
                r,
                detector,
                best,
                header,
                overrides=c.services.detector_overrides,
                beamline=session.beamline if session is not None else None,
                time_zone=c.backend.time_zone,
            )
        except MissingGeometry as exc:
            raise ContractError(str(exc), code=MISSING_GEOMETRY) from None
        return Reprocessing(_geometry=geometry, _cell_from_processing=cell_from_processing)

    # Identifiers and deposition (issue 19): site_adapter/graphql/citation.py
    @strawberry.field(
        description="The DOI that cites this collection: its own, its data set's, else its session's "
        "(since 1.2.0); null when none was minted."
    )
    async def doi(self, info: Info) -> citation.Doi | None:
        found = await citation.collection_doi(info, self._record)
        return None if found is None else citation.Doi.of(found)

    @strawberry.field(
        description="PDB entries of the collection's protein and those matched to its processing results "
        "(since 1.2.0)."
    )
    async def pdb_entries(self, info: Info) -> list[citation.PdbEntry]:
        return [citation.PdbEntry.of(e) for e in await citation.collection_entries(info, self._record)]

    @strawberry.field(description="Where the raw data are archived (since 1.2.0); empty when unknown.")
    async def archive_links(self, info: Info) -> list[citation.ArchiveLink]:
        return [citation.ArchiveLink.of(a) for a in await citation.archive_links(info, self._record)]

    @strawberry.field(
        description="This collection's metadata in a deposition format (since 1.2.0): MMCIF is a PDBx/mmCIF "
        "fragment (`_diffrn*`, `_reflns*`, `_pdbx_related_exp_data_set`) from the best processing result, "
        "or the one named by `processing` (a ProcessingResult id) or by `program` (a substring of its "
        "pipeline). `_exptl_crystal_grow` comes from a LIMS: `mxhub export` adds it at the hub."
    )
    async def export(
        self,
        info: Info,
        format: citation.ExportFormat,
        processing: strawberry.ID | None = None,
        program: str | None = None,
    ) -> str:
        return await citation.export_mmcif(
            info, self._record, None if processing is None else str(processing), program
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> DataCollection | None:
        from site_adapter.graphql.nodes import load_node

        node = await load_node(info, str(id), expected="DataCollection")
        return node if isinstance(node, DataCollection) else None
