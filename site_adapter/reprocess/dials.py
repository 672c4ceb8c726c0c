"""Render a `dials.import` command line with geometry overrides from a Geometry; formatting only.

Parameter names from dials.import's PHIL definitions (geometry.beam.wavelength,
geometry.detector.distance, geometry.detector.fast_slow_beam_centre, geometry.scan.image_range,
geometry.scan.oscillation, geometry.goniometer.axis).
"""

from __future__ import annotations

import shlex

from site_adapter.reprocess.experiment import DEFAULT_ROTATION_AXIS
from site_adapter.reprocess.geometry import Geometry


def render_dials(g: Geometry) -> str:
    """A shell command; comment lines first (the shell ignores them), then one continued command."""
    lines: list[str] = []
    if g.detector_model is None:
        lines.append(
            f"# GENERIC OUTPUT: detector model {g.detector_name or 'unknown'!r} is not in the mxhub "
            "detector library; dials.import reads the detector from the image headers"
        )
    lines.append("# dials.import command written by mxhub from metadata")
    lines += [f"# note: {n}" for n in g.notes]
    # The beam centre goes in as fast_slow_beam_centre, in pixels along the image's fast and slow axes:
    # that is exactly the header's Beam_xy (dxtbx reads Beam_xy x pixel size as mm from the first
    # pixel's corner), so it carries none of the axis-swap ambiguity of mosflm_beam_centre, which dxtbx
    # takes as (slow, fast) in mm (dxtbx/model/detector_helpers.py, set_mosflm_beam_centre).
    if g.template.endswith("_master.h5"):
        source = shlex.quote(g.template_path)  # an Eiger master file is imported as a file, not a template
    else:
        source = "template=" + shlex.quote(g.template_path)
    args = [
        "dials.import",
        source,
        f"geometry.beam.wavelength={g.wavelength:.6f}",
        f"geometry.detector.distance={g.distance:.3f}",
        # the direct beam's position (dxtbx sets the beam centre where the beam meets the detector)
        f"geometry.detector.fast_slow_beam_centre={g.beam_x / g.pixel_size_x:.2f},{g.beam_y / g.pixel_size_y:.2f}",
        f"geometry.scan.image_range={g.first_image},{g.last_image}",
    ]
    if g.kind == "rotation":
        args.append(f"geometry.scan.oscillation={g.start_angle:.4f},{g.oscillation:.4f}")
    if g.kind == "rotation" and any(
        abs(a - b) > 1e-6 for a, b in zip(g.rotation_axis, DEFAULT_ROTATION_AXIS, strict=True)
    ):
        # The one geometry model is in the imgCIF frame, which is dxtbx's laboratory frame too.
        args.append("geometry.goniometer.axis=" + ",".join(f"{round(v, 6) + 0.0:g}" for v in g.rotation_axis))
    if g.kind != "rotation":
        lines.append(f"# {g.kind}: after import, dials.find_spots (and dials.stills_process for serial data)")
    if g.template.endswith((".gz", ".bz2")):
        lines.append("# compressed frames: dials.import reads .gz and .bz2 images directly")
    lines.append(" \\\n    ".join(args))
    return "\n".join(lines) + "\n"
