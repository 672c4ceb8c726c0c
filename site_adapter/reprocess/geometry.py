"""One experiment's geometry in canonical units, built from common-schema metadata and/or an image header.

Every unit and axis decision is taken here, once; the renderers only format. No file is read here.
Canonical: wavelength Å, distance and beam centre mm, pixel size mm, angles degrees. About 600 lines
because weighing the sources (metadata, header, site facts, library) is one job; the draft and its filling
from a header are in draft.py, the facts about the experiment itself (kind, light, conventional axes) in
experiment.py, the axes in site_adapter/axes.py.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import zoneinfo
from dataclasses import dataclass, replace
from typing import Any

from site_adapter import model
from site_adapter.axes import AxisError, LabFrame, Vector, add, dot, resolve, scale, unit
from site_adapter.reprocess.beamlines import BeamlineFact
from site_adapter.reprocess.detectors import DetectorModel, DetectorOverride, Overrides, identify
from site_adapter.reprocess.draft import Draft, fill_from_header, first_of
from site_adapter.reprocess.experiment import (
    DEFAULT_ROTATION_AXIS,
    anomalous,
    conventional_axes,
    experiment_kind,
    source_polarization,
    xds_to_lab,
)
from site_adapter.reprocess.spacegroups import space_group_number

# Metadata and header may disagree a little (rounding, refinement); note larger disagreements.


class MissingGeometry(Exception):
    """The inputs lack what a processing program needs; `.missing` names each absent item."""

    def __init__(self, missing: list[str], subject: str = "this data collection") -> None:
        self.missing = list(missing)
        super().__init__(f"cannot write reprocessing input for {subject}: missing {', '.join(self.missing)}")


class NotRotation(Exception):
    """A program's rotation job does not apply to this experiment (stills, grid scans); says what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Geometry:
    """Everything the XDS, DIALS and MOSFLM writers need, resolved once, in canonical units.

    `lab` is the one geometry model (site_adapter/axes.py): detector fast/slow axes, the position of pixel
    index 0, beam direction and rotation axis in the imgCIF laboratory frame. The scalar fields are derived
    from it: `distance` along the detector normal (XDS's DETECTOR_DISTANCE), `beam_x`/`beam_y` where the
    direct beam meets the detector, and `orgx`/`orgy` the perpendicular foot (XDS's ORGX/ORGY); all mm or
    pixels from pixel index 0, the convention of the PILATUS header's Beam_xy and imgCIF's displacement.
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
    lab: LabFrame | None = None
    rotation_axis: Vector = DEFAULT_ROTATION_AXIS  # imgCIF laboratory frame, sense of positive oscillation
    two_theta: float = 0.0  # degrees: the detector's swing, for MOSFLM's TWOTHETA
    mosflm_beam_order: str = "mosflm-frame"
    kind: str = "rotation"  # rotation | grid | still
    experiment_type: str | None = None
    friedel: bool = True  # False for anomalous experiments (SAD, MAD): XDS's FRIEDEL'S_LAW=
    polarization_normal: Vector = (0.0, 1.0, 0.0)  # imgCIF frame: vertical for a horizontally polarised beam
    foot_x: float | None = None  # mm, the perpendicular foot along fast (None: same as beam_x)
    foot_y: float | None = None
    space_group_number: int | None = None  # from the best processing result, when one is known
    unit_cell: tuple[float, float, float, float, float, float] | None = None
    cell_source: str | None = None  # e.g. "xia2 dials result 1234"
    notes: tuple[str, ...] = ()  # where contested values came from, and warnings

    @property
    def orgx(self) -> float:
        """XDS ORGX in pixels: the perpendicular foot along the fast axis, no half-pixel shift (see xds.py)."""
        return (self.foot_x if self.foot_x is not None else self.beam_x) / self.pixel_size_x

    @property
    def orgy(self) -> float:
        return (self.foot_y if self.foot_y is not None else self.beam_y) / self.pixel_size_y

    @property
    def last_image(self) -> int:
        return self.first_image + self.number_of_images - 1

    @property
    def template_path(self) -> str:
        if not self.image_directory:
            return self.template
        return self.image_directory.rstrip("/") + "/" + self.template

    def detector_frame(self, v: Vector) -> Vector:
        """`v` with the detector's fast axis as x and slow axis as y (how XDS.INP is written)."""
        if self.lab is None:
            return v
        return self.lab.in_detector_frame(v)

    def require_rotation(self, program: str) -> None:
        """Raise NotRotation unless this is a rotation sweep (XDS and MOSFLM integrate rotations only)."""
        if self.kind != "rotation":
            what = "a grid scan" if self.kind == "grid" else "still images"
            raise NotRotation(
                f"{program} processes rotation data; this is {what} (oscillation {self.oscillation:g} deg"
                f"{', experiment type ' + self.experiment_type if self.experiment_type else ''}): "
                "use dials.import then dials.find_spots / dials.stills_process instead"
            )


