"""NeXus/NXmx master files (*_master.h5, .nxs) read with h5py into the same CbfHeader as a CBF image,
geometry included (nexus_axes.py); `read_frame` reads one image's pixels from the data files.

Indexing reads metadata only: the data files (external links) may be gone, which is reported, not fatal.
"""
# Sources: NeXus NXmx application definition (units by attribute; beam_center_x/y "in physical units
# or pixels as documented by the units attribute"; NXdetector_module data_size slow-to-fast), DLS's
# nexgen writer (the "gold standard" NXmx files: per-image scan arrays, module_offset, pixel sizes and
# distance in m), and the DECTRIS SIMPLON 1.6 master layout (detectorSpecific, sample/goniometer).

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from site_adapter.axes import ROTATION, TRANSLATION, AxisError, AxisSet, resolve
from site_adapter.indexer.cbf_header import CbfHeader, HeaderError, parse_timestamp
from site_adapter.indexer.nexus_axes import (
    ANGLE_DEG,
    LENGTH_MM,
    PIXELS,
    Node,
    factor,
    find_modules,
    read_axes,
    text,
    units_of,
)

_TIME_S = {"s": 1.0, "second": 1.0, "seconds": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6}
_WAVELENGTH_A = {"angstrom": 1.0, "angstroms": 1.0, "å": 1.0, "a": 1.0, "nm": 10.0, "pm": 0.01, "m": 1e10}
_ENERGY_EV = {"ev": 1.0, "kev": 1e3}
HC_EV_A = 12398.419843320026  # h*c in eV*Å (CODATA 2018), for files that give the energy only
_LEGACY_AXES = ("omega", "phi", "kappa", "chi")


def _dataset(group: h5py.Group | None, *names: str) -> h5py.Dataset | None:
    for name in names:
        obj = group.get(name) if group is not None else None
        if isinstance(obj, h5py.Dataset):
            return obj
    return None


def _value(
    group: h5py.Group | None,
    *names: str,
    units: dict[str, float] | None = None,
    default_unit: float | None = 1.0,
) -> Any:
    """First existing dataset among `names`, scalar or first element, converted by its units attribute
    (unknown units are an error naming the dataset; a missing unit takes `default_unit`)."""
    obj = _dataset(group, *names)
    if obj is None:
        return None
    try:
        raw = obj[()]
    except (OSError, KeyError):  # an external link to a missing file, or a compressed dataset
        return None
    if isinstance(raw, np.ndarray):
        if raw.size == 0:
            return None
        raw = raw.flat[0]
    if isinstance(raw, (bytes, np.bytes_, str)):
        return text(raw)
    value = raw.item() if hasattr(raw, "item") else raw
    f32 = obj.dtype == np.float32
    if f32:  # keep the 7 digits a float32 holds, not its binary tail
        value = float(f"{value:.7g}")
    if units is not None and isinstance(value, (int, float)):
        value = float(value) * factor(units_of(obj), units, obj.name, default=default_unit)
        value = float(f"{value:.7g}" if f32 else f"{value:.12g}")
    return value


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) else None


def _detector(f: h5py.File) -> h5py.Group | None:
    """/entry/instrument/detector, else the instrument's first NXdetector group."""
    inst = f.get("entry/instrument")
    if not isinstance(inst, h5py.Group):
        return None
    if isinstance(inst.get("detector"), h5py.Group):
        return inst["detector"]
    for name in sorted(inst):
        obj = inst.get(name)
        if isinstance(obj, h5py.Group) and text(obj.attrs.get("NX_class")) == "NXdetector":
            return obj
    return None


def _beam_centre(det: h5py.Group | None, name: str, pixel_mm: float | None) -> float | None:
    """beam_center_x/y in pixels: a length is divided by the pixel size; no units means pixels."""
    obj = _dataset(det, name)
    if obj is None:
        return None
    value = _value(det, name)
    if not isinstance(value, (int, float)):
        return None
    unit = units_of(obj)
    if unit is None or unit in PIXELS:
        return float(value)
    mm = float(value) * factor(unit, LENGTH_MM, obj.name)
    if not pixel_mm:
        raise HeaderError(f"{obj.name} is a length ({unit}) but the pixel size is unknown")
    return float(f"{mm / pixel_mm:.10g}")


