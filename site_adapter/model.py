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
    dose: float | None = None  # MGy absorbed (since 1.2.0); ISPyB has no MX dose column (docs/screening.md)


@dataclass(frozen=True, slots=True)
class ResultFile:
    """A file a processing program wrote (log, result, graph...), as the store records it (issue 16).

    `directory` and `name` are the store's words, not a checked path: the site's file roots decide what
    it serves (site_adapter.files)."""

    local_id: str
    processing_local_id: str  # the ProcessingResult it belongs to
    data_collection_local_id: str  # whose access rule it obeys
    name: str
    directory: str | None
    kind: str | None  # Log | Result | Graph | Debug | Input (ISPyB AutoProcProgramAttachment.fileType)
    importance: int | None = None  # higher is more important, within one program and kind
    recorded: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class ProgramMessage:
    """A message a processing program left (ISPyB AutoProcProgramMessage): why a run failed or warned."""

    local_id: str
    processing_local_id: str
    severity: str  # ERROR | WARNING | INFO
    message: str | None
    description: str | None
    time: dt.datetime | None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A crystal snapshot (on-axis camera image) taken for a data collection, by its path in the store."""

    local_id: str
    data_collection_local_id: str
    position: int  # 1..4: ISPyB's xtalSnapshotFullPath1..4, usually at 0/90/180/270 degrees
    path: str


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
    build = _row_builder(
        kind,
        tuple(row.keys()),
        frozenset(given),
        None if convert is None else frozenset(convert),
        id_of is not None,
    )
    return build(row, convert, id_of, given)


@functools.cache
def _row_builder(
    kind: type, keys: tuple[str, ...], given: frozenset[str], converted: frozenset[type] | None, by_id: bool
) -> Callable[..., Any]:
    """from_row for one class, query shape, set of given fields and of converted types, written out
    once as a function (as dataclasses writes __init__): a page reads hundreds of rows (issue 17), and
    the loop over field names per row was most of the conversion's time."""
    namespace: dict[str, Any] = {"cls": kind, "_str": _str_or_none}
    args = []
    for name, label, base, is_id in _row_plan(kind, keys):
        if name in given:
            continue
        value = f"row[{label!r}]"
        if is_id:
            value = f"id_of({value})" if by_id else f"_str({value})"
        elif converted is not None and base in converted:
            namespace[f"t_{name}"] = base
            value = f"convert[t_{name}]({value})"
        args.append(f"{name}={value}")
    args += [f"{name}=given[{name!r}]" for name in sorted(given & _field_names(kind))]
    source = f"def build(row, convert, id_of, given):\n    return cls({', '.join(args)})\n"
    exec(compile(source, f"<from_row {kind.__name__}>", "exec"), namespace)  # noqa: S102 - field names
    return namespace["build"]


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


@functools.cache
def _row_plan(kind: type, keys: tuple[str, ...]) -> tuple[tuple[str, str, type, bool], ...]:
    """(field, column label, scalar type, is a local id) of each field `from_row` reads from a row with
    these column labels: worked out once per class and query shape, not per row (issue 17)."""
    labels = set(keys)  # an asyncpg Record's `in` looks at values, not labels: hence its keys
    return tuple(
        (name, _label(name), base, name.endswith("local_id"))
        for name, base in scalar_types(kind).items()
        if _label(name) in labels
    )


@functools.cache
def _field_names(kind: type) -> frozenset[str]:
    return frozenset(f.name for f in fields(kind))


# --- grid scans, per-image quality, X-ray centring (issue 16; since schema 1.2.0) -------------------


@dataclass(frozen=True, slots=True)
class GridScan:
    """The raster of a grid (mesh) scan: one image per grid box, boxes step_size apart."""

    local_id: str
    data_collection_local_id: str | None
    steps_x: int | None  # boxes along x
    steps_y: int | None  # boxes along y
    step_size_x: float | None  # µm (ISPyB dx_mm is mm: converted in the backend)
    step_size_y: float | None  # µm
    orientation: str | None  # horizontal | vertical: the fast direction of the raster
    snaked: bool | None  # every other row collected in reverse
    microns_per_pixel_x: float | None  # µm per pixel of the sample snapshot
    microns_per_pixel_y: float | None
    snapshot_offset_x: float | None  # pixels: the grid's top-left corner on the snapshot
    snapshot_offset_y: float | None
    mesh_angle: float | None = None  # degrees


@dataclass(frozen=True, slots=True)
class ImageQuality:
    """Spot finding on one image (ISPyB ImageQualityIndicators, e.g. DIALS per-image analysis)."""

    data_collection_local_id: str
    image_number: int
    spot_total: int | None = None
    in_resolution_total: int | None = None
    good_bragg_candidates: int | None = None
    ice_rings: int | None = None
    method1_resolution: float | None = None  # Å
    method2_resolution: float | None = None  # Å
    max_unit_cell: float | None = None  # Å
    total_integrated_signal: float | None = None  # detector counts
    dozor_score: float | None = None


