"""The seam between the GraphQL layer and a store: filters, pages and the Backend protocol.

A backend owns all SQL of its store and returns site_adapter.model records in canonical units.
The GraphQL layer never sees SQL; a backend never sees GraphQL.
"""

from __future__ import annotations

import datetime as dt
import enum
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from mx_schema.cursors import SortOrder
from site_adapter import model
from site_adapter.access import Ownership

T = TypeVar("T")

# A keyset position: the ordering values of a record followed by its integer local id.
SortKey = tuple[Any, ...]


class BackendError(Exception):
    """A store failed (lost connection, timeout); the message is safe to show a caller."""

    code = "BACKEND_UNAVAILABLE"
    safe_for_clients = True  # its message is written for users: no SQL, no hosts


class InvalidInput(Exception):
    """A caller's value cannot be used (unknown enum value, malformed id)."""

    code = "BAD_USER_INPUT"
    safe_for_clients = True


@dataclass(frozen=True, slots=True)
class UnitCellMatch:
    """A unit cell and how far a processing result's cell may be from it."""

    a: float
    b: float
    c: float
    alpha: float
    beta: float
    gamma: float
    length_tolerance_pct: float = 1.0  # %, of each length
    angle_tolerance: float = 1.0  # degrees

    def bounds(self) -> list[tuple[str, float, float]]:
        """(cell field, value, allowed absolute difference) for the six constants."""
        out = [
            (name, v, abs(v) * self.length_tolerance_pct / 100)
            for name, v in (("a", self.a), ("b", self.b), ("c", self.c))
        ]
        return out + [
            (name, v, self.angle_tolerance)
            for name, v in (("alpha", self.alpha), ("beta", self.beta), ("gamma", self.gamma))
        ]


@dataclass(frozen=True, slots=True)
class DataCollectionFilter:
    sample_name: str | None = None
    sample_barcode: str | None = None
    crystal_uuid: str | None = None
    protein_acronym: str | None = None
    protein_name: str | None = None  # case-insensitive substring
    uniprot_id: str | None = None
    proposal: str | None = None
    visit: str | None = None
    beamline: str | None = None
    experiment_type: str | None = None
    start_after: dt.datetime | None = None
    start_before: dt.datetime | None = None
    resolution_better_than: float | None = None  # Å; best result's overall resolutionHigh <= this
    space_group: str | None = None  # of the best processing result
    # Samples named by another system (the hub's LIMS search): crystal UUID in the first list OR pin
    # barcode in the second. Either given (even empty) restricts; both empty matches nothing.
    any_crystal_uuid: tuple[str, ...] | None = None
    any_sample_barcode: tuple[str, ...] | None = None
    cell: UnitCellMatch | None = None  # a successful processing result's cell within tolerance
    # Only the caller's collections (DataCollectionFilter.mine): the rule in site_adapter/access.py.
    mine: Ownership | None = None
    has_doi: bool | None = None  # True: a DOI covers it (its own, its data set's or its session's)
    pdb_id: str | None = None  # upper case; linked through its protein or its processing results

    @property
    def has_sample_keys(self) -> bool:
        return self.any_crystal_uuid is not None or self.any_sample_barcode is not None


@dataclass(frozen=True, slots=True)
class SampleFilter:
    name: str | None = None
    barcode: str | None = None
    crystal_uuid: str | None = None
    protein_acronym: str | None = None
    proposal: str | None = None


@dataclass(frozen=True, slots=True)
class ProteinFilter:
    acronym: str | None = None
    name: str | None = None  # case-insensitive substring
    uniprot_id: str | None = None
    proposal: str | None = None


@dataclass(frozen=True, slots=True)
class SessionFilter:
    proposal: str | None = None
    visit: str | None = None
    beamline: str | None = None
    start_after: dt.datetime | None = None
    start_before: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class ProposalFilter:
    code: str | None = None


@dataclass(frozen=True, slots=True)
class PageRequest:
    first: int
    after: SortKey | None = None
    # dataCollections(orderBy:) (since 1.2.0); None is the connection's default order.
    order: SortOrder | None = None
    # False when the caller selected neither totalCount nor totalCountKind: a backend may skip counting
    # (Page.total_count 0).
    count: bool = True


class CountKind(enum.Enum):
    """How a page's total_count was obtained (issue 17): counted, or estimated because counting every
    match would cost more than the store allows (an estimate is never below the matches counted)."""

    EXACT = "EXACT"
    ESTIMATE = "ESTIMATE"


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[tuple[SortKey, T]]
    has_next_page: bool
    total_count: int
    count_kind: CountKind = CountKind.EXACT