def data_files(f: h5py.File, master: Path) -> tuple[list[str], list[str], list[str]]:
    """(data entries under /entry/data, their external file names, the names not on disk)."""
    data = f.get("entry/data")
    entries: list[str] = []
    files: list[str] = []
    missing: list[str] = []
    if not isinstance(data, h5py.Group):
        return entries, files, missing
    for name in sorted(data):
        link = data.get(name, getlink=True)
        if isinstance(link, h5py.ExternalLink):
            entries.append(name)
            files.append(link.filename)
            target = (
                link.filename if os.path.isabs(link.filename) else os.path.join(master.parent, link.filename)
            )
            if not os.path.exists(target):
                missing.append(link.filename)
        elif name.startswith("data") and isinstance(data.get(name), h5py.Dataset):
            entries.append(name)
    return entries, files, missing


def _data_shape(f: h5py.File, entries: list[str]) -> tuple[int | None, tuple[int, ...] | None]:
    """Images in the readable data entries and one image's shape; (None, None) when none is readable."""
    total, shape = 0, None
    for name in entries:
        try:
            ds = f["entry/data"][name]
        except (KeyError, OSError):
            continue
        if isinstance(ds, h5py.Dataset) and ds.ndim >= 2:
            total += ds.shape[0] if ds.ndim == 3 else 1
            shape = shape or tuple(ds.shape[-2:])
    return (total or None), shape


def read_nexus(path: str | Path) -> CbfHeader:
    """Metadata and geometry of an NXmx/Eiger master; `extra` gives n_images, data_files (external
    file names), missing_data_files, scan_kind (rotation | grid | still) and warnings.

    Raises HeaderError (never another exception) naming the dataset or axis at fault."""
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise HeaderError(f"not a readable HDF5 file: {exc}") from None
    with f:
        if "entry" not in f:
            raise HeaderError("HDF5 file without /entry: not a NeXus master file")
        try:
            return _read(f, Path(path))
        except HeaderError:
            raise
        except (OSError, KeyError, ValueError, TypeError, AttributeError, IndexError) as exc:
            raise HeaderError(f"unreadable NeXus metadata: {type(exc).__name__}: {exc}") from None


def _pixel_size(det: Any, module: Any) -> tuple[float | None, float | None]:
    """The detector's pixel size (mm), else the module's pixel directions' lengths."""
    px = _value(det, "x_pixel_size", units=LENGTH_MM, default_unit=None)
    py = _value(det, "y_pixel_size", units=LENGTH_MM, default_unit=None)
    if px is None and module is not None:
        px = _value(module, "fast_pixel_direction", units=LENGTH_MM, default_unit=None)
        py = _value(module, "slow_pixel_direction", units=LENGTH_MM, default_unit=None)
    return px, py if py is not None else px


def _wavelength(beam: Any) -> float | None:
    wavelength: float | None = _value(beam, "incident_wavelength", units=_WAVELENGTH_A)
    if wavelength is None:
        energy = _value(beam, "incident_energy", units=_ENERGY_EV, default_unit=None)
        wavelength = float(f"{HC_EV_A / energy:.7g}") if energy else None
    return wavelength


def _refined(
    axes: AxisSet,
    px: float | None,
    py: float | None,
    distance: float | None,
    beam_x: float | None,
    beam_y: float | None,
    two_theta: float | None,
) -> tuple[float | None, float | None, float | None, float | None, float | None, float | None]:
    """What the NeXus fields left out, from the resolved axes: pixel size, distance, beam centre, 2θ."""
    try:
        lab = resolve(axes)
    except AxisError as exc:
        raise HeaderError(f"geometry: {exc}") from None
    px = px if px is not None else axes.fast_step
    py = py if py is not None else axes.slow_step
    distance = distance if distance is not None else float(f"{lab.distance:.10g}")
    centre = lab.beam_centre
    if (beam_x is None or beam_y is None) and centre is not None and px and py:
        beam_x, beam_y = float(f"{centre[0] / px:.10g}"), float(f"{centre[1] / py:.10g}")
    if two_theta is None and any(a.name == "two_theta" for a in axes.axes):
        two_theta = axes.axis("two_theta").start
    return px, py, distance, beam_x, beam_y, two_theta