@dataclass(frozen=True, slots=True)
class XrayCentringResult:
    """A crystal found in a grid scan, in grid-box (voxel) coordinates counted from 0."""

    local_id: str
    data_collection_local_id: str
    status: str | None  # SUCCESS | FAILED | PENDING
    kind: str | None  # 2d | 3d
    centre_of_mass_x: float | None = None  # grid boxes
    centre_of_mass_y: float | None = None
    centre_of_mass_z: float | None = None
    max_voxel_x: int | None = None  # grid boxes
    max_voxel_y: int | None = None
    max_voxel_z: int | None = None
    number_of_voxels: int | None = None
    total_count: float | None = None  # spots summed over the bounding box
    bounding_box_min_x: float | None = None  # grid boxes
    bounding_box_max_x: float | None = None
    bounding_box_min_y: float | None = None
    bounding_box_max_y: float | None = None
    bounding_box_min_z: float | None = None
    bounding_box_max_z: float | None = None


# --- integration geometry and downstream results (issue 16; since schema 1.2.0) --------------------


@dataclass(frozen=True, slots=True)
class Integration:
    """One integration a processing result scaled: its image range and refined geometry."""

    local_id: str
    processing_result_local_id: str
    data_collection_local_id: str
    program: str | None = None
    start_image_number: int | None = None
    end_image_number: int | None = None
    refined_detector_distance: float | None = None  # mm
    refined_beam_centre_x: float | None = None  # mm
    refined_beam_centre_y: float | None = None  # mm
    cell: UnitCell | None = None
    rotation_axis_x: float | None = None  # unit vector component, lab frame
    rotation_axis_y: float | None = None
    rotation_axis_z: float | None = None
    anomalous: bool | None = None


@dataclass(frozen=True, slots=True)
class MrRun:
    """Molecular replacement and refinement against a known model (ISPyB MXMRRun; Dimple at Diamond)."""

    local_id: str
    processing_result_local_id: str
    program: str | None
    status: str  # SUCCESS | FAILED | RUNNING | UNKNOWN
    message: str | None = None
    r_start: float | None = None  # fraction 0-1
    r_end: float | None = None  # fraction 0-1
    r_free_start: float | None = None  # fraction 0-1
    r_free_end: float | None = None  # fraction 0-1
    llg: float | None = None  # log-likelihood gain
    tfz: float | None = None  # translation-function Z-score
    space_group: str | None = None
    start_time: dt.datetime | None = None
    end_time: dt.datetime | None = None
    log_files: tuple[str, ...] = ()  # full paths
    provenance_notes: tuple[str, ...] = ()


# --- Characterisation, energy scans, XRF spectra, diffraction plans (issue 16, since 1.2.0) ---------
# A screening is a tree (screening -> outputs -> lattices, strategies -> wedges -> sub-wedges); each
# level is a record with its children as a tuple, so a backend reads each level once per batch.


@dataclass(frozen=True, slots=True)
class ScreeningLattice:
    local_id: str
    space_group: str | None
    point_group: str | None = None
    bravais_lattice: str | None = None
    cell: UnitCell | None = None


@dataclass(frozen=True, slots=True)
class ScreeningSubWedge:
    local_id: str
    number: int | None = None
    rotation_axis: str | None = None
    axis_start: float | None = None  # degrees
    axis_end: float | None = None  # degrees
    oscillation_range: float | None = None  # degrees per image
    exposure_time: float | None = None  # s per image
    transmission: float | None = None  # %
    completeness: float | None = None  # %
    multiplicity: float | None = None
    resolution: float | None = None  # Å
    dose: float | None = None  # MGy
    number_of_images: int | None = None
    comments: str | None = None


@dataclass(frozen=True, slots=True)
class ScreeningWedge:
    local_id: str
    number: int | None = None
    resolution: float | None = None  # Å
    completeness: float | None = None  # %
    multiplicity: float | None = None
    dose: float | None = None  # MGy
    number_of_images: int | None = None
    phi: float | None = None  # degrees
    kappa: float | None = None  # degrees
    chi: float | None = None  # degrees
    wavelength: float | None = None  # Å
    comments: str | None = None
    sub_wedges: tuple[ScreeningSubWedge, ...] = ()


@dataclass(frozen=True, slots=True)
class ScreeningStrategy:
    local_id: str
    program: str | None
    anomalous: bool | None = None
    exposure_time: float | None = None  # s per image
    resolution: float | None = None  # Å
    ranking_resolution: float | None = None  # Å
    transmission: float | None = None  # %
    phi_start: float | None = None  # degrees
    phi_end: float | None = None  # degrees
    rotation: float | None = None  # degrees per image
    completeness: float | None = None  # %
    multiplicity: float | None = None
    wedges: tuple[ScreeningWedge, ...] = ()