@runtime_checkable
class Backend(Protocol):
    """A site's store. Every method is one round trip (or a fixed few) whatever the batch size."""

    kind: str  # "native" or "ispyb": reported as provenance

    @property
    def time_zone(self) -> zoneinfo.ZoneInfo:
        """The facility's zone (docs/time.md): reported as provenance."""
        ...

    async def start(self) -> None: ...
    async def close(self) -> None: ...
    async def ping(self) -> None:
        """Raise BackendError when the store cannot answer."""
        ...

    # Root connections, each ordered as mx_schema.cursors.ORDERINGS says (dataCollections: or as
    # PageRequest.order says, site_adapter.query.Sort; since 1.2.0).
    async def data_collections(
        self, f: DataCollectionFilter, page: PageRequest
    ) -> Page[model.DataCollection]: ...
    async def samples(self, f: SampleFilter, page: PageRequest) -> Page[model.Sample]: ...
    async def proteins(self, f: ProteinFilter, page: PageRequest) -> Page[model.Protein]: ...
    async def sessions(self, f: SessionFilter, page: PageRequest) -> Page[model.Session]: ...
    async def proposals(self, f: ProposalFilter, page: PageRequest) -> Page[model.Proposal]: ...

    # Batch lookups by local id, for DataLoaders: missing ids are simply absent from the result.
    async def data_collections_by_id(self, ids: Sequence[str]) -> dict[str, model.DataCollection]: ...
    async def sessions_by_id(self, ids: Sequence[str]) -> dict[str, model.Session]: ...
    async def proposals_by_id(self, ids: Sequence[str]) -> dict[str, model.Proposal]: ...
    async def samples_by_id(self, ids: Sequence[str]) -> dict[str, model.Sample]: ...
    async def crystals_by_id(self, ids: Sequence[str]) -> dict[str, model.Crystal]: ...
    async def proteins_by_id(self, ids: Sequence[str]) -> dict[str, model.Protein]: ...
    async def detectors_by_id(self, ids: Sequence[str]) -> dict[str, model.Detector]: ...
    async def groups_by_id(self, ids: Sequence[str]) -> dict[str, model.DataCollectionGroup]: ...
    async def processing_by_collection(
        self, ids: Sequence[str]
    ) -> dict[str, list[model.ProcessingResult]]: ...
    async def processing_results_by_id(self, ids: Sequence[str]) -> dict[str, model.ProcessingResult]:
        """For node(id): a result is visible when its data collection is (the GraphQL layer checks that)."""
        ...

    async def data_collection_ids_by_sample(self, sample_ids: Sequence[str]) -> dict[str, list[str]]: ...

    # Grid scans and downstream results (issue 16): one statement per relation per batch. Every
    # collection or result asked for gets an entry (None or an empty list when it has none).
    async def grids_by_collection(self, ids: Sequence[str]) -> dict[str, model.GridScan | None]: ...
    async def image_quality_by_collection(
        self, ids: Sequence[str]
    ) -> dict[str, list[model.ImageQuality]]: ...
    async def xray_centring_by_collection(
        self, ids: Sequence[str]
    ) -> dict[str, list[model.XrayCentringResult]]: ...
    async def integrations_by_result(self, ids: Sequence[str]) -> dict[str, list[model.Integration]]: ...
    async def mr_runs_by_result(self, ids: Sequence[str]) -> dict[str, list[model.MrRun]]: ...
    async def phasing_by_result(self, ids: Sequence[str]) -> dict[str, list[model.Phasing]]: ...
    # Result files, program messages and snapshots (since 1.2.0, issue 16). They carry no access rule of
    # their own: each is as visible as its data collection, which the caller checks (docs/files.md).
    async def files_by_processing(self, ids: Sequence[str]) -> dict[str, list[model.ResultFile]]: ...
    async def messages_by_processing(self, ids: Sequence[str]) -> dict[str, list[model.ProgramMessage]]: ...
    async def snapshots_by_collection(self, ids: Sequence[str]) -> dict[str, list[model.Snapshot]]: ...
    async def files_by_id(self, ids: Sequence[str]) -> dict[str, model.ResultFile]: ...
    async def snapshots_by_id(self, ids: Sequence[str]) -> dict[str, model.Snapshot]: ...


