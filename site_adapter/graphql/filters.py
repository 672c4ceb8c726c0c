"""Filter input types and their translation to backend filters, validating values on the way."""

from __future__ import annotations

import datetime as dt
import re

import strawberry

from mx_schema.errors import ContractError
from mx_schema.vocabulary import EXPERIMENT_TYPES, canonical_experiment_type
from site_adapter import access
from site_adapter.backends import base

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_UNIPROT = re.compile(
    r"^([OPQ][0-9][A-Z0-9]{3}[0-9]|[A-NR-Z][0-9]([A-Z][A-Z0-9]{2}[0-9]){1,2})$"
)  # UniProt's own pattern
_PROPOSAL = re.compile(r"^[A-Za-z]{1,8}\d{1,8}$")
_VISIT = re.compile(r"^[A-Za-z]{1,8}\d{1,8}-\d{1,6}$")
MAX_TEXT = 200


# The time bounds compare instants (docs/time.md), whatever zone the facility keeps its clock in.
START_AFTER = (
    "Started at or after this instant. Give an offset (`2021-10-31T01:30:00+01:00`); a time without "
    "one is read as UTC."
)
START_BEFORE = "Started strictly before this instant (offset as for startAfter); a record with no start time never matches."


@strawberry.input(
    description="Samples named by another system: crystal UUID in one list OR pin barcode in the other."
)
class SampleKeys:
    crystal_uuids: list[str] = strawberry.field(default_factory=list)
    barcodes: list[str] = strawberry.field(default_factory=list)


MAX_SAMPLE_KEYS = 20000


@strawberry.input(description="A unit cell to match a processing result's cell against, within tolerances.")
class UnitCellFilter:
    a: float = strawberry.field(description="Unit: Å.")
    b: float = strawberry.field(description="Unit: Å.")
    c: float = strawberry.field(description="Unit: Å.")
    alpha: float = strawberry.field(description="Unit: degrees.")
    beta: float = strawberry.field(description="Unit: degrees.")
    gamma: float = strawberry.field(description="Unit: degrees.")
    length_tolerance: float = strawberry.field(default=1.0, description="Unit: % of each length.")
    angle_tolerance: float = strawberry.field(default=1.0, description="Unit: degrees.")


@strawberry.input(description="Filters on data collections; all given filters must hold.")
class DataCollectionFilter:
    sample_name: str | None = None
    sample_barcode: str | None = None
    crystal_uuid: str | None = None
    protein_acronym: str | None = None
    protein_name: str | None = strawberry.field(default=None, description="Case-insensitive substring.")
    uniprot_id: str | None = None
    proposal: str | None = strawberry.field(default=None, description="Proposal code, e.g. `cm14451`.")
    visit: str | None = strawberry.field(default=None, description="Visit, e.g. `cm14451-1`.")
    beamline: str | None = None
    experiment_type: str | None = None
    start_after: dt.datetime | None = strawberry.field(default=None, description=START_AFTER)
    start_before: dt.datetime | None = strawberry.field(default=None, description=START_BEFORE)
    resolution_better_than: float | None = strawberry.field(
        default=None, description="Unit: Å. Best processing result's overall resolutionHigh at or below this."
    )
    space_group: str | None = strawberry.field(
        default=None, description="Of the best processing result; spaces ignored."
    )
    cell: UnitCellFilter | None = strawberry.field(
        default=None,
        description="Only collections with a successful processing result whose cell is within tolerance.",
    )
    sample_keys: SampleKeys | None = strawberry.field(
        default=None,
        description="Only samples with one of these crystal UUIDs or pin barcodes (the hub's LIMS search).",
    )
    mine: bool | None = strawberry.field(
        default=None,
        description=(
            "True: only the caller's collections: of proposals or sessions the caller is a member of, or of "
            "beamlines the caller is staff for (`staff:*`: every beamline). Needs a signed-in caller: an "
            "anonymous caller, or a site without access control, gets an UNAUTHENTICATED error. "
            "False or null: no restriction."
        ),
    )
    has_doi: bool | None = strawberry.field(
        default=None,
        description="True: only collections a DOI cites (their own, their data set's or their session's); "
        "false: only those none cites (since 1.2.0).",
    )
    pdb_id: str | None = strawberry.field(
        default=None,
        description="Only collections linked to this PDB entry (e.g. `1ABC`), through their protein or their "
        "processing results; case-insensitive (since 1.2.0).",
    )