_PRINTF = re.compile(r"%0?(\d+)d")


def normalise_template(template: str) -> str:
    """'#' templates from any spelling: ISPyB's 'x_####.cbf', ESRF's 'x_%04d.cbf', XDS's 'x_????.cbf'."""
    template = _PRINTF.sub(lambda m: "#" * int(m.group(1)), template)
    return template.replace("?", "#")


def template_from_filename(name: str) -> tuple[str, int] | None:
    """('thau_3_2_####.cbf.bz2', 1) from 'thau_3_2_0001.cbf.bz2': the last digit run before the extension;
    a compression suffix stays, so the template matches the files it came from (DIALS reads them as they
    are; the XDS and MOSFLM writers say what those programs need)."""
    base = name.rsplit("/", 1)[-1]
    suffix = ""
    for candidate in (".gz", ".bz2", ".xz"):
        if base.endswith(candidate):
            base, suffix = base[: -len(candidate)], candidate
    m = re.match(r"^(.*?)(\d+)(\.[A-Za-z0-9]+)$", base)
    if m is None:
        return None
    prefix, digits, ext = m.groups()
    return f"{prefix}{'#' * len(digits)}{ext}{suffix}", int(digits)


@dataclass(frozen=True, slots=True)
class _Required:
    """The draft's values a writer cannot do without, checked present (`_require`)."""

    wavelength: float
    pixel_size_x: float
    pixel_size_y: float
    nx: int
    ny: int
    template: str
    number_of_images: int
    start_angle: float
    oscillation: float


@dataclass(frozen=True, slots=True)
class _Sensor:
    thickness: float | None
    material: str | None
    overload: int
    site_axis: Vector | None  # the rotation axis from the site's tables, XDS frame
    mosflm_order: str


def _finish(
    d: Draft,
    notes: list[str],
    overrides: Overrides | None,
    subject: str,
    best: model.ProcessingResult | None = None,
) -> Geometry:
    """Resolve the beamline table, the library model and site overrides, check completeness, and build
    the one geometry model every writer reads. The steps append to `notes` in this order."""
    overrides = overrides if overrides is not None else Overrides()  # the site passes its own (see docs)
    fact = overrides.beamlines.find(d.beamline, d.when)
    if fact is not None:
        _apply_beamline_table(d, fact, notes)
    lib = _detector_model(d, notes)
    override = overrides.find(d.serial_number, lib.name if lib else d.detector_name)
    if lib is not None:
        d.nx, d.ny = d.nx or lib.nx, d.ny or lib.ny
        d.pixel_size_x = d.pixel_size_x or lib.pixel_size
        d.pixel_size_y = d.pixel_size_y or lib.pixel_size
    if lib is not None and lib.caveat:
        notes.append(lib.caveat)
    r = _require(d, subject)
    sensor = _sensor(d, lib, fact, override, notes)
    polarization = source_polarization(d.polarization, fact, r.wavelength, notes)
    lab = _lab_frame(d, r, sensor.site_axis, subject, notes)
    kind = experiment_kind(d.experiment_type, d.oscillation, lab)
    start, oscillation, rotation_axis = _scan(d, r, lab, kind, notes)
    two_theta = _two_theta(d, lab, notes)
    friedel = not anomalous(d.experiment_type)
    if not friedel:
        notes.append(f"experiment type {d.experiment_type}: anomalous data, FRIEDEL'S_LAW=FALSE")
    sg, cell, cell_source = _cell(best)
    beam = lab.beam_centre or lab.foot
    foot = lab.foot
    return Geometry(
        wavelength=r.wavelength,
        distance=lab.distance,
        beam_x=beam[0],
        beam_y=beam[1],
        foot_x=foot[0],
        foot_y=foot[1],
        pixel_size_x=r.pixel_size_x,
        pixel_size_y=r.pixel_size_y,
        nx=r.nx,
        ny=r.ny,
        start_angle=start,
        oscillation=oscillation,
        first_image=d.first_image if d.first_image is not None else 1,
        number_of_images=r.number_of_images,
        template=r.template,
        image_directory=d.image_directory,
        detector_name=d.detector_name,
        detector_model=lib,
        sensor_material=sensor.material,
        sensor_thickness=sensor.thickness,
        overload=sensor.overload,
        polarization=polarization,
        lab=lab,
        rotation_axis=rotation_axis,
        two_theta=two_theta,
        mosflm_beam_order=sensor.mosflm_order,
        kind=kind,
        experiment_type=d.experiment_type,
        friedel=friedel,
        polarization_normal=_polarization_normal(d),
        space_group_number=sg,
        unit_cell=cell,
        cell_source=cell_source,
        notes=tuple(notes),
    )


