"""The detector model library (Pilatus, Pilatus3, Eiger, Eiger2) and per-site overrides.

Owns module layouts, gap rectangles, sensor and overload defaults. It reads no image and renders no file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from site_adapter.reprocess.beamlines import Beamlines

DEMO_SITE_FACTS = Path(__file__).with_name("demo_site_facts.json")

# "mosflm-frame": MOSFLM's own detector frame (X across the spindle, Y along it), the default; the other
# two force an order, for a site whose MOSFLM runs are known to want it (see mosflm.py).
MOSFLM_ORDERS = ("mosflm-frame", "fast-slow", "slow-fast")

# Module geometry from DECTRIS' layouts, checked against the real headers in ../shared/fixtures:
#   Pilatus/Pilatus3 module 487 x 195 px of 0.172 mm, gaps 7 px (fast) and 17 px (slow):
#     6M = 5 x 12 modules = 2463 x 2527 (seed/id29 header, X-Binary-Size-Fastest/Second-Dimension),
#     12M = 5 x 24 = 2463 x 5071 (DLS_I23_P12M_thau_00001.cbf), 2M = 3 x 8 = 1475 x 1679 (l_cysteine).
#   Eiger module 1030 x 514 px of 0.075 mm, gaps 10 px and 37 px: 16M = 4 x 8 = 4150 x 4371.
#   Eiger2 module 1028 x 512 px of 0.075 mm, gaps 12 px and 38 px: 16M = 4 x 8 = 4148 x 4362
#     (dlsnxs2cbf_therm_0001.cbf, whose header calls itself "EIGER 16M" but has the Eiger2 layout).
PILATUS_MODULE = (487, 195, 7, 17)
EIGER_MODULE = (1030, 514, 10, 37)
EIGER2_MODULE = (1028, 512, 12, 38)


@dataclass(frozen=True, slots=True)
class DetectorModel:
    """One detector model: layout in pixels, pixel size and sensor in mm, overload in counts."""

    name: str  # canonical, e.g. "PILATUS3 6M"
    family: str  # PILATUS | PILATUS3 | EIGER | EIGER2
    modules_fast: int
    modules_slow: int
    module_fast: int  # pixels of one module along the fast (x) axis
    module_slow: int
    gap_fast: int  # dead pixels between modules along x
    gap_slow: int
    pixel_size: float  # mm, square pixels
    sensor_material: str = "Si"
    sensor_thickness: float = 0.320  # mm
    overload: int = 1048500  # counts; the header's Count_cutoff wins when present
    minimum_spot_pixels: int = 3  # XDS MINIMUM_NUMBER_OF_PIXELS_IN_A_SPOT
    caveat: str | None = None  # what a flat single-panel description gets wrong for this model

    @property
    def nx(self) -> int:
        return self.modules_fast * self.module_fast + (self.modules_fast - 1) * self.gap_fast

    @property
    def ny(self) -> int:
        return self.modules_slow * self.module_slow + (self.modules_slow - 1) * self.gap_slow

    @property
    def xds_detector(self) -> str:
        # XDS DETECTOR= names (xds_parameters.html#DETECTOR=): PILATUS covers Pilatus and Pilatus3,
        # EIGER covers Eiger and Eiger2 (dxtbx's serialize/xds.py maps them the same way).
        return "EIGER" if self.family.startswith("EIGER") else "PILATUS"

    def gap_rectangles(self) -> list[tuple[int, int, int, int]]:
        """The module gaps as XDS UNTRUSTED_RECTANGLE= x1 x2 y1 y2, vertical gaps first.

        XDS excludes pixels with x1 < x < x2 and y1 < y < y2 in 1-based pixel numbers, so a gap of
        pixels 488..494 is written "487 495" and a full column span is "0 NY+1". This reproduces the
        fifteen rectangles of the ESRF ID29 XDS.INP (seed/id29_XDS.INP) and dxtbx's
        UNTRUSTED_RECTANGLE export (f0 + x0 - 1, f1 + x0) exactly.
        """
        rects: list[tuple[int, int, int, int]] = []
        for i in range(1, self.modules_fast):
            x1 = i * self.module_fast + (i - 1) * self.gap_fast
            rects.append((x1, x1 + self.gap_fast + 1, 0, self.ny + 1))
        for j in range(1, self.modules_slow):
            y1 = j * self.module_slow + (j - 1) * self.gap_slow
            rects.append((0, self.nx + 1, y1, y1 + self.gap_slow + 1))
        return rects


def _pilatus(size: str, fast: int, slow: int, family: str) -> DetectorModel:
    mf, ms, gf, gs = PILATUS_MODULE
    return DetectorModel(f"{family} {size}", family, fast, slow, mf, ms, gf, gs, 0.172)


def _eiger(size: str, fast: int, slow: int, family: str) -> DetectorModel:
    mf, ms, gf, gs = EIGER2_MODULE if family == "EIGER2" else EIGER_MODULE
    # Eiger sensors at MX beamlines are mostly 0.450 mm Si; 16-bit images saturate at 65535 unless the
    # header or the site says otherwise. Smaller pixels spread a spot over more of them.
    return DetectorModel(
        f"{family} {size}",
        family,
        fast,
        slow,
        mf,
        ms,
        gf,
        gs,
        0.075,
        sensor_thickness=0.450,
        overload=65535,
        minimum_spot_pixels=4,
    )


PILATUS_SIZES = {"300K": (1, 3), "1M": (2, 5), "2M": (3, 8), "6M": (5, 12), "12M": (5, 24)}
EIGER_SIZES = {"4M": (2, 4), "9M": (3, 6), "16M": (4, 8)}

MODELS: dict[str, DetectorModel] = {}
for _family in ("PILATUS", "PILATUS3"):
    for _size, (_f, _s) in PILATUS_SIZES.items():
        MODELS[f"{_family} {_size}"] = _pilatus(_size, _f, _s, _family)
# The 12M (Diamond I23) is a half-cylinder of 24 module rows around the sample, in vacuum; its header's
# Detector_distance (0.010 m in DLS_I23_P12M_thau_00001.cbf) is not a flat-detector distance.
for _family in ("PILATUS", "PILATUS3"):
    MODELS[f"{_family} 12M"] = replace(
        MODELS[f"{_family} 12M"],
        caveat=(
            "the PILATUS 12M is curved (24 module rows on a cylinder): this flat single-panel geometry is only "
            "a starting point; XDS needs one SEGMENT= per row, DIALS reads the curved model from the images"
        ),
    )
for _family in ("EIGER", "EIGER2"):
    for _size, (_f, _s) in EIGER_SIZES.items():
        MODELS[f"{_family} {_size}"] = _eiger(_size, _f, _s, _family)

_SIZE = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*([MK])(?![A-Z])", re.I)


def identify(name: str | None, nx: int | None = None, ny: int | None = None) -> DetectorModel | None:
    """The library model for a detector name as headers and ISPyB spell it, or None when unknown.

    Accepts "PILATUS3 6M", "Pilatus 6M-F", "EIGER2 XE 16M", "EIGER X 16M". When the image size is known
    it decides between look-alikes: dlsnxs2cbf_therm_0001.cbf says "EIGER 16M" with Eiger2's 4148 x 4362.
    """
    if not name:
        return None
    upper = name.upper()
    size_match = _SIZE.search(upper)
    if size_match is None:
        return None
    number = size_match.group(1)
    if "." in number:  # "6.0M" -> "6M"
        number = number.rstrip("0").rstrip(".")
    size = f"{number}{size_match.group(2)}"
    if "PILATUS" in upper:
        families = ["PILATUS3", "PILATUS"] if "PILATUS3" in upper else ["PILATUS", "PILATUS3"]
    elif "EIGER" in upper:
        families = ["EIGER2", "EIGER"] if "EIGER2" in upper else ["EIGER", "EIGER2"]
    else:
        return None
    candidates = [MODELS[f"{f} {size}"] for f in families if f"{f} {size}" in MODELS]
    if not candidates:
        return None
    if nx and ny:
        for c in candidates:
            if (c.nx, c.ny) == (nx, ny):
                return c
        return None  # the name says one thing and the image another: not a model we can vouch for
    return candidates[0]


@dataclass(frozen=True, slots=True)
class DetectorOverride:
    """A site's correction for one detector (by serial number) or one model (by name)."""

    serial_number: str | None = None
    model: str | None = None
    sensor_thickness: float | None = None  # mm
    sensor_material: str | None = None
    overload: int | None = None
    rotation_axis: tuple[float, float, float] | None = None  # XDS frame: x fast, y slow, beam along +z
    mosflm_beam_order: str | None = None  # "mosflm-frame" | "fast-slow" | "slow-fast" (see mosflm.py)
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Overrides:
    """A site's facts file: detector overrides (the first matching serial number wins, then the model
    name) and the beamline table (beamlines.py)."""

    detectors: tuple[DetectorOverride, ...] = field(default=())
    beamlines: Beamlines = field(default_factory=Beamlines)

    def find(self, serial_number: str | None, model: str | None) -> DetectorOverride | None:
        if serial_number:
            for d in self.detectors:
                if d.serial_number and d.serial_number.strip() == serial_number.strip():
                    return d
        if model:
            for d in self.detectors:
                if d.model and d.serial_number is None and d.model.strip().upper() == model.strip().upper():
                    return d
        return None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Overrides:
        """Parse {"detectors": [{"serial_number": "60-0128", "sensor_thickness": 1.0, ...}, ...],
        "beamlines": [{"beamline": "i03", "from": "2014-01-01", "detector": "PILATUS3 6M", ...}, ...]}."""
        items = data.get("detectors", [])
        if not isinstance(items, list):
            raise ValueError("detector overrides: 'detectors' must be a list")
        out: list[DetectorOverride] = []
        for item in items:
            if not isinstance(item, Mapping) or not (item.get("serial_number") or item.get("model")):
                raise ValueError(f"detector override needs serial_number or model: {item!r}")
            axis = item.get("rotation_axis")
            order = item.get("mosflm_beam_order")
            if order not in (None,) + MOSFLM_ORDERS:
                raise ValueError(
                    f"mosflm_beam_order must be one of {', '.join(MOSFLM_ORDERS)}, not {order!r}"
                )
            out.append(
                DetectorOverride(
                    serial_number=item.get("serial_number"),
                    model=item.get("model"),
                    sensor_thickness=_opt_float(item.get("sensor_thickness")),
                    sensor_material=item.get("sensor_material"),
                    overload=int(item["overload"]) if item.get("overload") is not None else None,
                    rotation_axis=tuple(float(v) for v in axis) if axis is not None else None,  # type: ignore[arg-type]
                    mosflm_beam_order=order,
                    note=item.get("note"),
                )
            )
        return cls(tuple(out), Beamlines.from_mapping(data.get("beamlines")))

    @classmethod
    def from_file(cls, path: str) -> Overrides:
        with open(path, encoding="utf-8") as fh:
            return cls.from_mapping(json.load(fh))

    @classmethod
    def demo(cls) -> Overrides:
        """The demo sites' facts file, shipped with the package (demo_site_facts.json)."""
        return cls.from_file(str(DEMO_SITE_FACTS))


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)
