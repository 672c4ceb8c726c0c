"""The crystallisation search filter: checked, normalised values, ready for the store to turn into SQL.

Pure: validation and the "did you mean" list for unknown chemical names; no SQL here.
"""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass

from mx_schema.errors import ContractError
from site_adapter.lims import keys

MAX_FIRST = 100_000  # the hub asks for keys, not records: a large but bounded answer


@dataclass(frozen=True, slots=True)
class SearchFilter:
    protein_name: str | None = None  # case-insensitive substring of the construct's protein name
    uniprot_id: str | None = None
    ligand: str | None = None  # CCD id of a soaked compound
    chemical_name: str | None = None  # a condition component, by name (case-insensitive, exact)
    chemical_cas: str | None = None  # ... or by CAS number
    concentration_min: float | None = None  # in the component's canonical unit (M, %w/v, %v/v)
    concentration_max: float | None = None
    concentration_unit: str | None = None
    ph_min: float | None = None  # the condition's pH
    ph_max: float | None = None
    method: str | None = None
    setup_after: dt.date | None = None
    setup_before: dt.date | None = None

    @property
    def has_chemical(self) -> bool:
        return self.chemical_name is not None or self.chemical_cas is not None


def make_filter(*, protein_name: str | None = None, uniprot_id: str | None = None, ligand: str | None = None,
                chemical: str | None = None, concentration_min: float | None = None,
                concentration_max: float | None = None, concentration_unit: str | None = None,
                ph_min: float | None = None, ph_max: float | None = None, method: str | None = None,
                setup_after: dt.date | None = None, setup_before: dt.date | None = None) -> SearchFilter:
    """A checked filter; malformed values raise ContractError (BAD_USER_INPUT)."""
    name = cas = None
    if chemical is not None:
        if not chemical.strip():
            raise ContractError("chemical must not be empty")
        if keys.looks_like_cas(chemical):
            cas = keys.cas_number(chemical)
        else:
            name = " ".join(chemical.split())
    if (concentration_min is not None or concentration_max is not None or concentration_unit) and name is None \
            and cas is None:
        raise ContractError("concentrationMin/concentrationMax/concentrationUnit need `chemical`: "
                            "the range applies to that component")
    for lo, hi, what in ((concentration_min, concentration_max, "concentration"), (ph_min, ph_max, "pH"),
                         (setup_after, setup_before, "setup date")):
        if lo is not None and hi is not None and lo > hi:
            raise ContractError(f"{what} range is empty: minimum {lo} is above maximum {hi}")
    for v, what in ((ph_min, "phMin"), (ph_max, "phMax")):
        if v is not None and not 0 <= v <= 14:
            raise ContractError(f"{what} {v} is outside 0-14")
    unit = None
    if concentration_unit:
        from site_adapter.lims.units import normalise_unit

        unit = normalise_unit(1.0, concentration_unit)[1]
        if unit == "M" and concentration_unit.strip().lower() != "m":
            raise ContractError("concentrationUnit: molar components are stored in M; give the range in M")
    protein = " ".join(protein_name.split()) if protein_name else None
    return SearchFilter(
        protein_name=protein or None,
        uniprot_id=keys.uniprot_id(uniprot_id) if uniprot_id else None,
        ligand=keys.ccd_id(ligand) if ligand else None,
        chemical_name=name, chemical_cas=cas,
        concentration_min=concentration_min, concentration_max=concentration_max, concentration_unit=unit,
        ph_min=ph_min, ph_max=ph_max,
        method=keys.method(method) if method else None,
        setup_after=setup_after, setup_before=setup_before,
    )


class UnknownChemical(ContractError):
    """A chemical name no condition uses; carries the known names closest to it."""

    def __init__(self, name: str, suggestions: list[str]) -> None:
        hint = f"; did you mean: {', '.join(suggestions)}" if suggestions else ""
        super().__init__(f"unknown chemical {name!r}: no crystallisation condition in this LIMS uses it{hint}")
        self.extensions = {"suggestions": suggestions}


def close_names(name: str, known: list[str], n: int = 5) -> list[str]:
    """Known names most like `name`: substring matches first, then difflib's ratio (case-insensitive)."""
    lower = {k.lower(): k for k in known}
    needle = name.lower()
    contains = sorted((k for lk, k in lower.items() if needle in lk or lk in needle), key=lambda k: (len(k), k))
    fuzzy = [lower[m] for m in difflib.get_close_matches(needle, list(lower), n=n, cutoff=0.5)]
    out: list[str] = []
    for k in contains + fuzzy:
        if k not in out:
            out.append(k)
    return out[:n]