def _apply_beamline_table(d: Draft, fact: BeamlineFact, notes: list[str]) -> None:
    """What the site's beamline table knows and the draft does not: detector, ROI, sensor, overload."""
    if d.detector_name is None and fact.detector:
        d.detector_name = fact.detector
        d.serial_number = d.serial_number or fact.serial_number
        notes.append(
            f"detector {fact.detector} from the site's beamline table for {fact.beamline}"
            + (f" ({fact.note})" if fact.note else "")
        )
    if fact.roi is not None and d.nx is None:
        d.nx, d.ny = fact.roi
        notes.append(f"detector region of interest {fact.roi[0]} x {fact.roi[1]} px from the beamline table")
    if d.sensor_thickness is None and fact.sensor_thickness is not None:
        d.sensor_thickness, d.thickness_source = (
            fact.sensor_thickness,
            f"the site's table for {fact.beamline}",
        )
    d.sensor_material = d.sensor_material or fact.sensor_material
    if d.overload is None and fact.overload is not None:
        d.overload = fact.overload


def _detector_model(d: Draft, notes: list[str]) -> DetectorModel | None:
    """The library's model of the detector, or of the full detector a region of interest was read from."""
    lib = identify(d.detector_name, d.nx, d.ny)
    if lib is None and d.detector_name and d.nx and d.ny:
        full = identify(d.detector_name)
        if full is not None and d.nx <= full.nx and d.ny <= full.ny and (d.nx, d.ny) != (full.nx, full.ny):
            lib = full  # a region of interest of a known model (ISPyB numberOfROIPixelsX/Y, beamline table)
            notes.append(
                f"{full.name} read out as a {d.nx} x {d.ny} px region of interest: module gaps "
                "are those of the full detector and may not match the ROI"
            )
    return lib


def _require(d: Draft, subject: str) -> _Required:
    """The values no writer can do without; raises MissingGeometry naming every absent one."""
    missing: list[str] = []
    if d.wavelength is None or d.wavelength <= 0:
        missing.append("wavelength")
    missing += _missing_detector(d)
    if d.axes is None:
        missing += _missing_conventional(d)
    if d.start_angle is None:
        missing.append("start angle")
    if d.oscillation is None:
        missing.append("oscillation range")
    if not d.template:
        missing.append("file template")
    if d.number_of_images is None or d.number_of_images < 1:
        missing.append("number of images")
    if (
        missing
        or d.wavelength is None
        or d.pixel_size_x is None
        or d.pixel_size_y is None
        or d.nx is None
        or d.ny is None
        or d.template is None
        or d.number_of_images is None
        or d.start_angle is None
        or d.oscillation is None
    ):  # the second half only narrows the types: each is in `missing` when it holds
        raise MissingGeometry(missing, subject)
    return _Required(
        wavelength=d.wavelength,
        pixel_size_x=d.pixel_size_x,
        pixel_size_y=d.pixel_size_y,
        nx=d.nx,
        ny=d.ny,
        template=d.template,
        number_of_images=d.number_of_images,
        start_angle=d.start_angle,
        oscillation=d.oscillation,
    )


