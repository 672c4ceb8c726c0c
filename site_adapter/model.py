"""The common model every backend returns: frozen records in canonical units.

Units are converted once, in the backend that reads a store; nothing above this layer converts.
Canonical units: wavelength Å, distances and beam centre mm, angles degrees, exposure s,
transmission %, flux photons/s, beam size µm, pixel size mm, CC½ a fraction 0-1, completeness %.
Local ids are the store's own keys as strings; they never leave the site without the site's name.
Rows become records by name (from_row): a store's column labels are the model's field names.
"""

from __future__ import annotations

import datetime as dt
import functools
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class ExternalId:
    """One identity of a sample in another system (crystal UUID, pin barcode, plate well...)."""

    system: str
    kind: str
    value: str


@dataclass(frozen=True, slots=True)
class UnitCell:
    a: float
    b: float
    c: float
    alpha: float
    beta: float
    gamma: float


@dataclass(frozen=True, slots=True)
class Proposal:
    local_id: str
    code: str  # e.g. "cm14451": proposal code and number joined, as users type it
    title: str | None = None
    person_logins: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Session:
    local_id: str
    proposal_local_id: str
    proposal: str  # proposal code, e.g. "cm14451"
    visit: str  # e.g. "cm14451-1"
    visit_number: int | None
    beamline: str | None
    start_time: dt.datetime | None
    end_time: dt.datetime | None


@dataclass(frozen=True, slots=True)
class Protein:
    local_id: str
    acronym: str | None
    name: str | None
    uniprot_ids: tuple[str, ...] = ()
    sequence_hash: str | None = None  # hex SHA-256 of the one-letter sequence, upper case, no spaces
    proposal_local_id: str | None = None


@dataclass(frozen=True, slots=True)
class Crystal:
    local_id: str
    uuid: str | None
    space_group: str | None
    cell: UnitCell | None
    protein_local_id: str | None


@dataclass(frozen=True, slots=True)
class Sample:
    local_id: str
    name: str | None
    barcode: str | None
    container_code: str | None
    position: int | None
    crystal_local_id: str | None
    protein_local_id: str | None
    proposal_local_id: str | None = None
    external_ids: tuple[ExternalId, ...] = ()


@dataclass(frozen=True, slots=True)
class Detector:
    local_id: str
    manufacturer: str | None
    model: str | None
    serial_number: str | None
    pixel_size_x: float | None  # mm
    pixel_size_y: float | None  # mm
    number_of_pixels_x: int | None = None
    number_of_pixels_y: int | None = None
    sensor_material: str | None = None
    sensor_thickness: float | None = None  # mm
    roi_pixels_x: int | None = None  # pixels read out in a region-of-interest mode (ISPyB numberOfROIPixelsX)
    roi_pixels_y: int | None = None


@dataclass(frozen=True, slots=True)
class DataCollectionGroup:
    local_id: str
    session_local_id: str | None
    sample_local_id: str | None
    experiment_type: str | None
    start_time: dt.datetime | None = None
    end_time: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class ShellStatistics:
    resolution_low: float | None = None  # Å
    resolution_high: float | None = None  # Å
    completeness: float | None = None  # %
    multiplicity: float | None = None
    mean_i_over_sig_i: float | None = None
    cc_half: float | None = None  # fraction 0-1
    cc_anomalous: float | None = None
    r_merge: float | None = None  # fraction
    r_meas: float | None = None  # fraction
    r_pim: float | None = None  # fraction
    n_total_observations: int | None = None
    n_total_unique: int | None = None
    anomalous_completeness: float | None = None  # %
    anomalous_multiplicity: float | None = None


