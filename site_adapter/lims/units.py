"""Concentration units as screens and LIMS exports write them, normalised once at import.

Condition components: molar amounts in M, percentages as `%w/v` or `%v/v`, protein in `mg/ml`.
Soaks: molar amounts in mM (ligand soaks are usually 1-100 mM). Pure functions; no SQL.
"""

from __future__ import annotations

import re

from mx_schema.errors import ContractError

_MOLAR = {"m": 1.0, "mm": 1e-3, "um": 1e-6, "µm": 1e-6, "μm": 1e-6, "nm": 1e-9}
_PERCENT = re.compile(r"^%?\s*\(?\s*([wv])\s*/\s*v\s*\)?\s*%?$")


def normalise_unit(
    value: float | None, unit: str | None, *, molar_base: str = "M"
) -> tuple[float | None, str | None]:
    """(value, unit) in canonical units; molar amounts in `molar_base` (M or mM)."""
    if unit is None or not unit.strip():
        return value, None
    u = unit.strip()
    key = u.lower().replace(" ", "")
    if key in _MOLAR:
        factor = _MOLAR[key] / _MOLAR[molar_base.lower()]
        return (None if value is None else round(value * factor, 9)), molar_base
    m = _PERCENT.match(key)
    if m and "%" in key:
        return value, f"%{m.group(1)}/v"
    if key in ("mg/ml", "mgml-1", "g/l"):
        return value, "mg/ml"
    raise ContractError(f"unknown concentration unit {unit!r}: use M, mM, µM, %w/v, %v/v or mg/ml")


def number(value: str | float | int | None, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    text = value.strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise ContractError(f"{what} {value!r} is not a number") from None