def _missing_detector(d: Draft) -> list[str]:
    if d.detector_name is None and (d.pixel_size_x is None or d.nx is None):
        return ["detector"]
    missing = []
    if d.pixel_size_x is None or d.pixel_size_y is None:
        missing.append("detector pixel size")
    if d.nx is None or d.ny is None:
        missing.append("detector size in pixels")
    return missing


def _missing_conventional(d: Draft) -> list[str]:
    """What a geometry without the header's own axes needs besides: distance and beam centre."""
    missing = []
    if d.distance is None or d.distance <= 0:
        missing.append("detector distance")
    if d.beam_x is None or d.beam_y is None:
        missing.append("beam centre")
    return missing


def _sensor(
    d: Draft,
    lib: DetectorModel | None,
    fact: BeamlineFact | None,
    override: DetectorOverride | None,
    notes: list[str],
) -> _Sensor:
    """Sensor thickness and material, overload, the site's rotation axis and MOSFLM beam order.

    Sensor thickness: a site override wins, then the image header (written by the detector's own
    control software for every image), then the facility database's Detector row, then the library.
    The ESRF ID29 seed shows why it matters: header 0.320 mm, beamline XDS.INP 1.00 mm.
    """
    thickness, material = d.sensor_thickness, d.sensor_material
    source = d.thickness_source
    if thickness is None and lib is not None:
        thickness, source = lib.sensor_thickness, f"the {lib.name} library default"
    if material is None and lib is not None:
        material = lib.sensor_material
    overload = d.overload
    if overload is None:
        overload = lib.overload if lib is not None else 65535
        notes.append(
            f"overload {overload} assumed ({'the ' + lib.name + ' library default' if lib else '16-bit images'}): "
            "neither the image header nor the site's tables give it"
        )
    sensor = _Sensor(
        thickness=thickness,
        material=material,
        overload=int(overload),
        site_axis=fact.rotation_axis if fact is not None else None,
        mosflm_order="mosflm-frame",
    )
    if override is not None:
        sensor, source = _overridden(sensor, source, override, notes)
    if sensor.thickness is not None and source and not any(n.startswith("sensor thickness") for n in notes):
        notes.append(f"sensor thickness {sensor.thickness:.3f} mm from {source}")
    return sensor


def _overridden(
    sensor: _Sensor, source: str | None, override: DetectorOverride, notes: list[str]
) -> tuple[_Sensor, str | None]:
    """The sensor as the site's override for this detector corrects it, and the thickness's source."""
    who = f"site override for {override.serial_number or override.model}"
    thickness = sensor.thickness
    if override.sensor_thickness is not None:
        if thickness is not None and abs(thickness - override.sensor_thickness) > 1e-6:
            notes.append(
                f"sensor thickness {override.sensor_thickness:.3f} mm from the {who} "
                f"(instead of {thickness:.3f} mm from {source})"
            )
        thickness, source = override.sensor_thickness, f"the {who}"
    if override.note:
        notes.append(f"{who}: {override.note}")
    return (
        _Sensor(
            thickness=thickness,
            material=override.sensor_material or sensor.material,
            overload=int(override.overload) if override.overload is not None else sensor.overload,
            site_axis=override.rotation_axis or sensor.site_axis,
            mosflm_order=override.mosflm_beam_order or sensor.mosflm_order,
        ),
        source,
    )


