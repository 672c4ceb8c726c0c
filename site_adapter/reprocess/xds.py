"""Render XDS.INP from a Geometry: keywords and formats only, no unit or axis decisions.

Keyword meanings from the XDS documentation (xds_parameters.html); layout after the beamline-generated
ESRF ID29 XDS.INP in ../shared/fixtures/seed, which the tests compare against value by value.
"""

from __future__ import annotations

import math

from site_adapter.reprocess.geometry import Geometry

SPOT_WEDGE_DEGREES = 3.0  # each SPOT_RANGE covers ~3 deg: ID29 wrote 1-31 and 580-610 at 0.1 deg/image
BACKGROUND_DEGREES = 0.4  # ID29 wrote BACKGROUND_RANGE= 1 4 at 0.1 deg/image
MIN_BACKGROUND_IMAGES = 4


def _wedge(oscillation: float, degrees: float, minimum: int, n: int) -> int:
    if oscillation <= 0:
        return min(n, minimum)
    # round() first: 3.0 / 0.1 is 29.999999999999996 in binary floating point
    return max(1, min(n, max(minimum, math.ceil(round(degrees / oscillation, 6)))))


def spot_ranges(g: Geometry) -> list[tuple[int, int]]:
    """A ~3 deg wedge at the start and one ending half-way through the sweep, as ID29 chose them."""
    n = g.number_of_images
    size = _wedge(g.oscillation, SPOT_WEDGE_DEGREES, 1, n) + (1 if g.oscillation > 0 else 0)
    size = min(size, n)
    first = (g.first_image, g.first_image + size - 1)
    mid_end = g.first_image + n // 2 - 1
    if mid_end - size + 1 > first[1]:
        return [first, (mid_end - size + 1, mid_end)]
    return [first]


def background_range(g: Geometry) -> tuple[int, int]:
    size = _wedge(g.oscillation, BACKGROUND_DEGREES, MIN_BACKGROUND_IMAGES, g.number_of_images)
    return g.first_image, g.first_image + size - 1


def _xds_template(g: Geometry) -> tuple[str, list[str]]:
    """XDS wants '?' for digits; an Eiger master file is read through its data files and a LIB= plugin."""
    path = g.template_path
    comments: list[str] = []
    if path.endswith("_master.h5"):
        path = path[: -len("master.h5")] + "??????.h5"
        comments.append(
            "! HDF5 data: XDS reads it through a plugin; add LIB= with the path of "
            "durin-plugin.so (Diamond's Durin) or dectris-neggia.so (DECTRIS' Neggia)"
        )
        comments.append("! LIB= /path/to/durin-plugin.so")
    elif path.endswith((".gz", ".bz2", ".xz")):
        comments.append(
            "! compressed frames: XDS reads them only where its build decompresses on the fly; "
            "otherwise decompress them first (e.g. bunzip2 -k)"
        )
    return path.replace("#", "?"), comments


def _vec(v: tuple[float, float, float]) -> str:
    v = tuple(round(c, 6) + 0.0 for c in v)  # type: ignore[assignment]
    return " ".join(f"{c:.1f}" if float(c).is_integer() else f"{c:.6f}" for c in v)


def _plane_normal(v: tuple[float, float, float]) -> tuple[float, float, float]:
    """A plane's normal has no sense: write the one whose largest component is positive."""
    big = max(v, key=abs)
    return v if big >= 0 else (-v[0] + 0.0, -v[1] + 0.0, -v[2] + 0.0)


