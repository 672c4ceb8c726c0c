"""IspybBackend: the site-adapter Backend over a read-only replica of a facility's ISPyB (MariaDB).

It only delegates: SQL lives in collections/processing/entities/samples/access, quirks in normalise.
It never writes; start() refuses, with one line, a server or schema it cannot serve.
"""

from __future__ import annotations

import dataclasses
import zoneinfo
from collections.abc import Sequence

from site_adapter import model
from site_adapter.access import EmbargoPolicy
from site_adapter.backends.base import (
    BackendError,
    DataCollectionFilter,
    FacetCounts,
    FacetField,
    Page,
    PageRequest,
    ProposalFilter,
    ProteinFilter,
    ProteinGroup,
    SampleFilter,
    SessionFilter,
)
from site_adapter.backends.ispyb import (
    access,
    collections,
    downstream,
    entities,
    facets,
    files,
    grids,
    groups,
    identifiers,
    processing,
    ranking,
    samples,
    scans,
    screening,
)
from site_adapter.backends.ispyb.connection import Database
from site_adapter.backends.ispyb.localtime import WallClock
from site_adapter.backends.ispyb.schema_check import SchemaInfo, detect
from site_adapter.zones import facility_zone


class IspybBackend:
    kind = "ispyb"

    def __init__(
        self,
        dsn: str,
        *,
        pool_size: int = 10,
        embargo: EmbargoPolicy | None = None,
        query_timeout: float = 30.0,
        time_zone: str | None = None,
    ) -> None:
        """`time_zone`: the facility's IANA zone, in which ISPyB stores its wall-clock times
        (default UTC; site_adapter.zones refuses an unknown name here, before any connection)."""
        self.clock = WallClock(facility_zone(time_zone))
        self.db = Database(dsn, pool_size=pool_size, query_timeout=query_timeout)
        self.embargo = embargo or EmbargoPolicy()
        self._schema: SchemaInfo | None = None

    @property
    def time_zone(self) -> zoneinfo.ZoneInfo:
        return self.clock.zone

    @property
    def schema(self) -> SchemaInfo:
        if self._schema is None:
            raise BackendError("ispyb backend: not started")
        return self._schema

    @property
    def schema_version(self) -> str | None:
        """ISPyB's own version (AdminVar.schemaVersion, else the last SchemaStatus script), for provenance."""
        return None if self._schema is None else self._schema.version

    async def start(self) -> None:
        await self.db.open()
        try:
            self._schema = dataclasses.replace(await detect(self.db), clock=self.clock)
        except BackendError:
            await self.db.close()
            raise

    async def close(self) -> None:
        await self.db.close()

    async def ping(self) -> None:
        await self.db.fetch("SELECT 1")

    # Root connections
    async def data_collections(
        self, f: DataCollectionFilter, page: PageRequest
    ) -> Page[model.DataCollection]:
        if page.order is not None:  # dataCollections(orderBy:), since 1.2.0
            return await ranking.page(self.db, self.schema, f, page)
        return await collections.page(self.db, self.schema, f, page)

    async def samples(self, f: SampleFilter, page: PageRequest) -> Page[model.Sample]:
        return await samples.samples(self.db, self.schema, f, page)

    async def proteins(self, f: ProteinFilter, page: PageRequest) -> Page[model.Protein]:
        return await samples.proteins(self.db, self.schema, f, page)

    async def protein_groups(self, f: ProteinFilter, page: PageRequest) -> Page[ProteinGroup]:
        """distinctProteins (since 1.2.0): one GROUP BY per page (ispyb/groups.py)."""
        return await groups.protein_groups(self.db, self.schema, f, page)

    async def data_collection_facets(
        self, f: DataCollectionFilter, fields: Sequence[FacetField], first: int
    ) -> list[FacetCounts]:
        """dataCollectionFacets (since 1.2.0): exact, one GROUP BY per field (ispyb/facets.py)."""
        return await facets.data_collection_facets(self.db, self.schema, f, fields, first)

    async def sessions(self, f: SessionFilter, page: PageRequest) -> Page[model.Session]:
        return await entities.sessions(self.db, self.schema, f, page)

    async def proposals(self, f: ProposalFilter, page: PageRequest) -> Page[model.Proposal]:
        return await entities.proposals(self.db, self.schema, f, page)

    # Batch lookups: one statement (or a fixed few) per batch
    async def data_collections_by_id(self, ids: Sequence[str]) -> dict[str, model.DataCollection]:
        return await collections.by_id(self.db, self.schema, ids)

    async def sessions_by_id(self, ids: Sequence[str]) -> dict[str, model.Session]:
        return await entities.sessions_by_id(self.db, self.schema, ids)

    async def proposals_by_id(self, ids: Sequence[str]) -> dict[str, model.Proposal]:
        return await entities.proposals_by_id(self.db, self.schema, ids)

    async def samples_by_id(self, ids: Sequence[str]) -> dict[str, model.Sample]:
        return await samples.samples_by_id(self.db, self.schema, ids)

    async def crystals_by_id(self, ids: Sequence[str]) -> dict[str, model.Crystal]:
        return await samples.crystals_by_id(self.db, self.schema, ids)

    async def proteins_by_id(self, ids: Sequence[str]) -> dict[str, model.Protein]:
        return await samples.proteins_by_id(self.db, self.schema, ids)

    async def detectors_by_id(self, ids: Sequence[str]) -> dict[str, model.Detector]:
        return await entities.detectors_by_id(self.db, self.schema, ids)

    async def groups_by_id(self, ids: Sequence[str]) -> dict[str, model.DataCollectionGroup]:
        return await entities.groups_by_id(self.db, self.schema, ids)

    async def processing_by_collection(self, ids: Sequence[str]) -> dict[str, list[model.ProcessingResult]]:
        return await processing.by_collection(self.db, self.schema, ids)

    async def processing_results_by_id(self, ids: Sequence[str]) -> dict[str, model.ProcessingResult]:
        return await processing.by_id(self.db, self.schema, ids)

    async def data_collection_ids_by_sample(self, sample_ids: Sequence[str]) -> dict[str, list[str]]:
        return await collections.ids_by_sample(self.db, self.schema, sample_ids)

    # Grid scans and downstream results (issue 16): grids.py, downstream.py
    async def grids_by_collection(self, ids: Sequence[str]) -> dict[str, model.GridScan | None]:
        return await grids.grids(self.db, self.schema, ids)

    async def image_quality_by_collection(self, ids: Sequence[str]) -> dict[str, list[model.ImageQuality]]:
        return await grids.image_quality(self.db, self.schema, ids)

    async def xray_centring_by_collection(
        self, ids: Sequence[str]
    ) -> dict[str, list[model.XrayCentringResult]]:
        return await grids.xray_centring(self.db, self.schema, ids)

    async def integrations_by_result(self, ids: Sequence[str]) -> dict[str, list[model.Integration]]:
        return await downstream.integrations(self.db, self.schema, ids)

    async def mr_runs_by_result(self, ids: Sequence[str]) -> dict[str, list[model.MrRun]]:
        return await downstream.mr_runs(self.db, self.schema, ids)

    async def phasing_by_result(self, ids: Sequence[str]) -> dict[str, list[model.Phasing]]:
        return await downstream.phasing(self.db, self.schema, ids)

    # Result files, program messages, snapshots (issue 16)
    async def files_by_processing(self, ids: Sequence[str]) -> dict[str, list[model.ResultFile]]:
        return await files.files_by_processing(self.db, self.schema, ids)

    async def messages_by_processing(self, ids: Sequence[str]) -> dict[str, list[model.ProgramMessage]]:
        return await files.messages_by_processing(self.db, self.schema, ids)

    async def snapshots_by_collection(self, ids: Sequence[str]) -> dict[str, list[model.Snapshot]]:
        return await files.snapshots_by_collection(self.db, self.schema, ids)

    async def files_by_id(self, ids: Sequence[str]) -> dict[str, model.ResultFile]:
        return await files.files_by_id(self.db, self.schema, ids)

    async def snapshots_by_id(self, ids: Sequence[str]) -> dict[str, model.Snapshot]:
        return await files.snapshots_by_id(self.db, self.schema, ids)

    # Characterisation, scans and plans (base.ScreeningBackend, since 1.2.0)
    async def screenings_by_collection(self, ids: Sequence[str]) -> dict[str, list[model.Screening]]:
        return await screening.by_collection(self.db, self.schema, ids)

    async def energy_scans_by_session(self, ids: Sequence[str]) -> dict[str, list[model.EnergyScan]]:
        return await scans.energy_scans(self.db, self.schema, ids, "session")

    async def energy_scans_by_sample(self, ids: Sequence[str]) -> dict[str, list[model.EnergyScan]]:
        return await scans.energy_scans(self.db, self.schema, ids, "sample")

    async def xrf_spectra_by_session(self, ids: Sequence[str]) -> dict[str, list[model.XrfSpectrum]]:
        return await scans.xrf_spectra(self.db, self.schema, ids, "session")

    async def xrf_spectra_by_sample(self, ids: Sequence[str]) -> dict[str, list[model.XrfSpectrum]]:
        return await scans.xrf_spectra(self.db, self.schema, ids, "sample")

    async def diffraction_plans_by_sample(self, ids: Sequence[str]) -> dict[str, model.DiffractionPlan]:
        return await scans.plans_by_sample(self.db, self.schema, ids)

    async def diffraction_plans_by_collection(self, ids: Sequence[str]) -> dict[str, model.DiffractionPlan]:
        return await scans.plans_by_collection(self.db, self.schema, ids)

    # Identifiers (issue 19): base.IdentifierStore. ISPyB v5 has no DOI or archive-link column.
    async def dois_by_collection(self, ids: Sequence[str]) -> dict[str, model.Doi]:
        return {}

    async def dois_by_session(self, ids: Sequence[str]) -> dict[str, model.Doi]:
        return {}

    async def pdb_entries_by_protein(self, ids: Sequence[str]) -> dict[str, list[model.PdbEntry]]:
        return await identifiers.by_protein(self.db, self.schema, ids)

    async def pdb_entries_by_collection(self, ids: Sequence[str]) -> dict[str, list[model.PdbEntry]]:
        return await identifiers.by_collection(self.db, self.schema, ids)

    async def archive_links_by_collection(self, ids: Sequence[str]) -> dict[str, list[model.ArchiveLink]]:
        return {}

    # Access facts, beyond the protocol, for the access-control layer
    async def proposals_of_login(self, login: str) -> set[str]:
        return await access.proposals_of_login(self.db, self.schema, login)

    async def sessions_of_login(self, login: str) -> set[str]:
        return await access.sessions_of_login(self.db, self.schema, login)

    async def is_staff(self, login: str) -> bool:
        return await access.is_staff(self.db, self.schema, login)

    def is_public(self, session: model.Session) -> bool:
        return self.embargo.is_public(session.end_time, session.beamline)
