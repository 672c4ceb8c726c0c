"""Units of a PaNOSC parameter query converted to the hub's canonical units (DESIGN.md: wavelength Å,
energy eV, distances mm, time s). The search-api names units as mathjs does (doc/units-and-prefixes.md).

Pure; an unknown or mismatched unit is a FilterError (400), never a silent wrong comparison.
"""

from __future__ import annotations

from mx_hub.panosc.filters import FilterError

# unit spelling -> (dimension, factor to the canonical unit of that dimension)
UNITS: dict[str, tuple[str, float]] = {
    "angstrom": ("length", 1.0),
    "Å": ("length", 1.0),
    "A": ("length", 1.0),
    "m": ("length", 1e10),
    "meter": ("length", 1e10),
    "mm": ("length", 1e7),
    "um": ("length", 1e4),
    "µm": ("length", 1e4),
    "nm": ("length", 10.0),
    "pm": ("length", 0.01),
    "eV": ("energy", 1.0),
    "electronvolt": ("energy", 1.0),
    "keV": ("energy", 1e3),
    "MeV": ("energy", 1e6),
    "J": ("energy", 1.0 / 1.602176634e-19),
    "joule": ("energy", 1.0 / 1.602176634e-19),
    "s": ("time", 1.0),
    "second": ("time", 1.0),
    "seconds": ("time", 1.0),
    "ms": ("time", 1e-3),
    "us": ("time", 1e-6),
    "%": ("percent", 1.0),
    "percent": ("percent", 1.0),
}
# Lengths other than wavelength and resolution (Å) are canonical in mm.
MM_PER_ANGSTROM = 1e-7


def to_canonical(value: float, unit: str | None, dimension: str, canonical: str) -> float:
    """`value` in `unit`, converted to the parameter's canonical unit (`canonical`: its spelling)."""
    if unit in (None, "", canonical):
        return value
    known = UNITS.get(unit)
    if known is None:
        raise FilterError(f"unknown unit {unit!r}; known: {', '.join(sorted(UNITS))}")
    dim, factor = known
    if dim != dimension:
        raise FilterError(f"unit {unit!r} is a {dim}, not a {dimension}")
    converted = value * factor  # in Å for lengths, eV, s, %
    if dimension == "length" and canonical == "mm":
        converted *= MM_PER_ANGSTROM
    return converted


def from_canonical(value: float, unit: str, dimension: str, canonical: str) -> float:
    """The inverse of to_canonical: a canonical value shown in the caller's unit."""
    return value / to_canonical(1.0, unit, dimension, canonical)