@runtime_checkable
class ScreeningBackend(Protocol):
    """Characterisation, energy scans, XRF spectra and diffraction plans (issue 16, since 1.2.0).

    A separate seam so a store without these tables (or a test's small backend) still is a Backend;
    each method is one statement (or a fixed few) per batch, and every id asked for gets an entry.
    """

    async def screenings_by_collection(self, ids: Sequence[str]) -> dict[str, list[model.Screening]]: ...
    async def energy_scans_by_session(self, ids: Sequence[str]) -> dict[str, list[model.EnergyScan]]: ...
    async def energy_scans_by_sample(self, ids: Sequence[str]) -> dict[str, list[model.EnergyScan]]: ...
    async def xrf_spectra_by_session(self, ids: Sequence[str]) -> dict[str, list[model.XrfSpectrum]]: ...
    async def xrf_spectra_by_sample(self, ids: Sequence[str]) -> dict[str, list[model.XrfSpectrum]]: ...
    async def diffraction_plans_by_sample(self, ids: Sequence[str]) -> dict[str, model.DiffractionPlan]:
        """A sample's plan: its own, else its crystal's (ISPyB BLSample/Crystal.diffractionPlanId)."""
        ...

    async def diffraction_plans_by_collection(self, ids: Sequence[str]) -> dict[str, model.DiffractionPlan]:
        """The plan a collection was made under (ISPyB DataCollection.dataCollectionPlanId)."""
        ...


@runtime_checkable
class IdentifierStore(Protocol):
    """What a backend that knows identifiers (DOIs, PDB entries, archive links; issue 19) adds to
    Backend. A separate seam so that a backend without them (a test double) still is a Backend: the
    GraphQL layer answers "none" for a store that does not implement it. Access follows the records
    they hang on: callers ask only about collections, sessions and proteins they could load."""

    async def dois_by_collection(self, ids: Sequence[str]) -> dict[str, model.Doi]:
        """A collection's own DOI, else its data set's (collection group's); absent: none."""
        ...

    async def dois_by_session(self, ids: Sequence[str]) -> dict[str, model.Doi]: ...
    async def pdb_entries_by_protein(self, ids: Sequence[str]) -> dict[str, list[model.PdbEntry]]: ...
    async def pdb_entries_by_collection(self, ids: Sequence[str]) -> dict[str, list[model.PdbEntry]]:
        """Entries linked to the collection's processing results (not those of its protein)."""
        ...

    async def archive_links_by_collection(self, ids: Sequence[str]) -> dict[str, list[model.ArchiveLink]]: ...


@dataclass(frozen=True, slots=True)
class ProteinGroup:
    """Distinct proteins (since 1.2.0, docs/proteins.md): this site's proteins that share a group key.

    `kind` is "UNIPROT" (key: the smallest of a protein's UniProt accessions, trimmed, upper case) or
    "ACRONYM" (key: the acronym upper-cased, trimmed, runs of white space made one space; "" for none).
    """

    kind: str
    key: str
    count: int  # member proteins at this site
    acronym: str | None  # the smallest member acronym, by code point
    name: str | None  # the smallest member name, by code point
    uniprot_ids: tuple[str, ...]  # every member's accessions, trimmed, upper case, each once, sorted
    member_ids: tuple[str, ...]  # local ids, ascending


@runtime_checkable
class ProteinGroupBackend(Protocol):
    """A store that groups its proteins (one GROUP BY per page); a Backend without it serves no
    distinctProteins. Groups come ordered by (kind, key) by code point; PageRequest.after is a
    (kind, key) position (mx_schema.cursors.decode_group_cursor)."""

    async def protein_groups(self, f: ProteinFilter, page: PageRequest) -> Page[ProteinGroup]: ...


class FacetField(enum.Enum):
    """What dataCollectionFacets groups by (since 1.2.0, docs/facets.md): each the value its filter term
    takes, so a facet value set as that term matches the records it counted."""

    BEAMLINE = "beamline"  # the filter's `beamline`
    EXPERIMENT_TYPE = "experiment_type"
    SPACE_GROUP = "space_group"  # the best result's, spaces removed and upper case (the term's key)
    PROTEIN = "protein"  # the protein's acronym (the term `protein_acronym`)


@dataclass(frozen=True, slots=True)
class FacetValue:
    value: str | None  # None: records without one
    count: int  # records
    kind: CountKind


@dataclass(frozen=True, slots=True)
class FacetCounts:
    """One field's most frequent values among a filter's matches: count descending, then value by code
    point (None last), at most the `first` asked for."""

    field: FacetField
    values: tuple[FacetValue, ...]


def top_values(values: Sequence[FacetValue], first: int) -> tuple[FacetValue, ...]:
    """The facet order (count descending, then value by code point, None last), cut to `first`; the one
    order every backend and the hub use."""
    ordered = sorted(values, key=lambda v: (-v.count, v.value is None, v.value or ""))
    return tuple(ordered[:first])


@runtime_checkable
class FacetBackend(Protocol):
    """A store that counts a data-collection filter's matches by value (dataCollectionFacets, since
    1.2.0): one or a fixed few statements for all fields; the access rule applies exactly as for pages."""

    async def data_collection_facets(
        self, f: DataCollectionFilter, fields: Sequence[FacetField], first: int
    ) -> list[FacetCounts]: ...