@dataclass(frozen=True, slots=True)
class ScreeningOutput:
    local_id: str
    status_description: str | None = None
    program: str | None = None
    indexing_success: bool | None = None
    strategy_success: bool | None = None
    alignment_success: bool | None = None
    mosaicity: float | None = None  # degrees
    mosaicity_estimated: bool | None = None
    ranking_resolution: float | None = None  # Å
    resolution_obtained: float | None = None  # Å
    i_over_sigma: float | None = None
    spot_deviation_r: float | None = None  # mm
    spot_deviation_theta: float | None = None  # degrees
    beam_shift_x: float | None = None  # mm
    beam_shift_y: float | None = None  # mm
    spots_found: int | None = None
    spots_used: int | None = None
    spots_rejected: int | None = None
    rejected_reflections: int | None = None
    diffraction_rings: bool | None = None
    dose: float | None = None  # MGy, of the proposed strategy
    total_exposure_time: float | None = None  # s
    total_rotation_range: float | None = None  # degrees
    total_number_of_images: int | None = None
    r_friedel: float | None = None  # fraction
    lattices: tuple[ScreeningLattice, ...] = ()
    strategies: tuple[ScreeningStrategy, ...] = ()


@dataclass(frozen=True, slots=True)
class Screening:
    """A characterisation of a data collection's images (EDNA, mosflm...): what the crystal is and how
    to collect it."""

    local_id: str
    data_collection_local_id: str
    program: str | None  # e.g. "EDNA MXv1", "mosflm"
    short_comments: str | None = None  # e.g. "EDNAStrategy1"
    comments: str | None = None
    time: dt.datetime | None = None
    outputs: tuple[ScreeningOutput, ...] = ()
    provenance_notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Phasing:
    """Experimental phasing of a processing result (ISPyB Phasing; fast_ep / SHELXE at Diamond)."""

    local_id: str
    processing_result_local_id: str
    program: str | None
    status: str  # SUCCESS | FAILED | RUNNING | UNKNOWN
    method: str | None = None  # e.g. "SAD", "shelxe"
    space_group: str | None = None
    resolution_low: float | None = None  # Å
    resolution_high: float | None = None  # Å
    figure_of_merit: float | None = None  # fraction 0-1
    pseudo_free_cc: float | None = None  # % (SHELXE prints it in %)
    enantiomorph: bool | None = None  # the inverted hand was chosen
    solvent_content: float | None = None  # fraction 0-1
    start_time: dt.datetime | None = None
    end_time: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class EnergyScan:
    """A fluorescence scan across an absorption edge (MAD/SAD), with the f' and f'' Chooch derived."""

    local_id: str
    session_local_id: str | None
    sample_local_id: str | None
    element: str | None = None
    edge: str | None = None  # K, L1, L2, L3...
    start_energy: float | None = None  # eV
    end_energy: float | None = None  # eV
    peak_energy: float | None = None  # eV
    peak_f_prime: float | None = None  # electrons
    peak_f_double_prime: float | None = None  # electrons
    inflection_energy: float | None = None  # eV
    inflection_f_prime: float | None = None  # electrons
    inflection_f_double_prime: float | None = None  # electrons
    exposure_time: float | None = None  # s
    transmission: float | None = None  # %
    beam_size_x: float | None = None  # µm
    beam_size_y: float | None = None  # µm
    flux: float | None = None  # photons/s
    dose: float | None = None  # MGy
    fluorescence_detector: str | None = None
    start_time: dt.datetime | None = None
    end_time: dt.datetime | None = None
    comments: str | None = None
    scan_file: str | None = None  # the raw scan (fluorescence counts against energy)
    chooch_file: str | None = None  # Chooch's f'/f'' output
    chooch_plot_file: str | None = None
    provenance_notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class XrfSpectrum:
    """An X-ray fluorescence spectrum at one energy: which elements the sample holds."""

    local_id: str
    session_local_id: str | None
    sample_local_id: str | None
    energy: float | None = None  # eV
    exposure_time: float | None = None  # s
    transmission: float | None = None  # %
    beam_size_x: float | None = None  # µm
    beam_size_y: float | None = None  # µm
    flux: float | None = None  # photons/s
    start_time: dt.datetime | None = None
    end_time: dt.datetime | None = None
    comments: str | None = None
    spectrum_file: str | None = None  # the MCA spectrum
    scan_file: str | None = None
    fitted_file: str | None = None  # PyMca's fit
    annotated_file: str | None = None  # PyMca's annotated spectrum (elements named)
    plot_file: str | None = None
    elements: tuple[str, ...] = ()  # annotated elements, where the store lists them
    provenance_notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DiffractionPlan:
    """What the user asked the beamline to collect for a sample."""

    local_id: str
    name: str | None = None
    experiment_kind: str | None = None  # e.g. "OSC", "SAD", "MAD", "MXPressE"
    required_resolution: float | None = None  # Å
    required_completeness: float | None = None  # %
    required_multiplicity: float | None = None
    anomalous: bool | None = None
    anomalous_scatterer: str | None = None
    preferred_beam_size_x: float | None = None  # µm
    preferred_beam_size_y: float | None = None  # µm
    radiation_sensitivity: float | None = None
    number_of_positions: int | None = None
    exposure_time: float | None = None  # s
    energy: float | None = None  # eV
    forced_space_group: str | None = None
    comments: str | None = None


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