def _scan_angles(gonio: dict[str, Node], rotating: list[str]) -> tuple[float | None, float | None]:
    """Start and increment of the scan: the rotating axis, else omega (or the first rotation) at rest."""
    rotations = [name for name, n in gonio.items() if n.kind == ROTATION]
    scan_axis = (
        rotating[0]
        if rotating
        else ("omega" if "omega" in rotations else (rotations[0] if rotations else None))
    )
    if scan_axis is None:
        return None, None
    return gonio[scan_axis].start, gonio[scan_axis].increment if rotating else 0.0


def _image_count(
    f: h5py.File, gonio: dict[str, Node], spec: Any, entries: Any
) -> tuple[int, tuple[int, ...] | None]:
    """Images in the scan, and the data's shape when it had to be read to count them."""
    n_images = max((n.count for n in gonio.values()), default=0)
    if n_images > 1:
        return n_images, None
    # no per-image scan arrays: the detector's own count, else the data's
    nimages, ntrigger = _value(spec, "nimages"), _value(spec, "ntrigger")
    if nimages:
        return int(nimages) * int(ntrigger or 1), None
    in_data, shape = _data_shape(f, entries)
    return in_data or n_images or 1, shape


def _pixel_counts(
    f: h5py.File,
    spec: Any,
    modules: list[Any],
    entries: Any,
    shape: tuple[int, ...] | None,
    warnings: list[str],
) -> tuple[int | None, int | None]:
    # detectorSpecific's pixel counts first: some DECTRIS firmware wrote the module's data_size as
    # (fast, slow) (dxtbx FormatNXmxEigerFilewriter swaps known Eiger sizes back).
    nx, ny = _int(_value(spec, "x_pixels_in_detector")), _int(_value(spec, "y_pixels_in_detector"))
    if len(modules) > 1:
        warnings.append(f"{len(modules)} detector modules: the geometry is the first module's")
    size = _dataset(modules[0], "data_size") if len(modules) == 1 else None
    if size is not None and size.size >= 2:  # NXdetector_module: data_size runs slow to fast
        dims = [int(v) for v in np.asarray(size[()]).ravel()]
        nx, ny = nx or dims[-1], ny or dims[-2]
    if nx is None or ny is None:
        if shape is None:
            shape = _data_shape(f, entries)[1]
        if shape is not None:
            nx, ny = nx or shape[-1], ny or shape[-2]
    return nx, ny


