"""Beamline facts a site configures: which detector (and ROI) a beamline had over which dates, the sense of
its spindle, overload, sensor thickness and source polarisation.

These are what the facility database often lacks (the ISPyB fixture has no Detector rows at all), so the
reprocessing geometry falls back on them. Read from the `beamlines` section of the site's facts file
(`MXHUB_DETECTOR_OVERRIDES`, beside its `detectors` section); no I/O beyond that one file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SOURCES = ("synchrotron", "lab", "xfel")


@dataclass(frozen=True, slots=True)
class BeamlineFact:
    """One beamline over one date range [start, end). Every field but the beamline is optional."""

    beamline: str
    start: dt.date | None = None
    end: dt.date | None = None
    detector: str | None = None  # a model name the library knows, e.g. "PILATUS3 6M"
    serial_number: str | None = None
    roi: tuple[int, int] | None = None  # pixels (fast, slow) when the detector ran in a region of interest
    rotation_axis: tuple[float, float, float] | None = None  # XDS frame: x fast, y slow, beam along +z
    overload: int | None = None
    sensor_thickness: float | None = None  # mm
    sensor_material: str | None = None
    polarization: float | None = None  # fraction 0-1 (0.5: unpolarised laboratory source)
    source: str | None = None  # synchrotron | lab | xfel
    note: str | None = None  # where these facts come from

    def covers(self, beamline: str | None, when: dt.datetime | dt.date | None) -> bool:
        if not beamline or beamline.strip().lower() != self.beamline.lower():
            return False
        if when is None:
            return self.start is None and self.end is None
        day = when.date() if isinstance(when, dt.datetime) else when
        return (self.start is None or day >= self.start) and (self.end is None or day < self.end)


@dataclass(frozen=True, slots=True)
class Beamlines:
    facts: tuple[BeamlineFact, ...] = ()

    def find(self, beamline: str | None, when: dt.datetime | dt.date | None) -> BeamlineFact | None:
        """The first fact covering the beamline on that day (an undated fact covers every day)."""
        for f in self.facts:
            if f.covers(beamline, when):
                return f
        for f in self.facts:  # a collection with no date still matches an undated entry
            if f.start is None and f.end is None and f.covers(beamline, None):
                return f
        return None

    @classmethod
    def from_mapping(cls, data: Any) -> Beamlines:
        """Parse [{"beamline": "i03", "from": "2014-01-01", "until": "2020-06-01", "detector": ...}, ...]."""
        if data is None:
            return cls()
        if not isinstance(data, list):
            raise ValueError("site facts: 'beamlines' must be a list")
        return cls(tuple(_fact(item) for item in data))


def _fact(item: Any) -> BeamlineFact:
    if not isinstance(item, Mapping) or not item.get("beamline"):
        raise ValueError(f"beamline fact needs a beamline name: {item!r}")
    source = item.get("source")
    if source is not None and source not in SOURCES:
        raise ValueError(
            f"beamline {item['beamline']}: source must be one of {', '.join(SOURCES)}, not {source!r}"
        )
    pol = item.get("polarization")
    if pol is not None and not 0.0 <= float(pol) <= 1.0:
        raise ValueError(f"beamline {item['beamline']}: polarization is a fraction 0-1, not {pol!r}")
    roi = item.get("roi")
    axis = item.get("rotation_axis")
    if axis is not None and (not isinstance(axis, list) or len(axis) != 3):
        raise ValueError(f"beamline {item['beamline']}: rotation_axis must be three numbers")
    return BeamlineFact(
        beamline=str(item["beamline"]),
        start=_date(item.get("from")),
        end=_date(item.get("until")),
        detector=item.get("detector"),
        serial_number=item.get("serial_number"),
        roi=(int(roi[0]), int(roi[1])) if roi else None,
        rotation_axis=(float(axis[0]), float(axis[1]), float(axis[2])) if axis else None,
        overload=int(item["overload"]) if item.get("overload") is not None else None,
        sensor_thickness=float(item["sensor_thickness"])
        if item.get("sensor_thickness") is not None
        else None,
        sensor_material=item.get("sensor_material"),
        polarization=float(pol) if pol is not None else None,
        source=source,
        note=item.get("note"),
    )


def _date(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"beamline fact: {value!r} is not a date (YYYY-MM-DD)") from None
