"""Pure rules for the units of ISPyB's characterisation and scan tables, each saying why.

No SQL and no I/O: the screening and scan readers call these and keep the notes they return as the
record's provenance. Rows cited are Diamond's data.sql (../shared/fixtures/ispyb-database).
"""

from __future__ import annotations

from site_adapter.backends.ispyb import normalise as n

# An absorption edge MX uses lies between about 4 keV (Ca K) and 25 keV (Ag K); a stored energy
# below this is keV (as ESRF's ISPyB writes EnergyScan energies), above it eV (Diamond: Fe K 7062.75).
_KEV_BELOW = 100.0


def energy_ev(value: object, column: str) -> tuple[float | None, str | None]:
    """An energy in eV: Diamond stores eV (EnergyScan.startEnergy 7062.75 for the Fe K edge), other
    sites keV (12.658); a value below 100 can only be keV and is multiplied by 1000."""
    v = n.number(value)
    if v is None or v == 0:
        return None, None
    if abs(v) < _KEV_BELOW:
        return round(v * 1000.0, 6), f"{column}: stored in keV, multiplied by 1000"
    return v, None


def fraction_percent(value: object, column: str) -> tuple[float | None, str | None]:
    """A transmission stored as a fraction 0-1, as a percentage. Diamond's EnergyScan.transmissionFactor
    holds 0.016, 0.256, 1 where its XFEFluorescenceSpectrum.beamTransmission for the same attenuators
    holds 1.6, 25.6, 100: the scan's column is a fraction."""
    v = n.number(value)
    if v is None:
        return None, None
    if v <= 1.0:
        return round(v * 100.0, 6), f"{column}: stored as a fraction 0-1, multiplied by 100"
    return v, None


def completeness_percent(value: object) -> tuple[float | None, bool]:
    """ISPyB's screening completeness is a fraction (data.sql: EDNA wedges 1, 0.997; mosflm 0.98, 0.92);
    the model's is %. A value above 1 is already a percentage. Returns (value, converted)."""
    v = n.number(value)
    if v is None:
        return None, False
    if v <= 1.0:
        return round(v * 100.0, 6), True
    return v, False


def beam_um(value: object, column: str) -> tuple[float | None, str | None]:
    """A beam size in µm: EnergyScan/XFEFluorescenceSpectrum.beamSizeVertical/Horizontal are µm at
    Diamond (20 and 50 on i03), while DataCollection.beamSizeAtSampleX is mm (0.05): a value below 1
    is read as mm (no MX beam is under a micrometre) and multiplied by 1000."""
    v = n.number(value)
    if v is None or v == 0:
        return None, None
    if v < 1.0:
        return round(v * 1000.0, 6), f"{column}: stored in mm, multiplied by 1000"
    return v, None


def positive(value: object) -> float | None:
    """A time or dose where 0 means "not given": mosflm's sub-wedges store exposureTime 0 and EDNA's
    wedges doseTotal 0 (data.sql ScreeningStrategySubWedge 1111566, ScreeningStrategyWedge 1143796)."""
    v = n.number(value)
    return None if v is None or v <= 0 else v


def flag(value: object) -> bool | None:
    i = n.integer(value)
    return None if i is None else bool(i)


def file_name(path: object) -> str | None:
    """A stored full path, served as is: the files helper (ResultFile) is not relied on here."""
    return n.text(path)