def _lab_frame(d: Draft, r: _Required, site_axis: Vector | None, subject: str, notes: list[str]) -> LabFrame:
    """The header's own axes (the site's rotation axis replacing theirs), else conventional axes."""
    try:
        if d.axes is not None:
            lab = resolve(d.axes)
            if site_axis is not None and lab.rotation_axis is not None:
                axis = unit(
                    add(
                        add(scale(lab.fast, site_axis[0]), scale(lab.slow, site_axis[1])),
                        scale(lab.normal, site_axis[2]),
                    )
                )
                notes.append(
                    f"rotation axis {tuple(site_axis)} (XDS frame) from the site's tables, not the header's"
                )
                lab = _with_axis(lab, axis)
            return lab
        if d.distance is None or d.beam_x is None or d.beam_y is None:  # _require checked them
            raise MissingGeometry(_missing_conventional(d), subject)
        axis = xds_to_lab(site_axis) if site_axis is not None else DEFAULT_ROTATION_AXIS
        if site_axis is not None:
            notes.append(f"rotation axis {tuple(site_axis)} (XDS frame) from the site's tables")
        return resolve(
            conventional_axes(
                d.distance,
                d.beam_x,
                d.beam_y,
                r.pixel_size_x,
                r.pixel_size_y,
                d.two_theta or 0.0,
                d.start_angle or 0.0,
                d.oscillation or 0.0,
                axis,
            )
        )
    except AxisError as exc:
        raise MissingGeometry([f"usable detector axes ({exc})"], subject) from None


def _scan(d: Draft, r: _Required, lab: LabFrame, kind: str, notes: list[str]) -> tuple[float, float, Vector]:
    """Start angle, oscillation and rotation axis as written: a negative rotation is turned positive."""
    from_axes = d.axes is not None and lab.rotation_axis is not None
    start = lab.start_angle if from_axes else float(r.start_angle)
    oscillation = lab.increment if from_axes else float(r.oscillation)
    rotation_axis = lab.rotation_axis or DEFAULT_ROTATION_AXIS
    if kind == "rotation" and oscillation < 0:
        # XDS requires a positive frame increment (xds_parameters.html, ROTATION_AXIS=): turning by -w about
        # an axis is turning by +w about the opposite axis, so flip the axis and both angles.
        notes.append(
            f"oscillation {oscillation:.4f} deg per image: written as {-oscillation:.4f} about the "
            "reversed rotation axis"
        )
        rotation_axis = (-rotation_axis[0] + 0.0, -rotation_axis[1] + 0.0, -rotation_axis[2] + 0.0)
        start, oscillation = -start, -oscillation
    elif kind != "rotation":
        notes.append(f"oscillation range is {oscillation:g} ({kind}): rotation processing does not apply")
    return start, oscillation, rotation_axis


def _two_theta(d: Draft, lab: LabFrame, notes: list[str]) -> float:
    two_theta = d.two_theta or 0.0
    if d.axes is not None:
        away = lab.normal if dot(lab.normal, lab.beam) > 0 else scale(lab.normal, -1.0)
        two_theta = _degrees_between(away, lab.beam)
    if abs(two_theta) > 0.01:
        notes.append(
            f"detector 2theta {two_theta:.2f} deg: ORGX/ORGY are the perpendicular foot, not the direct beam"
        )
    return two_theta


def _polarization_normal(d: Draft) -> Vector:
    gravity = next((a for a in (d.axes.axes if d.axes else ()) if a.equipment == "gravity"), None)
    if gravity is not None and d.axes and d.axes.frame == "imgCIF":
        return unit(scale(gravity.vector, -1.0))
    return (0.0, 1.0, 0.0)


def _cell(
    best: model.ProcessingResult | None,
) -> tuple[int | None, tuple[float, float, float, float, float, float] | None, str | None]:
    """Space group, unit cell and where they came from: the best successful processing result."""
    if best is None or best.status != "SUCCESS":
        return None, None, None
    cell = None
    if best.cell is not None:
        c = best.cell
        cell = (c.a, c.b, c.c, c.alpha, c.beta, c.gamma)
    return (
        space_group_number(best.space_group),
        cell,
        f"{best.program or 'processing'} result {best.local_id}",
    )


def _with_axis(lab: LabFrame, axis: Vector) -> LabFrame:
    return replace(lab, rotation_axis=axis)


def _degrees_between(a: Vector, b: Vector) -> float:
    c = max(-1.0, min(1.0, dot(unit(a), unit(b))))
    return math.degrees(math.acos(c))


