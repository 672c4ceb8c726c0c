"""Reprocessing inputs (XDS.INP, dials.import, MOSFLM) for any data collection at any site.

Public surface: build a Geometry from metadata or an image header, then render it. Nothing here does I/O
except Overrides.from_file(), which reads a site's detector-override JSON file.
"""

from __future__ import annotations

from site_adapter.reprocess.detectors import (
    MODELS,
    DetectorModel,
    DetectorOverride,
    Overrides,
    identify,
)
from site_adapter.reprocess.dials import render_dials
from site_adapter.reprocess.geometry import (
    Geometry,
    MissingGeometry,
    NotRotation,
    geometry_from_collection,
    geometry_from_header,
    normalise_template,
    template_from_filename,
)
from site_adapter.reprocess.mosflm import mosflm_beam, render_mosflm
from site_adapter.reprocess.xds import render_xds

FORMATS = ("xds", "dials", "mosflm")


def render(fmt: str, g: Geometry) -> str:
    """Render one of FORMATS; ValueError for any other name."""
    if fmt == "xds":
        return render_xds(g)
    if fmt == "dials":
        return render_dials(g)
    if fmt == "mosflm":
        return render_mosflm(g)
    raise ValueError(f"unknown reprocessing format {fmt!r}: choose one of {', '.join(FORMATS)}")


__all__ = [
    "FORMATS",
    "MODELS",
    "DetectorModel",
    "DetectorOverride",
    "Geometry",
    "MissingGeometry",
    "NotRotation",
    "Overrides",
    "geometry_from_collection",
    "geometry_from_header",
    "identify",
    "mosflm_beam",
    "normalise_template",
    "render",
    "render_dials",
    "render_mosflm",
    "render_xds",
    "template_from_filename",
]