def render_xds(g: Geometry, *, cell_from_processing: bool = False) -> str:
    """XDS.INP text for a whole-sweep JOB= ALL run; NotRotation for stills and grid scans (XDS
    integrates rotation data only: OSCILLATION_RANGE must be positive)."""
    g.require_rotation("XDS")
    lines: list[str] = []
    model = g.detector_model
    if model is None:
        lines.append(
            f"! GENERIC OUTPUT: detector model {g.detector_name or 'unknown'!r} is not in the mxhub "
            "detector library; check DETECTOR=, OVERLOAD=, SENSOR_THICKNESS= and mask the module gaps"
        )
    lines.append(f"! XDS.INP written by mxhub from metadata ({model.name if model else 'generic'})")
    lines += [f"! note: {n}" for n in g.notes]
    lines.append("JOB= ALL")
    lines.append(f"DATA_RANGE= {g.first_image} {g.last_image}")
    lines += [f"SPOT_RANGE= {a} {b}" for a, b in spot_ranges(g)]
    background_first, background_last = background_range(g)
    lines.append(f"BACKGROUND_RANGE= {background_first} {background_last}")
    lines.append("")
    if model is not None:
        lines.append(f"! module gaps of the {model.name} (x1 < x < x2, y1 < y < y2 are untrusted)")
        lines += [
            f"UNTRUSTED_RECTANGLE= {x1:4d} {x2:4d} {y1:4d} {y2:4d}"
            for x1, x2, y1, y2 in model.gap_rectangles()
        ]
    # Relative radii of the trusted region: 1.41 reaches the detector corners (XDS's Pilatus template).
    lines.append("TRUSTED_REGION= 0.0 1.41")
    lines.append(f"MINIMUM_NUMBER_OF_PIXELS_IN_A_SPOT= {model.minimum_spot_pixels if model else 3}")
    lines.append("")
    lines.append(f"OSCILLATION_RANGE= {g.oscillation:.4f}")
    lines.append(f"STARTING_ANGLE= {g.start_angle:.4f}")
    lines.append(f"STARTING_FRAME= {g.first_image}")
    lines.append(f"X-RAY_WAVELENGTH= {g.wavelength:.5f}")
    template, template_comments = _xds_template(g)
    lines += template_comments
    lines.append(f"NAME_TEMPLATE_OF_DATA_FRAMES= {template}")
    lines.append(f"DETECTOR_DISTANCE= {g.distance:.3f}")
    # Pixels flagged by the detector are negative (-1 gap, -2 bad) in Pilatus and Eiger images.
    detector = model.xds_detector if model else _generic_xds_detector(g)
    lines.append(f"DETECTOR= {detector} MINIMUM_VALID_PIXEL_VALUE= 0 OVERLOAD= {g.overload}")
    if g.sensor_thickness is not None:
        lines.append(f"SENSOR_THICKNESS= {g.sensor_thickness:.3f}")
        if g.sensor_material and g.sensor_material.upper() not in ("SI", "SILICON"):
            lines.append(
                f"! {g.sensor_material} sensor: XDS computes absorption for silicon; set SILICON= "
                "to the attenuation coefficient (1/mm) of this material"
            )
    # ORGX/ORGY = the header's Beam_xy in pixels, unshifted: the ID29 beamline file has ORGX= 1234.63
    # ORGY= 1254.24 for Beam_xy (1234.63, 1254.24). dxtbx's XDS export adds 0.5 px instead
    # (dxtbx/serialize/xds.py, "XDS seems to do centroids in fortran coords"); the two differ by half a
    # pixel, well inside what IDXREF refines. See docs/reprocessing.md.
    lines.append(f"ORGX= {g.orgx:.2f} ORGY= {g.orgy:.2f}")
    lines.append(f"NX= {g.nx} NY= {g.ny}")
    lines.append(f"QX= {g.pixel_size_x:.4f} QY= {g.pixel_size_y:.4f}")
    lines.append("VALUE_RANGE_FOR_TRUSTED_DETECTOR_PIXELS= 7000 30000")
    lines.append("")
    # Vectors in the frame of the detector (x = fast, y = slow), as dxtbx's XDS export writes them: the
    # rotation axis, beam and polarisation normal are the lab vectors of the one geometry model expressed
    # in that frame, so a turned detector or a 2theta arm shows up in ROTATION_AXIS= and
    # INCIDENT_BEAM_DIRECTION= (XDS documentation, "coordinate systems").
    lines.append("DIRECTION_OF_DETECTOR_X-AXIS= 1.0 0.0 0.0")
    lines.append("DIRECTION_OF_DETECTOR_Y-AXIS= 0.0 1.0 0.0")
    if abs(g.two_theta) > 0.01:
        lines.append(f"! detector 2theta {g.two_theta:.2f} deg: ORGX/ORGY are the perpendicular foot")
    lines.append(f"ROTATION_AXIS= {_vec(g.detector_frame(g.rotation_axis))}")
    beam = g.lab.beam if g.lab is not None else (0.0, 0.0, -1.0)
    lines.append(f"INCIDENT_BEAM_DIRECTION= {_vec(g.detector_frame(beam))}")
    lines.append(f"FRACTION_OF_POLARIZATION= {g.polarization:.3f}")
    lines.append(f"POLARIZATION_PLANE_NORMAL= {_vec(_plane_normal(g.detector_frame(g.polarization_normal)))}")
    lines.append(f"FRIEDEL'S_LAW= {'TRUE' if g.friedel else 'FALSE'}")
    lines.append("")
    if cell_from_processing and g.space_group_number and g.unit_cell:
        lines.append(f"! space group and cell from {g.cell_source}")
        lines.append(f"SPACE_GROUP_NUMBER= {g.space_group_number}")
        lines.append("UNIT_CELL_CONSTANTS= " + " ".join(f"{v:.3f}" for v in g.unit_cell))
    else:
        if cell_from_processing:
            lines.append(
                "! no successful processing result with a known space group and cell: left to IDXREF"
            )
        lines.append("SPACE_GROUP_NUMBER= 0")
        lines.append("UNIT_CELL_CONSTANTS= 0 0 0 0 0 0")
    lines.append("INCLUDE_RESOLUTION_RANGE= 50.0 0.0")
    return "\n".join(lines) + "\n"


def _generic_xds_detector(g: Geometry) -> str:
    """A best guess for an unknown model, by pixel size (the flag line says to check it)."""
    name = (g.detector_name or "").upper()
    if "EIGER" in name or abs(g.pixel_size_x - 0.075) < 1e-6:
        return "EIGER"
    if "PILATUS" in name or abs(g.pixel_size_x - 0.172) < 1e-6:
        return "PILATUS"
    return "PILATUS"