@dataclass(frozen=True, slots=True)
class ProcessingResult:
    local_id: str
    data_collection_local_id: str
    program: str | None  # e.g. "fast_dp", "xia2 dials", "autoPROC"
    status: str  # SUCCESS | FAILED | RUNNING | UNKNOWN
    space_group: str | None
    cell: UnitCell | None
    overall: ShellStatistics | None
    inner: ShellStatistics | None
    outer: ShellStatistics | None
    start_time: dt.datetime | None = None
    end_time: dt.datetime | None = None
    anomalous: bool | None = None
    # Where each normalised value came from, e.g. ("ccHalf: percent in store, divided by 100",)
    provenance_notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DataCollection:
    local_id: str
    group_local_id: str | None
    session_local_id: str | None
    sample_local_id: str | None
    detector_local_id: str | None
    experiment_type: str | None  # e.g. "OSC" (rotation), "Mesh" (grid scan), "SAD", "Characterization"
    start_time: dt.datetime | None
    end_time: dt.datetime | None
    run_status: str | None
    image_directory: str | None
    file_template: str | None  # e.g. "thau_3_2_####.cbf"; '#' stands for the image number's digits
    start_image_number: int | None
    number_of_images: int | None
    wavelength: float | None  # Å
    detector_distance: float | None  # mm
    beam_centre_x: float | None  # mm
    beam_centre_y: float | None  # mm
    axis_start: float | None  # degrees
    axis_end: float | None  # degrees
    axis_range: float | None  # degrees per image
    overlap: float | None  # degrees
    rotation_axis: str | None  # Omega | Kappa | Phi
    exposure_time: float | None  # s
    transmission: float | None  # %
    flux: float | None  # photons/s
    beam_size_x: float | None  # µm
    beam_size_y: float | None  # µm
    resolution: float | None  # Å at the detector edge
    detector_2theta: float | None = None  # degrees
    kappa_start: float | None = None  # degrees
    phi_start: float | None = None  # degrees
    chi_start: float | None = None  # degrees
    omega_start: float | None = None  # degrees
    comments: str | None = None
    provenance_notes: tuple[str, ...] = field(default=())


@functools.cache
def scalar_types(cls: type) -> dict[str, type]:
    """Each field of a model class with its scalar type (`float | None` -> float); fields of other
    types (tuples, nested records) are left out."""
    out: dict[str, type] = {}
    for name, hint in typing.get_type_hints(cls).items():
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        base = args[0] if isinstance(hint, types.UnionType) and len(args) == 1 else hint
        if base in (str, int, float, bool, dt.datetime):
            out[name] = base
    return out


def _label(name: str) -> str:
    """The column label of a field: local ids are a store's ids (`local_id` -> id, `sample_local_id` -> sample_id)."""
    return name.removesuffix("local_id") + "id" if name.endswith("local_id") else name


def from_row(
    cls: Callable[..., R],
    row: Mapping[str, Any],
    convert: Mapping[type, Callable[[Any], Any]] | None = None,
    id_of: Callable[[Any], str | None] | None = None,
    /,
    **given: Any,
) -> R:
    """A record of the model class `cls` from a row read by name: each scalar field from the column
    of its label (see _label) when the row has it, converted by its type (`convert`, e.g. a store's
    quirk normalisers) and local ids by `id_of` (default: a string, or None); `given` fields win."""
    kind = typing.cast(type, cls)
    values: dict[str, Any] = {}
    labels = set(row.keys())  # an asyncpg Record's `in` looks at values, not labels
    for name, base in scalar_types(kind).items():
        label = _label(name)
        if name in given or label not in labels:
            continue
        value = row[label]
        if name.endswith("local_id"):
            value = id_of(value) if id_of is not None else (None if value is None else str(value))
        elif convert is not None and base in convert:
            value = convert[base](value)
        values[name] = value
    names = {f.name for f in fields(kind)}
    return cls(**values, **{k: v for k, v in given.items() if k in names})


# --- identifiers (issue 19): what a data set is cited, deposited and archived by ---------------


@dataclass(frozen=True, slots=True)
class Doi:
    """A DOI minted for a session, a data set (a collection group) or one collection.

    `doi` is the bare name ("10.15151/ESRF-ES-90632078"), never a resolver URL; `open_from` is when the
    data become open (the end of the embargo), None when the facility did not say."""

    doi: str
    level: str  # "session" | "dataset" | "collection"
    owner_local_id: str  # the session's, group's or collection's local id
    licence: str | None = None  # an SPDX id ("CC-BY-4.0") or a licence URL, as the facility gives it
    open_from: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class PdbEntry:
    """A PDB entry (or a model, e.g. an AlphaFold prediction, with no PDB code) linked to a protein or to
    a processing result of a collection."""

    local_id: str
    pdb_id: str | None  # the 4-character PDB code, upper case; None for a model with no code
    relation: str  # "protein" (registered for the protein) | "processing" (matched to a result)
    name: str | None = None
    title: str | None = None
    source: str | None = None  # e.g. "AlphaFold" for a predicted model
    resolution: float | None = None  # Å
    owner_local_id: str | None = None  # the protein's or the processing result's local id


@dataclass(frozen=True, slots=True)
class ArchiveLink:
    """Where a collection's raw data are archived (a landing page or a download URL)."""

    url: str
    kind: str | None = None  # e.g. "landing-page", "download", "globus"
    open_from: dt.datetime | None = None
