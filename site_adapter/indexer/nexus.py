"""NeXus/NXmx master files (*_master.h5) read with h5py into the same CbfHeader as a CBF image.

Reads metadata datasets only, never the image data (which often lives in external files that may be
gone). Field names follow the NXmx application definition and the Dectris Eiger master layout.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np

from site_adapter.indexer.cbf_header import CbfHeader, HeaderError, parse_timestamp

_LENGTH_MM = {"m": 1000.0, "mm": 1.0, "um": 1e-3, "micron": 1e-3}
_TIME_S = {"s": 1.0, "ms": 1e-3, "us": 1e-6}
_WAVELENGTH_A = {"angstrom": 1.0, "a": 1.0, "nm": 10.0, "m": 1e10}
_ENERGY_EV = {"ev": 1.0, "kev": 1e3}


def _value(f: h5py.File, *paths: str, units: dict[str, float] | None = None) -> Any:
    """First existing dataset among `paths`, scalar or first element, converted by its units attr."""
    for path in paths:
        obj = f.get(path)
        if not isinstance(obj, h5py.Dataset):
            continue
        raw = obj[()]
        if isinstance(raw, np.ndarray):
            if raw.size == 0:
                continue
            raw = raw.flat[0]
        if isinstance(raw, (bytes, np.bytes_)):
            return raw.decode("utf-8", "replace")
        value = raw.item() if hasattr(raw, "item") else raw
        if obj.dtype == np.float32:  # keep the 7 digits a float32 holds, not its binary tail
            value = float(f"{value:.7g}")
        if units and isinstance(value, (int, float)):
            unit = obj.attrs.get("units", b"")
            unit = (unit.decode() if isinstance(unit, bytes) else str(unit)).strip().lower()
            value = float(value) * units.get(unit, 1.0)
            value = float(f"{value:.7g}" if obj.dtype == np.float32 else f"{value:.12g}")
        return value
    return None


def _count_images(f: h5py.File) -> int | None:
    spec = "entry/instrument/detector/detectorSpecific/"
    nimages, ntrigger = _value(f, spec + "nimages"), _value(f, spec + "ntrigger")
    if nimages:
        return int(nimages) * int(ntrigger or 1)
    data = f.get("entry/data/data")
    if isinstance(data, h5py.Dataset):
        return int(data.shape[0])
    return None


def read_nexus(path: str | Path) -> CbfHeader:
    """Metadata of an NXmx/Eiger master file; `extra` says how many images and which data files."""
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise HeaderError(f"not a readable HDF5 file: {exc}") from None
    with f:
        if "entry" not in f:
            raise HeaderError("HDF5 file without /entry: not a NeXus master file")
        det = "entry/instrument/detector/"
        gon = "entry/sample/goniometer/"
        tr = "entry/sample/transformations/"
        desc = _value(f, det + "description")
        material = _value(f, det + "sensor_material")
        date = _value(f, det + "detectorSpecific/data_collection_date", "entry/start_time")
        links = []
        data = f.get("entry/data")
        if isinstance(data, h5py.Group):
            for name in data:
                link = data.get(name, getlink=True)
                if isinstance(link, h5py.ExternalLink):
                    links.append(link.filename)
        omega_inc = _value(f, gon + "omega_increment", units={"degree": 1.0, "deg": 1.0})
        n_images = _count_images(f)
        extra = {"n_images": str(n_images) if n_images is not None else "",
                 "data_files": " ".join(links)}
        return CbfHeader(
            format="NXmx",
            detector=desc,
            serial_number=_value(f, det + "detector_number"),
            pixel_size_x=_value(f, det + "x_pixel_size", units=_LENGTH_MM),
            pixel_size_y=_value(f, det + "y_pixel_size", units=_LENGTH_MM),
            sensor_material={"Si": "Silicon", "CdTe": "CdTe"}.get(material, material),
            sensor_thickness=_value(f, det + "sensor_thickness", units=_LENGTH_MM),
            exposure_time=_value(f, det + "count_time", units=_TIME_S),
            exposure_period=_value(f, det + "frame_time", units=_TIME_S),
            count_cutoff=_int(_value(f, det + "saturation_value",
                                     det + "detectorSpecific/countrate_correction_count_cutoff")),
            threshold_setting=_value(f, det + "threshold_energy", units=_ENERGY_EV),
            n_excluded_pixels=_int(_value(f, det + "detectorSpecific/number_of_excluded_pixels")),
            wavelength=_value(f, "entry/instrument/beam/incident_wavelength",
                              "entry/sample/beam/incident_wavelength", units=_WAVELENGTH_A),
            detector_distance=_value(f, det + "detector_distance", det + "distance", units=_LENGTH_MM),
            beam_x=_value(f, det + "beam_center_x"),
            beam_y=_value(f, det + "beam_center_y"),
            flux=_value(f, "entry/instrument/beam/total_flux", "entry/sample/beam/flux"),
            start_angle=_value(f, gon + "omega_start", gon + "omega", tr + "omega"),
            angle_increment=omega_inc,
            detector_2theta=_value(f, det + "goniometer/two_theta_start", det + "goniometer/two_theta"),
            kappa=_value(f, gon + "kappa_start", gon + "kappa", tr + "kappa"),
            kappa_increment=_value(f, gon + "kappa_increment"),
            phi=_value(f, gon + "phi_start", gon + "phi", tr + "phi"),
            phi_increment=_value(f, gon + "phi_increment"),
            chi=_value(f, gon + "chi_start", gon + "chi", tr + "chi"),
            chi_increment=_value(f, gon + "chi_increment"),
            omega=_value(f, gon + "omega_start", gon + "omega", tr + "omega"),
            omega_increment=omega_inc,
            oscillation_axis="omega" if omega_inc else None,
            oscillation_axis_tokens=("omega",) if omega_inc else (),
            timestamp=parse_timestamp(date[:26]) if isinstance(date, str) else None,
            dimension_x=_int(_value(f, det + "detectorSpecific/x_pixels_in_detector")),
            dimension_y=_int(_value(f, det + "detectorSpecific/y_pixels_in_detector")),
            extra=extra,
        )


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) else None