def geometry_from_header(
    header: Any,
    *,
    template: str | None,
    image_directory: str | None,
    number_of_images: int | None,
    first_image: int | None = None,
    overrides: Overrides | None = None,
    experiment_type: str | None = None,
) -> Geometry:
    """Geometry from one image's header alone (plus the sweep's template and length when known).

    number_of_images falls back to the header's N_oscillations when it is above 1: ESRF's headers use it
    for the sweep length (the ID29 seed says 1220), DECTRIS' for oscillations per image (1); an NXmx
    master says how many images it holds.
    """
    notes: list[str] = []
    d = Draft(
        template=normalise_template(template) if template else None,
        image_directory=image_directory,
        first_image=first_image,
        experiment_type=experiment_type,
        when=first_of(header, "timestamp"),
    )
    fill_from_header(d, header, notes)
    extra = first_of(header, "extra") or {}
    n_master = extra.get("n_images") if isinstance(extra, dict) else None
    if number_of_images is not None:
        d.number_of_images = number_of_images
    elif n_master:
        d.number_of_images = int(n_master)
    else:
        n_osc = first_of(header, "n_oscillations")
        if n_osc is not None and int(n_osc) > 1:
            d.number_of_images = int(n_osc)
            notes.append(f"number of images {int(n_osc)} from the header's N_oscillations (ESRF convention)")
        else:
            d.number_of_images = 1
            notes.append("number of images unknown: 1 assumed (give --images)")
    return _finish(d, notes, overrides, "this image")


def geometry_from_collection(
    dc: model.DataCollection,
    detector: model.Detector | None,
    best: model.ProcessingResult | None = None,
    header: Any | None = None,
    *,
    overrides: Overrides | None = None,
    beamline: str | None = None,
    time_zone: zoneinfo.ZoneInfo | None = None,
) -> Geometry:
    """Geometry from a data collection's metadata, its detector row, the site's beamline table and the
    indexed header if any. The beamline table's dates are the facility's: a start time (an instant) is
    read in `time_zone`, the site's (docs/time.md), before its date is taken.

    Metadata values win where both exist (they are what the facility recorded for the sweep), except the
    axes a full imgCIF or NXmx header states; the header fills gaps, and disagreements beyond tolerance
    are noted. ISPyB's DataCollection beam centre (xBeam, yBeam) is read as mm along the image's fast and
    slow axes: Diamond's acquisition code writes xbeam, ybeam = (x along the detector width, y along its
    height). AutoProcIntegration.refinedX/YBeam are the other way round (xia2 reverses dxtbx's (fast,
    slow)) -- see docs/reprocessing.md.
    """
    notes: list[str] = []
    d = Draft(
        wavelength=dc.wavelength,
        distance=dc.detector_distance,
        beam_x=dc.beam_centre_x,
        beam_y=dc.beam_centre_y,
        start_angle=dc.axis_start,
        oscillation=dc.axis_range,
        first_image=dc.start_image_number,
        number_of_images=dc.number_of_images,
        template=normalise_template(dc.file_template) if dc.file_template else None,
        image_directory=dc.image_directory,
        two_theta=dc.detector_2theta,
        experiment_type=dc.experiment_type,
        beamline=beamline,
        when=_facility_time(dc.start_time, time_zone),
    )
    if detector is not None:
        d.detector_name = detector.model
        d.serial_number = detector.serial_number
        d.pixel_size_x, d.pixel_size_y = detector.pixel_size_x, detector.pixel_size_y or detector.pixel_size_x
        d.nx, d.ny = detector.number_of_pixels_x, detector.number_of_pixels_y
        if detector.roi_pixels_x and detector.roi_pixels_y:  # ISPyB numberOfROIPixelsX/Y: the read-out size
            d.nx, d.ny = detector.roi_pixels_x, detector.roi_pixels_y
            notes.append(f"region of interest {d.nx} x {d.ny} px from the facility's detector record")
        d.sensor_material = detector.sensor_material
        if detector.sensor_thickness is not None:
            d.sensor_thickness, d.thickness_source = (
                detector.sensor_thickness,
                "the facility's detector record",
            )
    if header is not None:
        fill_from_header(d, header, notes)
    return _finish(d, notes, overrides, f"data collection {dc.local_id}", best)


def _facility_time(when: dt.datetime | None, zone: zoneinfo.ZoneInfo | None) -> dt.datetime | None:
    """`when` on the facility's clock: its date is the one the beamline table's `from`/`until` mean."""
    if when is None or zone is None or when.tzinfo is None:
        return when
    return when.astimezone(zone)