@strawberry.input
class SampleFilter:
    name: str | None = None
    barcode: str | None = None
    crystal_uuid: str | None = None
    protein_acronym: str | None = None
    proposal: str | None = None


@strawberry.input
class ProteinFilter:
    acronym: str | None = None
    name: str | None = strawberry.field(default=None, description="Case-insensitive substring.")
    uniprot_id: str | None = None
    proposal: str | None = None


@strawberry.input
class SessionFilter:
    proposal: str | None = None
    visit: str | None = None
    beamline: str | None = None
    start_after: dt.datetime | None = strawberry.field(default=None, description=START_AFTER)
    start_before: dt.datetime | None = strawberry.field(default=None, description=START_BEFORE)


@strawberry.input
class ProposalFilter:
    code: str | None = None


def _instant(value: dt.datetime | None) -> dt.datetime | None:
    """A filter time as an instant (aware UTC; without an offset it is UTC, docs/time.md), as every
    backend compares it. An offset that carries it past year 9999 or before year 1
    ("9999-12-31T23:59:59-14:00") clamps to the end of the range instead of overflowing (an INTERNAL
    error once): no record lies beyond it either way."""
    if value is None:
        return None
    try:
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    except OverflowError:
        return (dt.datetime.max if value.year > 5000 else dt.datetime.min).replace(tzinfo=dt.UTC)


