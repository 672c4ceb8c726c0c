"""One experiment's geometry in canonical units, built from common-schema metadata and/or an image header.

Every unit and axis decision is taken here, once; the renderers only format. No file is read here.
Canonical: wavelength Å, distance and beam centre mm, pixel size mm, angles degrees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

from site_adapter import model
from site_adapter.reprocess.detectors import DetectorModel, Overrides, identify
from site_adapter.reprocess.spacegroups import space_group_number

# XDS's usual laboratory frame for a horizontal rotation axis along the detector's fast (x) axis, as in
# the ESRF ID29 XDS.INP (ROTATION_AXIS= 1 0 0) and dxtbx's default for miniCBF Pilatus/Eiger images.
# A beamline whose spindle turns the other way (or is vertical) sets rotation_axis in its overrides.
DEFAULT_ROTATION_AXIS = (1.0, 0.0, 0.0)
# A synchrotron undulator beam is ~99 % horizontally polarised (the Pilatus headers of every fixture
# say Polarization 0.99 / 0.990 / 0.999); used only when neither the header nor the site says otherwise.
DEFAULT_POLARIZATION = 0.99
# Metadata and header may disagree a little (rounding, refinement); note larger disagreements.
DISTANCE_TOLERANCE = 0.5  # mm
BEAM_TOLERANCE = 2.0  # pixels


class MissingGeometry(Exception):
    """The inputs lack what a processing program needs; `.missing` names each absent item."""

    def __init__(self, missing: list[str], subject: str = "this data collection") -> None:
        self.missing = list(missing)
        super().__init__(
            f"cannot write reprocessing input for {subject}: missing {', '.join(self.missing)}")


class HeaderLike(Protocol):
    """What the renderers use from site_adapter.indexer.cbf_header.CbfHeader (canonical units)."""

    detector: str | None
    wavelength: float | None
    detector_distance: float | None
    beam_x: float | None  # pixels, as in Beam_xy
    beam_y: float | None
    pixel_size_x: float | None  # mm
    pixel_size_y: float | None


@dataclass(frozen=True, slots=True)
class Geometry:
    """Everything the XDS, DIALS and MOSFLM renderers need, already resolved and in canonical units.

    beam_x/beam_y: mm from the outer corner of the first pixel along the image's fast (x) and slow (y)
    axes, i.e. the header's Beam_xy times the pixel size (how dxtbx reads miniCBF Beam_xy).
    """

    wavelength: float  # Å
    distance: float  # mm
    beam_x: float  # mm along the fast axis
    beam_y: float  # mm along the slow axis
    pixel_size_x: float  # mm
    pixel_size_y: float  # mm
    nx: int
    ny: int
    start_angle: float  # degrees, start of the first image
    oscillation: float  # degrees per image
    first_image: int
    number_of_images: int
    template: str  # file name template, '#' for each digit of the image number
    image_directory: str | None
    detector_name: str | None  # as the metadata or header spelled it
    detector_model: DetectorModel | None  # None: not in the library, renderers write generic output
    sensor_material: str | None
    sensor_thickness: float | None  # mm
    overload: int  # counts
    polarization: float  # fraction 0-1
    rotation_axis: tuple[float, float, float] = DEFAULT_ROTATION_AXIS
    two_theta: float = 0.0  # degrees; the detector swung about the laboratory x axis (see xds.py)
    mosflm_beam_order: str = "rotation-axis-first"
    space_group_number: int | None = None  # from the best processing result, when one is known
    unit_cell: tuple[float, float, float, float, float, float] | None = None
    cell_source: str | None = None  # e.g. "xia2 dials result 1234"
    notes: tuple[str, ...] = ()  # where contested values came from, and warnings

    @property
    def orgx(self) -> float:
        """XDS ORGX in pixels: the beam's fast-axis pixel coordinate, no half-pixel shift (see xds.py)."""
        return self.beam_x / self.pixel_size_x

    @property
    def orgy(self) -> float:
        return self.beam_y / self.pixel_size_y

    @property
    def last_image(self) -> int:
        return self.first_image + self.number_of_images - 1

    @property
    def known_detector(self) -> bool:
        return self.detector_model is not None

    @property
    def template_path(self) -> str:
        if not self.image_directory:
            return self.template
        return self.image_directory.rstrip("/") + "/" + self.template


_PRINTF = re.compile(r"%0?(\d+)d")


def normalise_template(template: str) -> str:
    """'#' templates from any spelling: ISPyB's 'x_####.cbf', ESRF's 'x_%04d.cbf', XDS's 'x_????.cbf'."""
    template = _PRINTF.sub(lambda m: "#" * int(m.group(1)), template)
    return template.replace("?", "#")