def _read(f: h5py.File, master: Path) -> CbfHeader:
    warnings: list[str] = []
    det = _detector(f)
    spec = det.get("detectorSpecific") if det is not None else None
    gon = f.get("entry/sample/goniometer")
    beam = f.get("entry/instrument/beam") or f.get("entry/sample/beam")
    modules = find_modules(det)
    module = modules[0] if modules else None

    px, py = _pixel_size(det, module)
    beam_x, beam_y = _beam_centre(det, "beam_center_x", px), _beam_centre(det, "beam_center_y", py)
    distance = _value(det, "distance", "detector_distance", units=LENGTH_MM, default_unit=None)
    two_theta = _value(det, "goniometer/two_theta_start", "goniometer/two_theta", units=ANGLE_DEG)
    legacy_gon = {
        name: (
            _value(gon, f"{name}_start", name, units=ANGLE_DEG),
            _value(gon, f"{name}_increment", units=ANGLE_DEG),
        )
        for name in _LEGACY_AXES
    }
    scanning = next((n for n in _LEGACY_AXES if legacy_gon[n][1]), "omega")
    legacy: dict[str, Any] = {
        "pixel_size_x": px,
        "pixel_size_y": py,
        "beam_x": beam_x,
        "beam_y": beam_y,
        "distance": distance,
        "two_theta": two_theta,
        "serial": _value(det, "detector_number"),
        "scan_axis": (scanning, legacy_gon[scanning][0] or 0.0, legacy_gon[scanning][1] or 0.0)
        if legacy_gon[scanning][0] is not None
        else None,
    }

    geometry = read_axes(f, det, module, legacy, warnings)
    axes = geometry.axes
    if axes is not None:
        px, py, distance, beam_x, beam_y, two_theta = _refined(
            axes, px, py, distance, beam_x, beam_y, two_theta
        )

    gonio = geometry.goniometer
    rotating = [name for name, n in gonio.items() if n.kind == ROTATION and n.changes]
    moving = [name for name, n in gonio.items() if n.kind == TRANSLATION and n.changes]
    scan_kind = "rotation" if rotating else ("grid" if moving else "still")
    start_angle, increment = _scan_angles(gonio, rotating)

    entries, files, missing = data_files(f, master)
    if missing:
        warnings.append(f"data files missing: {' '.join(missing)}")
    n_images, shape = _image_count(f, gonio, spec, entries)
    nx, ny = _pixel_counts(f, spec, modules, entries, shape, warnings)

    def angle(name: str) -> tuple[float | None, float | None]:
        if name in gonio:
            return gonio[name].start, gonio[name].increment
        return legacy_gon.get(name, (None, None))

    material = _value(det, "sensor_material")
    date = _value(spec, "data_collection_date") or _value(f["entry"], "start_time")
    transmission = _value(f.get("entry/instrument/attenuator"), "attenuator_transmission")
    extra = {"n_images": str(n_images), "data_files": " ".join(files), "scan_kind": scan_kind}
    if missing:
        extra["missing_data_files"] = " ".join(missing)
    if moving or rotating:
        extra["scan_axes"] = " ".join(rotating + moving)
    compression = _value(spec, "compression")
    if isinstance(compression, str) and compression:
        extra["compression"] = compression
    if warnings:
        extra["warnings"] = "; ".join(warnings)
    return CbfHeader(
        format="NXmx",
        detector=_value(det, "description") or _value(det, "type"),
        serial_number=_value(det, "detector_number", "serial_number"),
        pixel_size_x=px,
        pixel_size_y=py,
        sensor_material={"Si": "Silicon", "CdTe": "CdTe"}.get(material, material),
        sensor_thickness=_value(det, "sensor_thickness", units=LENGTH_MM, default_unit=None),
        exposure_time=_value(det, "count_time", units=_TIME_S),
        exposure_period=_value(det, "frame_time", units=_TIME_S),
        count_cutoff=_int(
            _value(det, "saturation_value") or _value(spec, "countrate_correction_count_cutoff")
        ),
        threshold_setting=_value(det, "threshold_energy", units=_ENERGY_EV),
        n_excluded_pixels=_int(_value(spec, "number_of_excluded_pixels")),
        wavelength=_wavelength(beam),
        detector_distance=distance,
        beam_x=beam_x,
        beam_y=beam_y,
        flux=_value(beam, "total_flux", "flux"),
        transmission=float(f"{transmission * 100.0:.10g}")
        if isinstance(transmission, (int, float))
        else None,
        start_angle=start_angle,
        angle_increment=increment,
        detector_2theta=two_theta,
        omega=angle("omega")[0],
        omega_increment=angle("omega")[1],
        kappa=angle("kappa")[0],
        kappa_increment=angle("kappa")[1],
        phi=angle("phi")[0],
        phi_increment=angle("phi")[1],
        chi=angle("chi")[0],
        chi_increment=angle("chi")[1],
        oscillation_axis=rotating[0] if rotating else None,
        oscillation_axis_tokens=(rotating[0],) if rotating else (),
        timestamp=parse_timestamp(date[:26]) if isinstance(date, str) else None,
        dimension_x=nx,
        dimension_y=ny,
        extra=extra,
        axes=axes,
    )


def read_frame(path: str | Path, index: int = 0) -> np.ndarray:
    """Image `index` (0-based) of a master's data, across its data_NNNNNN files. Raises HeaderError
    when the data file holding it is missing or its compression cannot be decoded."""
    import hdf5plugin  # noqa: F401  # registers bitshuffle/LZ4 (Eiger's bslz4) before h5py reads chunks

    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise HeaderError(f"not a readable HDF5 file: {exc}") from None
    with f:
        entries, _, _ = data_files(f, Path(path))
        remaining = index
        for name in entries:
            link = f["entry/data"].get(name, getlink=True)
            where = link.filename if isinstance(link, h5py.ExternalLink) else f"/entry/data/{name}"
            try:
                ds = f["entry/data"][name]
                n = ds.shape[0] if ds.ndim == 3 else 1
                if remaining < n:
                    return np.asarray(ds[remaining] if ds.ndim == 3 else ds[()])
            except KeyError:
                raise HeaderError(f"data file {where} ({name}) is missing") from None
            except OSError as exc:
                raise HeaderError(f"cannot read {where} ({name}): {exc}") from None
            remaining -= n
        raise HeaderError(f"image {index + 1} is beyond the data ({index - remaining} images)")
