"""What kind of experiment and light a geometry describes, and the axes a header implies when it states
none: rotation, grid or still; anomalous or not; the source's polarisation; the miniCBF convention.

Pure functions of values already gathered (geometry.py gathers them); nothing is read here.
"""

from __future__ import annotations

from site_adapter.axes import Axis, AxisSet, LabFrame, Vector
from site_adapter.reprocess.beamlines import BeamlineFact

# XDS's usual laboratory frame for a horizontal rotation axis along the detector's fast (x) axis, as in
# the ESRF ID29 XDS.INP (ROTATION_AXIS= 1 0 0) and dxtbx's default for miniCBF Pilatus/Eiger images.
# A beamline whose spindle turns the other way (or is vertical) sets rotation_axis in its overrides.
DEFAULT_ROTATION_AXIS = (1.0, 0.0, 0.0)
# A synchrotron undulator beam is ~99 % horizontally polarised (the Pilatus headers of every fixture
# say Polarization 0.99 / 0.990 / 0.999); used only when neither the header nor the site says otherwise.
DEFAULT_POLARIZATION = 0.99
# Experiment types (ISPyB DataCollectionGroup.experimentType and the common schema's spellings).
ANOMALOUS = {"sad", "mad", "sad - inverse beam", "mad - inverse beam", "experimental phasing"}
GRID = {"mesh", "mesh3d", "grid", "grid scan", "xraycentring", "xray centring", "screening grid"}
STILL = {"still", "stills", "serial fixed", "serial jet", "ssx-chip", "ssx-jet"}
# Characteristic lines of laboratory anodes (Å): unpolarised sources, FRACTION_OF_POLARIZATION 0.5.
LAB_LINES = {"Cu Kα": 1.5418, "Mo Kα": 0.7107, "Ga Kα": 1.3414, "Ag Kα": 0.5608, "Cr Kα": 2.2909}
LAB_LINE_TOLERANCE = 0.003  # Å; Kα1/Kα2/weighted spellings of the same line


def conventional_axes(
    distance: float,
    beam_x: float,
    beam_y: float,
    pixel_x: float,
    pixel_y: float,
    two_theta: float,
    start: float,
    oscillation: float,
    rotation_axis: Vector,
) -> AxisSet:
    """The axes a miniCBF or a metadata record implies: dxtbx's convention for PILATUS/Eiger miniCBF
    (fast along +X, slow along -Y, beam along -Z in the imgCIF frame; FormatCBFMiniPilatus) with the
    beam meeting the detector at (beam_x, beam_y) mm from pixel index 0 at 2theta = 0, and a 2theta arm
    about the laboratory X axis, as DLS's imgCIF templates write DET_2THETA (l_cysteine headers)."""
    return AxisSet(
        frame="imgCIF",
        fast="FAST",
        slow="SLOW",
        fast_step=pixel_x,
        slow_step=pixel_y,
        axes=(
            Axis("DET_2THETA", "rotation", "detector", (1.0, 0.0, 0.0), start=two_theta),
            Axis(
                "DET_Z", "translation", "detector", (0.0, 0.0, -1.0), depends_on="DET_2THETA", start=distance
            ),
            Axis(
                "FAST",
                "translation",
                "detector",
                (1.0, 0.0, 0.0),
                offset=(-beam_x, beam_y, 0.0),
                depends_on="DET_Z",
            ),
            Axis("SLOW", "translation", "detector", (0.0, -1.0, 0.0), depends_on="FAST"),
            Axis("SPINDLE", "rotation", "goniometer", rotation_axis, start=start, increment=oscillation),
            Axis("SOURCE", "general", "source", (0.0, 0.0, 1.0)),
            Axis("GRAVITY", "general", "gravity", (0.0, -1.0, 0.0)),
        ),
    )


def xds_to_lab(v: Vector) -> Vector:
    """A site's axis written in XDS's frame for a conventional detector (x fast, y slow, beam +z) into
    the imgCIF frame of conventional_axes: a half turn about X."""
    return (v[0], -v[1] + 0.0, -v[2] + 0.0)


def anomalous(experiment_type: str | None) -> bool:
    """SAD and MAD data: Friedel mates are kept apart (XDS's FRIEDEL'S_LAW= FALSE)."""
    return (experiment_type or "").strip().lower() in ANOMALOUS


def experiment_kind(experiment_type: str | None, oscillation: float | None, lab: LabFrame | None) -> str:
    """rotation, grid or still: from the experiment type, else the header's scan axes, else the oscillation."""
    etype = (experiment_type or "").strip().lower()
    if etype in GRID:
        return "grid"
    if etype in STILL:
        return "still"
    if lab is not None and lab.scan_axis is not None and lab.rotation_axis is None:
        return "grid"  # translations move, nothing rotates (NXmx sample_x/y scans)
    return "rotation" if (oscillation or 0.0) != 0.0 else "still"


def source_polarization(
    stated: float | None, fact: BeamlineFact | None, wavelength: float | None, notes: list[str]
) -> float:
    """The fraction of polarisation: the header's, the site's table, a laboratory anode's 0.5, or the
    synchrotron default; each choice but the header's is noted."""
    if stated is not None:
        return stated
    if fact is not None and fact.polarization is not None:
        notes.append(f"polarisation {fact.polarization} from the site's table for {fact.beamline}")
        return fact.polarization
    if fact is not None and fact.source == "lab":
        notes.append("polarisation 0.5: laboratory source (site's beamline table)")
        return 0.5
    if wavelength is not None and (fact is None or fact.source is None):
        for line, wl in LAB_LINES.items():
            if abs(wavelength - wl) <= LAB_LINE_TOLERANCE:
                notes.append(
                    f"polarisation 0.5: wavelength {wavelength:.4f} A is the {line} line of a "
                    "laboratory anode (unpolarised); a synchrotron site at this energy says so in its table"
                )
                return 0.5
    notes.append(f"polarisation unknown: {DEFAULT_POLARIZATION} assumed (synchrotron)")
    return DEFAULT_POLARIZATION
