"""Render a MOSFLM keyword script from a Geometry, including MOSFLM's beam-centre convention.

Keywords (SCANNER, SYNCHROTRON POLARISATION, WAVELENGTH, DISTANCE, BEAM, MOSAIC, DIRECTORY, TEMPLATE,
EXTENSION, IMAGE, PROCESS) as in the MOSFLM user guide and the ESRF ID29 script in ../shared/fixtures/seed.
"""

from __future__ import annotations

from site_adapter.reprocess.geometry import Geometry

MOSAIC_GUESS = 0.5  # degrees; the ID29 script's "Just a guess", refined by MOSFLM anyway


def mosflm_beam(g: Geometry) -> tuple[float, float]:
    """MOSFLM's BEAM x y in mm, in MOSFLM's own detector frame.

    MOSFLM's camera frame has Z along the spindle (mosflm user guide, "coordinate frames"); its detector
    X runs across the spindle and Y along it. So for the usual horizontal spindle along the image's fast
    axis BEAM is (slow mm, fast mm): what dxtbx's set_mosflm_beam_centre takes (detector_helpers.py:
    set_slow_fast_beam_centre_mm) and what xia2 and iMosflm write. A spindle along the slow axis (DLS I19's
    detector, turned 90 deg) gives (fast, slow). The ESRF ID29 script in ../shared/fixtures/seed writes
    (fast, slow) for a spindle along fast -- against both references; a site whose runs want that order
    sets mosflm_beam_order "fast-slow" in its overrides (docs/reprocessing.md has the evidence).
    The position is the direct beam at 2theta = 0, i.e. the perpendicular foot (MOSFLM applies TWOTHETA).
    """
    fast = g.orgx * g.pixel_size_x
    slow = g.orgy * g.pixel_size_y
    if g.mosflm_beam_order == "fast-slow":
        return fast, slow
    if g.mosflm_beam_order == "slow-fast":
        return slow, fast
    ax, ay, _ = g.detector_frame(g.rotation_axis)
    return (slow, fast) if abs(ax) >= abs(ay) else (fast, slow)


def render_mosflm(g: Geometry) -> str:
    """A MOSFLM script; NotRotation for stills and grid scans."""
    g.require_rotation("MOSFLM")
    lines: list[str] = []
    model = g.detector_model
    if model is None:
        lines.append(
            f"# GENERIC OUTPUT: detector model {g.detector_name or 'unknown'!r} is not in the mxhub "
            "detector library; check SCANNER and mask the module gaps"
        )
    lines.append("# MOSFLM input written by mxhub from metadata")
    lines += [f"# note: {n}" for n in g.notes]
    lines.append("#Basic definitions")
    family = model.xds_detector if model else ("EIGER" if abs(g.pixel_size_x - 0.075) < 1e-6 else "PILATUS")
    lines.append(f"scanner {family}")
    lines.append(f"synchrotron polar {g.polarization:g}")
    lines.append("")
    lines.append("#Geometry")
    lines.append(f"wavelength  {g.wavelength:.6f}")
    lines.append(f"distance    {g.distance:.3f}")
    bx, by = mosflm_beam(g)
    lines.append(f"beam   {bx:.3f} {by:.3f}")
    if abs(g.two_theta) > 0.01:
        lines.append(f"twotheta {g.two_theta:.2f}")
    lines.append("")
    lines.append("#Just a guess")
    lines.append(f"mosaic  {MOSAIC_GUESS}")
    lines.append("")
    lines.append("#Files")
    if g.image_directory:
        lines.append(f"directory  {g.image_directory.rstrip('/')}")
    if g.template.endswith(".h5"):
        lines.append(
            "# HDF5 (Eiger) data: MOSFLM reads it only through its HDF5 plugin (MOSFLM 7.2 or later)"
        )
    elif g.template.endswith((".gz", ".bz2", ".xz")):
        lines.append(
            "# compressed frames: MOSFLM reads uncompressed images; decompress them first "
            "(e.g. bunzip2 -k) and drop the suffix from the template"
        )
    lines.append(f"template   {g.template}")
    ext = g.template.rsplit(".", 1)[-1] if "." in g.template else None
    if ext:
        lines.append(f"extension  {ext}")
    lines.append(
        f"#Images {g.first_image} to {g.last_image}, {g.oscillation:.4f} deg each "
        f"from {g.start_angle:.4f} deg"
    )
    end = g.start_angle + g.oscillation
    lines.append(f"image {g.first_image} phi {g.start_angle:.4f} to {end:.4f}")
    lines.append("go")
    lines.append("#After indexing, integrate the whole sweep:")
    lines.append(
        f"#process {g.first_image} to {g.last_image} start {g.start_angle:.4f} angle {g.oscillation:.4f}"
    )
    lines.append("#go")
    return "\n".join(lines) + "\n"
