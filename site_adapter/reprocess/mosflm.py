"""Render a MOSFLM keyword script from a Geometry, including MOSFLM's beam-centre convention.

Keywords (SCANNER, SYNCHROTRON POLARISATION, WAVELENGTH, DISTANCE, BEAM, MOSAIC, DIRECTORY, TEMPLATE,
EXTENSION, IMAGE, PROCESS) as in the MOSFLM user guide and the ESRF ID29 script in ../shared/fixtures/seed.
"""

from __future__ import annotations

from site_adapter.reprocess.geometry import Geometry

MOSAIC_GUESS = 0.5  # degrees; the ID29 script's "Just a guess", refined by MOSFLM anyway


def mosflm_beam(g: Geometry) -> tuple[float, float]:
    """MOSFLM's BEAM x y in mm.

    MOSFLM's detector frame follows the rotation axis, not the pixel order. The convention applied by
    default ("rotation-axis-first") puts first the image axis parallel to the rotation axis: for the
    ESRF ID29 seed (ROTATION_AXIS= 1 0 0, i.e. along the fast axis) that is (fast mm, slow mm) =
    (1234.63 x 0.172, 1254.24 x 0.172) = "beam 212.36 215.73", which is what the beamline wrote.
    A vertical spindle (axis along the slow axis) swaps them.
    Caution: dxtbx's mosflm_beam_centre is always (slow mm, fast mm) (detector_helpers.py:
    set_mosflm_beam_centre -> set_slow_fast_beam_centre_mm), and xia2 feeds MOSFLM (slow, fast) for the
    same geometry as ID29; a site whose MOSFLM runs agree with that sets mosflm_beam_order "slow-fast"
    in its detector overrides. docs/reprocessing.md has the sources.
    """
    fast_first = (g.beam_x, g.beam_y)
    if g.mosflm_beam_order == "slow-fast":
        return g.beam_y, g.beam_x
    ax, ay, _ = g.rotation_axis
    return fast_first if abs(ax) >= abs(ay) else (g.beam_y, g.beam_x)


def render_mosflm(g: Geometry) -> str:
    lines: list[str] = []
    model = g.detector_model
    if model is None:
        lines.append(f"# GENERIC OUTPUT: detector model {g.detector_name or 'unknown'!r} is not in the mxhub "
                     "detector library; check SCANNER and mask the module gaps")
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
        lines.append("# HDF5 (Eiger) data: MOSFLM reads it only through its HDF5 plugin (MOSFLM 7.2 or later)")
    lines.append(f"template   {g.template}")
    ext = g.template.rsplit(".", 1)[-1] if "." in g.template else None
    if ext:
        lines.append(f"extension  {ext}")
    lines.append(f"#Images {g.first_image} to {g.last_image}, {g.oscillation:.4f} deg each "
                 f"from {g.start_angle:.4f} deg")
    end = g.start_angle + g.oscillation
    lines.append(f"image {g.first_image} phi {g.start_angle:.4f} to {end:.4f}")
    lines.append("go")
    lines.append("#After indexing, integrate the whole sweep:")
    lines.append(f"#process {g.first_image} to {g.last_image} start {g.start_angle:.4f} angle {g.oscillation:.4f}")
    lines.append("#go")
    return "\n".join(lines) + "\n"