def template_from_filename(name: str) -> tuple[str, int] | None:
    """('thau_3_2_####.cbf', 1) from 'thau_3_2_0001.cbf.bz2': the last digit run before the extension."""
    base = name.rsplit("/", 1)[-1]
    for suffix in (".gz", ".bz2", ".xz"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
    m = re.match(r"^(.*?)(\d+)(\.[A-Za-z0-9]+)$", base)
    if m is None:
        return None
    prefix, digits, ext = m.groups()
    return f"{prefix}{'#' * len(digits)}{ext}", int(digits)


def _get(obj: Any, *names: str) -> Any:
    """The first attribute of `obj` that is present and not None (tolerates parser field renames)."""
    if obj is None:
        return None
    for name in names:
        value = getattr(obj, name, None)
        if value is not None:
            return value
    return None


def header_dimensions(header: Any) -> tuple[int | None, int | None]:
    """Image width and height in pixels from the header's MIME block, whatever the parser calls them."""
    dims = _get(header, "dimensions")
    if isinstance(dims, (tuple, list)) and len(dims) >= 2:
        return int(dims[0]), int(dims[1])
    fast = _get(header, "dimension_x", "size_fast", "fast_dimension", "nx", "width")
    slow = _get(header, "dimension_y", "size_slow", "slow_dimension", "ny", "height")
    return (int(fast) if fast else None, int(slow) if slow else None)


@dataclass
class _Draft:
    """Values gathered from the sources before validation; every field may still be None."""

    wavelength: float | None = None
    distance: float | None = None
    beam_x: float | None = None  # mm
    beam_y: float | None = None
    pixel_size_x: float | None = None
    pixel_size_y: float | None = None
    nx: int | None = None
    ny: int | None = None
    start_angle: float | None = None
    oscillation: float | None = None
    first_image: int | None = None
    number_of_images: int | None = None
    template: str | None = None
    image_directory: str | None = None
    detector_name: str | None = None
    serial_number: str | None = None
    sensor_material: str | None = None
    sensor_thickness: float | None = None
    thickness_source: str | None = None
    overload: int | None = None
    polarization: float | None = None
    two_theta: float | None = None


def _finish(d: _Draft, notes: list[str], overrides: Overrides | None, subject: str,
            best: model.ProcessingResult | None = None) -> Geometry:
    """Resolve the library model and site overrides, check completeness, and build the Geometry."""
    overrides = overrides if overrides is not None else Overrides()  # the site passes its own (see docs)
    lib = identify(d.detector_name, d.nx, d.ny)
    override = overrides.find(d.serial_number, lib.name if lib else d.detector_name)

    if lib is not None:
        d.nx, d.ny = d.nx or lib.nx, d.ny or lib.ny
        d.pixel_size_x = d.pixel_size_x or lib.pixel_size
        d.pixel_size_y = d.pixel_size_y or lib.pixel_size

    if lib is not None and lib.caveat:
        notes.append(lib.caveat)
    missing: list[str] = []
    if d.wavelength is None or d.wavelength <= 0:
        missing.append("wavelength")
    if d.detector_name is None and (d.pixel_size_x is None or d.nx is None):
        missing.append("detector")
    else:
        if d.pixel_size_x is None or d.pixel_size_y is None:
            missing.append("detector pixel size")
        if d.nx is None or d.ny is None:
            missing.append("detector size in pixels")
    if d.distance is None or d.distance <= 0:
        missing.append("detector distance")
    if d.beam_x is None or d.beam_y is None:
        missing.append("beam centre")
    if d.start_angle is None:
        missing.append("start angle")
    if d.oscillation is None:
        missing.append("oscillation range")
    if not d.template:
        missing.append("file template")
    if d.number_of_images is None or d.number_of_images < 1:
        missing.append("number of images")
    if missing:
        raise MissingGeometry(missing, subject)

    # Sensor thickness: a site override wins, then the image header (written by the detector's own
    # control software for every image), then the facility database's Detector row, then the library.
    # The ESRF ID29 seed shows why it matters: header 0.320 mm, beamline XDS.INP 1.00 mm.
    thickness, material = d.sensor_thickness, d.sensor_material
    source = d.thickness_source
    if thickness is None and lib is not None:
        thickness, source = lib.sensor_thickness, f"the {lib.name} library default"
    if material is None and lib is not None:
        material = lib.sensor_material
    overload = d.overload
    if overload is None:
        overload = lib.overload if lib is not None else 65535
        if lib is None:
            notes.append("overload unknown: 65535 assumed (16-bit images)")
    rotation_axis: tuple[float, float, float] = DEFAULT_ROTATION_AXIS
    mosflm_order = "rotation-axis-first"
    if override is not None:
        who = f"site override for {override.serial_number or override.model}"
        if override.sensor_thickness is not None:
            if thickness is not None and abs(thickness - override.sensor_thickness) > 1e-6:
                notes.append(f"sensor thickness {override.sensor_thickness:.3f} mm from the {who} "
                             f"(instead of {thickness:.3f} mm from {source})")
            thickness, source = override.sensor_thickness, f"the {who}"
        material = override.sensor_material or material
        overload = override.overload if override.overload is not None else overload
        rotation_axis = override.rotation_axis or rotation_axis
        mosflm_order = override.mosflm_beam_order or mosflm_order
        if override.note:
            notes.append(f"{who}: {override.note}")
    if thickness is not None and source and not any(n.startswith("sensor thickness") for n in notes):
        notes.append(f"sensor thickness {thickness:.3f} mm from {source}")

    polarization = d.polarization
    if polarization is None:
        polarization = DEFAULT_POLARIZATION
        notes.append(f"polarisation unknown: {DEFAULT_POLARIZATION} assumed (synchrotron)")
    two_theta = d.two_theta or 0.0
    if abs(two_theta) > 0.01:
        notes.append(f"detector 2theta {two_theta:.2f} deg: detector axes rotated about the laboratory x axis; "
                     "beam centre and distance are taken as at 2theta = 0 -- check the sense for this beamline")
    start, oscillation = float(d.start_angle), float(d.oscillation)  # type: ignore[arg-type]
    if oscillation == 0:
        notes.append("oscillation range is 0 (stills or a grid scan): rotation processing does not apply")
    elif oscillation < 0:
        # XDS requires a positive frame increment (xds_parameters.html, ROTATION_AXIS=): turning by -w about
        # an axis is turning by +w about the opposite axis, so flip the axis and both angles.
        notes.append(f"oscillation {oscillation:.4f} deg per image: written as {-oscillation:.4f} about the "
                     "reversed rotation axis")
        rotation_axis = (-rotation_axis[0] + 0.0, -rotation_axis[1] + 0.0, -rotation_axis[2] + 0.0)
        start, oscillation = -start, -oscillation

    sg: int | None = None
    cell = None
    cell_source = None
    if best is not None and best.status == "SUCCESS":
        sg = space_group_number(best.space_group)
        if best.cell is not None:
            c = best.cell
            cell = (c.a, c.b, c.c, c.alpha, c.beta, c.gamma)
        cell_source = f"{best.program or 'processing'} result {best.local_id}"

    # Every value below was checked for None above; the ignores only tell mypy so.
    return Geometry(
        wavelength=d.wavelength, distance=d.distance, beam_x=d.beam_x, beam_y=d.beam_y,  # type: ignore[arg-type]
        pixel_size_x=d.pixel_size_x, pixel_size_y=d.pixel_size_y, nx=d.nx, ny=d.ny,  # type: ignore[arg-type]
        start_angle=start, oscillation=oscillation,
        first_image=d.first_image if d.first_image is not None else 1,
        number_of_images=d.number_of_images,  # type: ignore[arg-type]
        template=d.template, image_directory=d.image_directory,  # type: ignore[arg-type]
        detector_name=d.detector_name, detector_model=lib,
        sensor_material=material, sensor_thickness=thickness, overload=int(overload),
        polarization=polarization, rotation_axis=rotation_axis, two_theta=two_theta,
        mosflm_beam_order=mosflm_order,
        space_group_number=sg, unit_cell=cell, cell_source=cell_source, notes=tuple(notes))


def _fill_from_header(d: _Draft, header: Any, notes: list[str]) -> None:
    """Fill every still-empty draft value from the header; note where metadata and header disagree."""
    px = _get(header, "pixel_size_x")
    py = _get(header, "pixel_size_y") or px
    hx, hy = header_dimensions(header)
    d.detector_name = d.detector_name or _get(header, "detector")
    d.serial_number = d.serial_number or _get(header, "serial_number")
    d.pixel_size_x = d.pixel_size_x or px
    d.pixel_size_y = d.pixel_size_y or py
    d.nx, d.ny = d.nx or hx, d.ny or hy
    wl = _get(header, "wavelength")
    if d.wavelength is None:
        d.wavelength = wl
    dist = _get(header, "detector_distance")
    if d.distance is None:
        d.distance = dist
    elif dist is not None and abs(dist - d.distance) > DISTANCE_TOLERANCE:
        notes.append(f"distance: metadata {d.distance:.3f} mm used, image header says {dist:.3f} mm")
    bx, by = _get(header, "beam_x"), _get(header, "beam_y")
    if bx is not None and by is not None and d.pixel_size_x and d.pixel_size_y:
        if d.beam_x is None or d.beam_y is None:
            d.beam_x, d.beam_y = bx * d.pixel_size_x, by * d.pixel_size_y
        elif (abs(d.beam_x / d.pixel_size_x - bx) > BEAM_TOLERANCE
              or abs(d.beam_y / d.pixel_size_y - by) > BEAM_TOLERANCE):
            notes.append(f"beam centre: metadata ({d.beam_x / d.pixel_size_x:.2f}, "
                         f"{d.beam_y / d.pixel_size_y:.2f}) px used, image header Beam_xy ({bx:.2f}, {by:.2f})")
    if d.start_angle is None:
        d.start_angle = _get(header, "start_angle")
    if d.oscillation is None:
        d.oscillation = _get(header, "angle_increment")
    thickness = _get(header, "sensor_thickness")
    if thickness is not None:
        d.sensor_thickness, d.thickness_source = thickness, "the image header"
    d.sensor_material = _get(header, "sensor_material") or d.sensor_material
    cutoff = _get(header, "count_cutoff")
    if cutoff is not None:
        d.overload = int(cutoff)
    pol = _get(header, "polarization")
    if pol is not None:
        d.polarization = float(pol)
    if d.two_theta is None:
        d.two_theta = _get(header, "detector_2theta", "two_theta")


def geometry_from_header(header: Any, *, template: str | None, image_directory: str | None,
                         number_of_images: int | None, first_image: int | None = None,
                         overrides: Overrides | None = None) -> Geometry:
    """Geometry from one image's header alone (plus the sweep's template and length when known).

    number_of_images falls back to the header's N_oscillations when it is above 1: ESRF's headers use it
    for the sweep length (the ID29 seed says 1220), DECTRIS' for oscillations per image (1).
    """
    notes: list[str] = []
    d = _Draft(template=normalise_template(template) if template else None,
               image_directory=image_directory, first_image=first_image)
    _fill_from_header(d, header, notes)
    if number_of_images is not None:
        d.number_of_images = number_of_images
    else:
        n_osc = _get(header, "n_oscillations")
        if n_osc is not None and int(n_osc) > 1:
            d.number_of_images = int(n_osc)
            notes.append(f"number of images {int(n_osc)} from the header's N_oscillations (ESRF convention)")
        else:
            d.number_of_images = 1
            notes.append("number of images unknown: 1 assumed (give --images)")
    return _finish(d, notes, overrides, "this image")


def geometry_from_collection(dc: model.DataCollection, detector: model.Detector | None,
                             best: model.ProcessingResult | None = None, header: Any | None = None,
                             *, overrides: Overrides | None = None) -> Geometry:
    """Geometry from a data collection's metadata, its detector row, and the indexed header if any.

    Metadata values win where both exist (they are what the facility recorded for the sweep); the header
    fills gaps, and disagreements beyond tolerance are noted. ISPyB's DataCollection beam centre
    (xBeam, yBeam) is read as mm along the image's fast and slow axes: Diamond's acquisition code writes
    xbeam, ybeam = (x along the detector width, y along its height). AutoProcIntegration.refinedX/YBeam
    are the other way round (xia2 reverses dxtbx's (fast, slow)) -- see docs/reprocessing.md.
    """
    notes: list[str] = []
    d = _Draft(
        wavelength=dc.wavelength, distance=dc.detector_distance,
        beam_x=dc.beam_centre_x, beam_y=dc.beam_centre_y,
        start_angle=dc.axis_start, oscillation=dc.axis_range,
        first_image=dc.start_image_number, number_of_images=dc.number_of_images,
        template=normalise_template(dc.file_template) if dc.file_template else None,
        image_directory=dc.image_directory, two_theta=dc.detector_2theta)
    if detector is not None:
        d.detector_name = detector.model
        d.serial_number = detector.serial_number
        d.pixel_size_x, d.pixel_size_y = detector.pixel_size_x, detector.pixel_size_y or detector.pixel_size_x
        d.nx, d.ny = detector.number_of_pixels_x, detector.number_of_pixels_y
        d.sensor_material = detector.sensor_material
        if detector.sensor_thickness is not None:
            d.sensor_thickness, d.thickness_source = detector.sensor_thickness, "the facility's detector record"
    if header is not None:
        _fill_from_header(d, header, notes)
    return _finish(d, notes, overrides, f"data collection {dc.local_id}", best)
