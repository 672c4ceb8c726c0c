"""The common schema's object types, built from site_adapter.model records.

Scalar fields are copied from a record (already in canonical units); relations resolve through the
request's DataLoaders. Every numeric field's description states its unit (a test enforces it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
import strawberry.federation as federation
from strawberry.types import Info

from mx_schema.ids import encode_id
from site_adapter import model
from site_adapter.graphql import citation
from site_adapter.graphql.batches import batched, load
from site_adapter.graphql.context import SiteContext
from site_adapter.graphql.records import from_record
from site_adapter.model import Detector as DetectorRecord  # inside Detector, `model` names a field

if TYPE_CHECKING:  # downstream.py builds on this module: its types are named lazily here
    from site_adapter.graphql.downstream import Integration, MrRun, Phasing

_DOWNSTREAM = "site_adapter.graphql.downstream"
if TYPE_CHECKING:
    from site_adapter.graphql.files import ProgramMessage, ResultFile
if TYPE_CHECKING:  # the screening types use d() and ctx() from here: imported lazily (strawberry.lazy)
    from site_adapter.graphql.screening import DiffractionPlan, EnergyScan, XrfSpectrum

_SCREENING = "site_adapter.graphql.screening"

HC_KEV_ANGSTROM = 12398.419843320026  # h*c in eV·Å (CODATA 2018): E[eV] = hc / λ[Å]


def d(unit: str, text: str = "") -> str:
    return f"{text} Unit: {unit}.".strip() if text else f"Unit: {unit}."


def ctx(info: Info) -> SiteContext:
    site: SiteContext = info.context["site"]
    return site


@strawberry.interface(description="An object with a global id, which names the site it lives at.")
class Node:
    id: strawberry.ID = strawberry.field(description="Global id: decodes to (site, type, local id).")


@strawberry.type(description="Where a record came from.")
class Provenance:
    site: str = strawberry.field(description="Registered name of the site that served the record.")
    backend: str = strawberry.field(description="The site's store: `native` or `ispyb`.")
    schema_version: str = strawberry.field(
        description="Version (semver) of the common schema the site serves."
    )
    time_zone: str | None = strawberry.field(
        description="IANA time zone of the facility, e.g. `Europe/London`: the zone its stored local times "
        "were read in (since 1.1.0; docs/time.md)."
    )
    notes: list[str] = strawberry.field(
        description="How values were normalised from the store (unit fixes, quirks)."
    )


def _provenance(c: SiteContext, notes: tuple[str, ...] = ()) -> Provenance:
    return Provenance(
        site=c.site,
        backend=c.backend.kind,
        schema_version=c.schema_version,
        time_zone=c.backend.time_zone.key,
        notes=list(notes),
    )


@strawberry.type(description="Unit cell constants.")
class UnitCell:
    a: float = strawberry.field(description=d("Å"))
    b: float = strawberry.field(description=d("Å"))
    c: float = strawberry.field(description=d("Å"))
    alpha: float = strawberry.field(description=d("degrees"))
    beta: float = strawberry.field(description=d("degrees"))
    gamma: float = strawberry.field(description=d("degrees"))

    @classmethod
    def of(cls, cell: model.UnitCell | None) -> UnitCell | None:
        return (
            None
            if cell is None
            else cls(a=cell.a, b=cell.b, c=cell.c, alpha=cell.alpha, beta=cell.beta, gamma=cell.gamma)
        )


@strawberry.type(
    description="An identity of a sample in another system, e.g. {system: 'lims', kind: 'crystal-uuid'}."
)
class ExternalId:
    system: str
    kind: str
    value: str


@strawberry.type(description="A proposal (an approved research programme) under which sessions run.")
class Proposal(Node):
    site: str
    local_id: str = strawberry.field(description="The facility's own id, as a string.")
    code: str = strawberry.field(description="Proposal code and number as users type it, e.g. `cm14451`.")
    title: str | None

    @classmethod
    def of(cls, site: str, r: model.Proposal) -> Proposal:
        return from_record(cls, site, r)


# Batch forms of relations whose types live in modules that import this one (imported when called).


async def _session_energy_scans(c: SiteContext, sessions: Sequence[Any]) -> list[list[EnergyScan]]:
    from site_adapter.graphql.screening import energy_scans_of

    return await energy_scans_of(c, sessions, "session")


async def _session_xrf_spectra(c: SiteContext, sessions: Sequence[Any]) -> list[list[XrfSpectrum]]:
    from site_adapter.graphql.screening import xrf_spectra_of

    return await xrf_spectra_of(c, sessions, "session")


async def _sample_energy_scans(c: SiteContext, samples: Sequence[Any]) -> list[list[EnergyScan]]:
    from site_adapter.graphql.screening import energy_scans_of

    return await energy_scans_of(c, samples, "sample")


async def _sample_xrf_spectra(c: SiteContext, samples: Sequence[Any]) -> list[list[XrfSpectrum]]:
    from site_adapter.graphql.screening import xrf_spectra_of

    return await xrf_spectra_of(c, samples, "sample")


async def _sample_plans(c: SiteContext, samples: Sequence[Any]) -> list[DiffractionPlan | None]:
    from site_adapter.graphql.screening import diffraction_plans_of

    return await diffraction_plans_of(c, samples, "sample")


async def _result_files(c: SiteContext, results: Sequence[Any]) -> list[list[ResultFile]]:
    from site_adapter.graphql.files import files_of

    return await files_of(c, results)


async def _program_messages(c: SiteContext, results: Sequence[Any]) -> list[list[ProgramMessage]]:
    from site_adapter.graphql.files import messages_of

    return await messages_of(c, results)


@strawberry.type(description="A session (visit) at a beamline.")
class Session(Node):
    site: str
    local_id: str
    visit: str = strawberry.field(description="Visit name, e.g. `cm14451-1`.")
    visit_number: int | None = strawberry.field(description=d("count", "Visit number within the proposal."))
    proposal: str = strawberry.field(description="Proposal code, e.g. `cm14451`.")
    beamline: str | None
    start_time: dt.datetime | None
    end_time: dt.datetime | None

    @classmethod
    def of(cls, site: str, r: model.Session) -> Session:
        return from_record(cls, site, r)

    @strawberry.field(
        metadata=batched(_session_energy_scans),
        description="Energy scans (MAD/SAD edge scans) of this session, in the order recorded (by local id; since 1.2.0).",
    )
    async def energy_scans(self, info: Info) -> list[Annotated[EnergyScan, strawberry.lazy(_SCREENING)]]:
        return (await _session_energy_scans(ctx(info), [self]))[0]

    @strawberry.field(
        metadata=batched(_session_xrf_spectra),
        description="X-ray fluorescence spectra of this session, in the order recorded (by local id; since 1.2.0).",
    )
    async def xrf_spectra(self, info: Info) -> list[Annotated[XrfSpectrum, strawberry.lazy(_SCREENING)]]:
        return (await _session_xrf_spectra(ctx(info), [self]))[0]

    @strawberry.field(description="The DOI minted for the session's data (since 1.2.0); null when none.")
    async def doi(self, info: Info) -> citation.Doi | None:
        found = await citation.session_doi(info, self.local_id)
        return None if found is None else citation.Doi.of(found)


@strawberry.type(description="A protein (macromolecule) as registered at the facility.")
class Protein(Node):
    site: str
    local_id: str
    acronym: str | None
    name: str | None
    uniprot_ids: list[str] = strawberry.field(description="UniProt accessions, e.g. `P00698`.")
    sequence_hash: str | None = strawberry.field(
        description="Hex SHA-256 of the one-letter sequence (upper case, no white space): equal hashes, equal sequences."
    )

    @classmethod
    def of(cls, site: str, r: model.Protein) -> Protein:
        return from_record(cls, site, r, uniprot_ids=list(r.uniprot_ids))

    @strawberry.field(description="PDB entries and models registered for the protein (since 1.2.0).")
    async def pdb_entries(self, info: Info) -> list[citation.PdbEntry]:
        return [citation.PdbEntry.of(e) for e in await citation.protein_entries(info, self.local_id)]


@strawberry.type(description="A crystal: the physical specimen a sample holds.")
class Crystal(Node):
    local_id: str
    uuid: str | None = strawberry.field(
        description="Crystal UUID shared with crystallisation LIMS, lower case."
    )
    space_group: str | None = strawberry.field(
        description="Space group as recorded before data collection, e.g. `P 43 21 2`."
    )
    cell: UnitCell | None

    @classmethod
    def of(cls, site: str, r: model.Crystal) -> Crystal:
        return from_record(cls, site, r, cell=UnitCell.of(r.cell))


@strawberry.type(description="A detector, with the geometry that makes its images intelligible.")
class Detector(Node):
    local_id: str
    manufacturer: str | None
    model: str | None
    serial_number: str | None
    pixel_size_x: float | None = strawberry.field(description=d("mm", "Pixel size along the fast axis."))
    pixel_size_y: float | None = strawberry.field(description=d("mm", "Pixel size along the slow axis."))
    number_of_pixels_x: int | None = strawberry.field(description=d("pixels", "Pixels along the fast axis."))
    number_of_pixels_y: int | None = strawberry.field(description=d("pixels", "Pixels along the slow axis."))
    sensor_material: str | None
    sensor_thickness: float | None = strawberry.field(description=d("mm"))

    @classmethod
    def of(cls, site: str, r: DetectorRecord) -> Detector:
        return from_record(cls, site, r)


@strawberry.type(description="Merging statistics of one resolution shell (overall, inner or outer).")
class ShellStatistics:
    resolution_low: float | None = strawberry.field(description=d("Å"))
    resolution_high: float | None = strawberry.field(description=d("Å"))
    completeness: float | None = strawberry.field(description=d("%"))
    multiplicity: float | None = strawberry.field(
        description=d("dimensionless", "Mean number of observations per unique reflection.")
    )
    mean_i_over_sig_i: float | None = strawberry.field(description=d("dimensionless", "Mean I/σ(I)."))
    cc_half: float | None = strawberry.field(description=d("fraction 0-1", "CC½."))
    cc_anomalous: float | None = strawberry.field(description=d("fraction 0-1"))
    r_merge: float | None = strawberry.field(description=d("fraction"))
    r_meas: float | None = strawberry.field(description=d("fraction"))
    r_pim: float | None = strawberry.field(description=d("fraction"))
    n_total_observations: int | None = strawberry.field(description=d("reflections"))
    n_total_unique: int | None = strawberry.field(description=d("reflections"))
    anomalous_completeness: float | None = strawberry.field(description=d("%"))
    anomalous_multiplicity: float | None = strawberry.field(description=d("dimensionless"))

    @classmethod
    def of(cls, s: model.ShellStatistics | None) -> ShellStatistics | None:
        return None if s is None else from_record(cls, "", s)  # every field by name; no id or site


async def _integrations(c: SiteContext, results: Sequence[ProcessingResult]) -> list[list[Integration]]:
    from site_adapter.graphql.downstream import Integration

    found = await load(c.loaders.integrations, [r.local_id for r in results])
    return [[Integration.of(x) for x in rs or ()] for rs in found]


async def _mr_runs(c: SiteContext, results: Sequence[ProcessingResult]) -> list[list[MrRun]]:
    from site_adapter.graphql.downstream import MrRun

    found = await load(c.loaders.mr_runs, [r.local_id for r in results])
    return [[MrRun.of(x) for x in rs or ()] for rs in found]


async def _phasing(c: SiteContext, results: Sequence[ProcessingResult]) -> list[list[Phasing]]:
    from site_adapter.graphql.downstream import Phasing

    found = await load(c.loaders.phasing, [r.local_id for r in results])
    return [[Phasing.of(x) for x in rs or ()] for rs in found]


@strawberry.type(description="One processing (integration and scaling) result of a data collection.")
class ProcessingResult(Node):
    local_id: str
    program: str | None = strawberry.field(description="Pipeline, e.g. `fast_dp`, `xia2 dials`, `autoPROC`.")
    status: str = strawberry.field(description="SUCCESS, FAILED, RUNNING or UNKNOWN.")
    space_group: str | None
    cell: UnitCell | None
    anomalous: bool | None
    start_time: dt.datetime | None
    end_time: dt.datetime | None
    overall: ShellStatistics | None
    inner: ShellStatistics | None
    outer: ShellStatistics | None
    notes: list[str] = strawberry.field(description="How values were normalised from the store.")

    @classmethod
    def of(cls, site: str, r: model.ProcessingResult) -> ProcessingResult:
        return from_record(
            cls,
            site,
            r,
            cell=UnitCell.of(r.cell),
            overall=ShellStatistics.of(r.overall),
            inner=ShellStatistics.of(r.inner),
            outer=ShellStatistics.of(r.outer),
            notes=list(r.provenance_notes),
        )

    @strawberry.field(
        metadata=batched(_integrations),
        description="The integrations this result scaled, with image range and refined geometry (since 1.2.0).",
    )
    async def integrations(self, info: Info) -> list[Annotated[Integration, strawberry.lazy(_DOWNSTREAM)]]:
        return (await _integrations(ctx(info), [self]))[0]

    @strawberry.field(
        metadata=batched(_mr_runs),
        description="Molecular replacement runs on this result (ISPyB MXMRRun: Dimple) (since 1.2.0).",
    )
    async def mr_runs(self, info: Info) -> list[Annotated[MrRun, strawberry.lazy(_DOWNSTREAM)]]:
        return (await _mr_runs(ctx(info), [self]))[0]

    @strawberry.field(
        metadata=batched(_phasing),
        description="Experimental phasing of this result (ISPyB Phasing) (since 1.2.0).",
    )
    async def phasing(self, info: Info) -> list[Annotated[Phasing, strawberry.lazy(_DOWNSTREAM)]]:
        return (await _phasing(ctx(info), [self]))[0]

    @strawberry.field(
        metadata=batched(_result_files),
        description="Files the program wrote, most important first (since 1.2.0).",
    )
    async def files(
        self, info: Info
    ) -> list[Annotated[ResultFile, strawberry.lazy("site_adapter.graphql.files")]]:
        return (await _result_files(ctx(info), [self]))[0]

    @strawberry.field(
        metadata=batched(_program_messages),
        description="Messages the program left, oldest first (since 1.2.0).",
    )
    async def messages(
        self, info: Info
    ) -> list[Annotated[ProgramMessage, strawberry.lazy("site_adapter.graphql.files")]]:
        return (await _program_messages(ctx(info), [self]))[0]


def best_of(results: list[model.ProcessingResult]) -> model.ProcessingResult | None:
    """The successful result with the smallest overall high-resolution limit (ties: lowest local id)."""
    ok = [r for r in results if r.status == "SUCCESS" and r.overall and r.overall.resolution_high is not None]
    if not ok:
        return None
    return min(ok, key=lambda r: (r.overall.resolution_high, _int_or_str(r.local_id)))  # type: ignore[union-attr]


def _int_or_str(v: str) -> tuple[int, int, str]:
    return (0, int(v), "") if v.isdigit() else (1, 0, v)


async def _sample_provenance(c: SiteContext, samples: Sequence[Sample]) -> list[Provenance]:
    return [_provenance(c)] * len(samples)  # one site, one answer: the same object serves every sample


async def _crystals(c: SiteContext, samples: Sequence[Sample]) -> list[Crystal | None]:
    found = await load(c.loaders.crystals, [s._record.crystal_local_id for s in samples])
    return [None if r is None else Crystal.of(s.site, r) for s, r in zip(samples, found, strict=True)]


async def _proteins(c: SiteContext, samples: Sequence[Sample]) -> list[Protein | None]:
    """A sample's own protein, else its crystal's."""
    records = [s._record for s in samples]
    crystals = await load(
        c.loaders.crystals, [r.crystal_local_id if r.protein_local_id is None else None for r in records]
    )
    ids = [
        r.protein_local_id if r.protein_local_id is not None else (x.protein_local_id if x else None)
        for r, x in zip(records, crystals, strict=True)
    ]
    found = await load(c.loaders.proteins, ids)
    return [None if r is None else Protein.of(s.site, r) for s, r in zip(samples, found, strict=True)]


@federation.type(keys=["id"], description="A sample: a crystal on a pin, as the beamline saw it.")
class Sample(Node):
    site: str
    local_id: str
    name: str | None
    barcode: str | None = strawberry.field(description="Pin (sample holder) barcode.")
    container_code: str | None = strawberry.field(description="Puck or plate barcode the sample sat in.")
    position: int | None = strawberry.field(description=d("position number", "Position in the container."))
    external_ids: list[ExternalId]
    _record: strawberry.Private[model.Sample]

    @classmethod
    def of(cls, site: str, r: model.Sample) -> Sample:
        external = [ExternalId(system=e.system, kind=e.kind, value=e.value) for e in r.external_ids]
        return from_record(cls, site, r, external_ids=external)

    @strawberry.field(metadata=batched(_crystals))
    async def crystal(self, info: Info) -> Crystal | None:
        return (await _crystals(ctx(info), [self]))[0]

    @strawberry.field(metadata=batched(_proteins))
    async def protein(self, info: Info) -> Protein | None:
        return (await _proteins(ctx(info), [self]))[0]

    @strawberry.field(description="Global ids of this sample's data collections, newest first.")
    async def data_collection_ids(self, info: Info) -> list[strawberry.ID]:
        ids = await ctx(info).loaders.collections_of_sample.load(self.local_id)
        return [strawberry.ID(encode_id(self.site, "DataCollection", i)) for i in ids]

    @strawberry.field(metadata=batched(_sample_provenance))
    def provenance(self, info: Info) -> Provenance:
        return _provenance(ctx(info))

    @strawberry.field(
        metadata=batched(_sample_energy_scans),
        description="Energy scans of this sample, in the order recorded (by local id; since 1.2.0).",
    )
    async def energy_scans(self, info: Info) -> list[Annotated[EnergyScan, strawberry.lazy(_SCREENING)]]:
        return (await _sample_energy_scans(ctx(info), [self]))[0]

    @strawberry.field(
        metadata=batched(_sample_xrf_spectra),
        description="X-ray fluorescence spectra of this sample, in the order recorded (by local id; since 1.2.0).",
    )
    async def xrf_spectra(self, info: Info) -> list[Annotated[XrfSpectrum, strawberry.lazy(_SCREENING)]]:
        return (await _sample_xrf_spectra(ctx(info), [self]))[0]

    @strawberry.field(
        metadata=batched(_sample_plans),
        description="What the user asked to collect: the sample's plan, else its crystal's (since 1.2.0).",
    )
    async def diffraction_plan(
        self, info: Info
    ) -> Annotated[DiffractionPlan, strawberry.lazy(_SCREENING)] | None:
        return (await _sample_plans(ctx(info), [self]))[0]

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Sample | None:
        from site_adapter.graphql.nodes import load_node

        node = await load_node(info, str(id), expected="Sample")
        return node if isinstance(node, Sample) else None


@strawberry.type(description="A group of data collections of one sample in one experiment.")
class DataCollectionGroup(Node):
    local_id: str
    experiment_type: str | None
    start_time: dt.datetime | None
    end_time: dt.datetime | None

    @classmethod
    def of(cls, site: str, r: model.DataCollectionGroup) -> DataCollectionGroup:
        return from_record(cls, site, r)
