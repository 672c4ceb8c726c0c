"""The values gathered for one geometry before they are checked, and the filling of them from an image
header. Reads no file and decides nothing a writer sees: geometry.py weighs and checks the draft."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from site_adapter.axes import AxisSet, from_dict

DISTANCE_TOLERANCE = 0.5  # mm
BEAM_TOLERANCE = 2.0  # pixels


def first_of(obj: Any, *names: str) -> Any:
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
    dims = first_of(header, "dimensions")
    if isinstance(dims, (tuple, list)) and len(dims) >= 2:
        return int(dims[0]), int(dims[1])
    fast = first_of(header, "dimension_x", "size_fast", "fast_dimension", "nx", "width")
    slow = first_of(header, "dimension_y", "size_slow", "slow_dimension", "ny", "height")
    return (int(fast) if fast else None, int(slow) if slow else None)


@dataclass
class Draft:
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
    axes: AxisSet | None = None  # the header's own axes (imgCIF _axis, NXmx depends_on)
    experiment_type: str | None = None
    beamline: str | None = None
    when: Any = None  # the collection's start time, for the beamline table


def _header_axes(header: Any) -> AxisSet | None:
    return from_dict(first_of(header, "axes"))


def fill_from_header(d: Draft, header: Any, notes: list[str]) -> None:
    """Fill every still-empty draft value from the header; note where metadata and header disagree."""
    px = first_of(header, "pixel_size_x")
    py = first_of(header, "pixel_size_y") or px
    hx, hy = header_dimensions(header)
    d.detector_name = d.detector_name or first_of(header, "detector")
    d.serial_number = d.serial_number or first_of(header, "serial_number")
    d.pixel_size_x = d.pixel_size_x or px
    d.pixel_size_y = d.pixel_size_y or py
    d.nx, d.ny = d.nx or hx, d.ny or hy
    wl = first_of(header, "wavelength")
    if d.wavelength is None:
        d.wavelength = wl
    axes = _header_axes(header)
    _distance_from_header(d, header, axes, notes)
    _beam_from_header(d, header, notes)
    if axes is not None:
        # A header that states its axes describes the actual vectors: it wins over the metadata's scalars,
        # whose frame (2theta, spindle sense) is not recorded.
        d.axes = axes
    _scan_from_header(d, header, axes)
    _sensor_from_header(d, header)


def _distance_from_header(d: Draft, header: Any, axes: AxisSet | None, notes: list[str]) -> None:
    dist = first_of(header, "detector_distance")
    if d.distance is None:
        d.distance = dist
    elif dist is not None and abs(dist - d.distance) > DISTANCE_TOLERANCE:
        used = "image header's axes" if axes is not None else "metadata"
        notes.append(
            f"distance: metadata {d.distance:.3f} mm, image header says {dist:.3f} mm; the {used} used"
        )


def _beam_from_header(d: Draft, header: Any, notes: list[str]) -> None:
    bx, by = first_of(header, "beam_x"), first_of(header, "beam_y")
    if bx is None or by is None or not d.pixel_size_x or not d.pixel_size_y:
        return
    if d.beam_x is None or d.beam_y is None:
        d.beam_x, d.beam_y = bx * d.pixel_size_x, by * d.pixel_size_y
    elif (
        abs(d.beam_x / d.pixel_size_x - bx) > BEAM_TOLERANCE
        or abs(d.beam_y / d.pixel_size_y - by) > BEAM_TOLERANCE
    ):
        notes.append(
            f"beam centre: metadata ({d.beam_x / d.pixel_size_x:.2f}, "
            f"{d.beam_y / d.pixel_size_y:.2f}) px used, image header Beam_xy ({bx:.2f}, {by:.2f})"
        )


def _scan_from_header(d: Draft, header: Any, axes: AxisSet | None) -> None:
    if d.start_angle is None:
        d.start_angle = first_of(header, "start_angle")
    if d.oscillation is None:
        d.oscillation = first_of(header, "angle_increment")
    if axes is not None and not any(a.kind == "rotation" for a in axes.scan_axes()):
        # the header states its goniometer and nothing turns (an XFEL still, a grid): a zero oscillation
        d.start_angle = d.start_angle if d.start_angle is not None else 0.0
        d.oscillation = d.oscillation if d.oscillation is not None else 0.0


def _sensor_from_header(d: Draft, header: Any) -> None:
    """Sensor, overload (Count_cutoff), polarization and 2theta: the header's word wins where it has one."""
    thickness = first_of(header, "sensor_thickness")
    if thickness is not None:
        d.sensor_thickness, d.thickness_source = thickness, "the image header"
    d.sensor_material = first_of(header, "sensor_material") or d.sensor_material
    cutoff = first_of(header, "count_cutoff")
    if cutoff is not None:
        d.overload = int(cutoff)
    pol = first_of(header, "polarization")
    if pol is not None:
        d.polarization = float(pol)
    if d.two_theta is None:
        d.two_theta = first_of(header, "detector_2theta", "two_theta")