def _text(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    if len(value) > MAX_TEXT or "\x00" in value:
        raise ContractError(f"`{name}` is too long or contains a NUL character")
    return value


def _match(name: str, value: str | None, pattern: re.Pattern[str], example: str) -> str | None:
    value = _text(name, value)
    if value is not None and not pattern.match(value):
        raise ContractError(f"`{name}` {value!r} is not valid; expected something like {example!r}")
    return value


def to_data_collection_filter(f: DataCollectionFilter | None) -> base.DataCollectionFilter:
    if f is None:
        return base.DataCollectionFilter()
    experiment_type = _text("experimentType", f.experiment_type)
    if experiment_type is not None:
        known = canonical_experiment_type(experiment_type)
        if known is None:
            raise ContractError(
                f"unknown experimentType {experiment_type!r}; known values: {', '.join(EXPERIMENT_TYPES)}"
            )
        experiment_type = known
    if f.resolution_better_than is not None and not (0 < f.resolution_better_than < 1000):
        raise ContractError("`resolutionBetterThan` must be a positive number of Å")
    uniprot = _text("uniprotId", f.uniprot_id)
    if uniprot is not None and not _UNIPROT.match(uniprot.upper()):
        raise ContractError(f"`uniprotId` {uniprot!r} is not a UniProt accession (e.g. 'P00698')")
    return base.DataCollectionFilter(
        sample_name=_text("sampleName", f.sample_name),
        sample_barcode=_text("sampleBarcode", f.sample_barcode),
        crystal_uuid=_match("crystalUuid", f.crystal_uuid, _UUID, "0b0f5a4e-2f1c-4e57-9c1a-6d1f0e7b9a21"),
        protein_acronym=_text("proteinAcronym", f.protein_acronym),
        protein_name=_text("proteinName", f.protein_name),
        uniprot_id=uniprot.upper() if uniprot else None,
        proposal=_match("proposal", f.proposal, _PROPOSAL, "cm14451"),
        visit=_match("visit", f.visit, _VISIT, "cm14451-1"),
        beamline=_text("beamline", f.beamline),
        experiment_type=experiment_type,
        start_after=_instant(f.start_after),
        start_before=_instant(f.start_before),
        resolution_better_than=f.resolution_better_than,
        space_group=_text("spaceGroup", f.space_group),
        cell=_cell(f.cell),
        mine=access.ownership() if f.mine else None,
        has_doi=f.has_doi,
        pdb_id=_pdb_id(f.pdb_id),
        **_sample_keys(f.sample_keys),
    )


_PDB_ID = re.compile(r"^([0-9][A-Za-z0-9]{3}|pdb_[0-9]{4}[0-9][A-Za-z0-9]{3})$", re.IGNORECASE)


def _pdb_id(value: str | None) -> str | None:
    """A PDB code (`1abc`) or an extended id (`pdb_00001abc`), upper case as stored."""
    value = _match("pdbId", value, _PDB_ID, "1ABC")
    if value is None:
        return None
    value = value.upper()
    return value[8:] if value.startswith("PDB_0000") else value  # pdb_00001abc is 1abc


def _cell(c: UnitCellFilter | None) -> base.UnitCellMatch | None:
    if c is None:
        return None
    if min(c.a, c.b, c.c) <= 0 or not all(0 < x < 180 for x in (c.alpha, c.beta, c.gamma)):
        raise ContractError("`cell` needs positive lengths (Å) and angles between 0 and 180 degrees")
    if not (0 <= c.length_tolerance <= 50 and 0 <= c.angle_tolerance <= 30):
        raise ContractError("`cell` tolerances must be 0-50 % (lengths) and 0-30 degrees (angles)")
    return base.UnitCellMatch(c.a, c.b, c.c, c.alpha, c.beta, c.gamma, c.length_tolerance, c.angle_tolerance)


def _sample_keys(keys: SampleKeys | None) -> dict:
    if keys is None:
        return {}
    if len(keys.crystal_uuids) + len(keys.barcodes) > MAX_SAMPLE_KEYS:
        raise ContractError(f"`sampleKeys` names more than {MAX_SAMPLE_KEYS} samples; narrow the search")
    for u in keys.crystal_uuids:
        _match("sampleKeys.crystalUuids", u, _UUID, "0b0f5a4e-2f1c-4e57-9c1a-6d1f0e7b9a21")
    for b in keys.barcodes:
        _text("sampleKeys.barcodes", b)
    return {
        "any_crystal_uuid": tuple(u.lower() for u in keys.crystal_uuids),
        "any_sample_barcode": tuple(keys.barcodes),
    }


def to_sample_filter(f: SampleFilter | None) -> base.SampleFilter:
    if f is None:
        return base.SampleFilter()
    return base.SampleFilter(
        name=_text("name", f.name),
        barcode=_text("barcode", f.barcode),
        crystal_uuid=_match("crystalUuid", f.crystal_uuid, _UUID, "0b0f5a4e-2f1c-4e57-9c1a-6d1f0e7b9a21"),
        protein_acronym=_text("proteinAcronym", f.protein_acronym),
        proposal=_match("proposal", f.proposal, _PROPOSAL, "cm14451"),
    )


def to_protein_filter(f: ProteinFilter | None) -> base.ProteinFilter:
    if f is None:
        return base.ProteinFilter()
    uniprot = _text("uniprotId", f.uniprot_id)
    return base.ProteinFilter(
        acronym=_text("acronym", f.acronym),
        name=_text("name", f.name),
        uniprot_id=uniprot.upper() if uniprot else None,
        proposal=_match("proposal", f.proposal, _PROPOSAL, "cm14451"),
    )


def to_session_filter(f: SessionFilter | None) -> base.SessionFilter:
    if f is None:
        return base.SessionFilter()
    return base.SessionFilter(
        proposal=_match("proposal", f.proposal, _PROPOSAL, "cm14451"),
        visit=_match("visit", f.visit, _VISIT, "cm14451-1"),
        beamline=_text("beamline", f.beamline),
        start_after=_instant(f.start_after),
        start_before=_instant(f.start_before),
    )


def to_proposal_filter(f: ProposalFilter | None) -> base.ProposalFilter:
    if f is None:
        return base.ProposalFilter()
    return base.ProposalFilter(code=_match("code", f.code, _PROPOSAL, "cm14451"))
