"""The crystallisation search filter: checked, normalised values, ready for the store to turn into SQL.

Pure: validation, chemical names widened to every spelling the vocabulary knows (vocabulary.toml), and the
"did you mean" list for terms a LIMS does not know; no SQL here.
"""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass
from typing import Any

from mx_schema.errors import ContractError
from site_adapter.lims import keys
from site_adapter.lims.vocabulary import vocabulary

MAX_FIRST = 100_000  # the hub asks for keys, not records: a large but bounded answer


@dataclass(frozen=True, slots=True)
class SearchFilter:
    protein_name: str | None = None  # case-insensitive substring of the construct's protein name
    uniprot_id: str | None = None
    ligand: str | None = None  # CCD id of a soaked compound
    chemical_name: str | None = (
        None  # a condition component, by name (case-insensitive), as the caller wrote it
    )
    chemical_cas: str | None = None  # ... or by CAS number (also set for a name whose CAS is its own)
    chemical_names: tuple[
        str, ...
    ] = ()  # lower-case spellings of the chemical (vocabulary), the name included
    chemical_canonical: str | None = None  # the vocabulary's name of the chemical, when it knows it
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


def _chemical(chemical: str) -> tuple[str | None, str | None, str | None, tuple[str, ...]]:
    """(name, CAS number, canonical name, every spelling) of a chemical given by name or CAS number."""
    if not chemical.strip():
        raise ContractError("chemical must not be empty")
    vocab = vocabulary()
    if keys.looks_like_cas(chemical):
        cas = keys.cas_number(chemical)
        return (
            None,
            cas,
            None,
            tuple(dict.fromkeys(n for c in vocab.by_cas(cas) for n in vocab.spellings(c.name))),
        )
    name = " ".join(chemical.split())
    known = vocab.lookup(name)
    if known is None:
        return name, None, None, vocab.spellings(name)
    # A CAS number shared by several entries (every PEG size has 25322-68-3) would widen the search to
    # all of them: only a chemical's own CAS number identifies it.
    own_cas = known.cas if known.cas and [c.name for c in vocab.by_cas(known.cas)] == [known.name] else None
    return name, own_cas, known.name, vocab.spellings(name)


def make_filter(
    *,
    protein_name: str | None = None,
    uniprot_id: str | None = None,
    ligand: str | None = None,
    chemical: str | None = None,
    concentration_min: float | None = None,
    concentration_max: float | None = None,
    concentration_unit: str | None = None,
    ph_min: float | None = None,
    ph_max: float | None = None,
    method: str | None = None,
    setup_after: dt.date | None = None,
    setup_before: dt.date | None = None,
) -> SearchFilter:
    """A checked filter; malformed values raise ContractError (BAD_USER_INPUT)."""
    name, cas, canonical, names = _chemical(chemical) if chemical is not None else (None, None, None, ())
    if (
        (concentration_min is not None or concentration_max is not None or concentration_unit)
        and name is None
        and cas is None
    ):
        raise ContractError(
            "concentrationMin/concentrationMax/concentrationUnit need `chemical`: "
            "the range applies to that component"
        )
    ranges: tuple[tuple[Any, Any, str], ...] = (
        (concentration_min, concentration_max, "concentration"),
        (ph_min, ph_max, "pH"),
        (setup_after, setup_before, "setup date"),
    )
    for lo, hi, what in ranges:
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
        chemical_name=name,
        chemical_cas=cas,
        chemical_names=names,
        chemical_canonical=canonical,
        concentration_min=concentration_min,
        concentration_max=concentration_max,
        concentration_unit=unit,
        ph_min=ph_min,
        ph_max=ph_max,
        method=keys.method(method) if method else None,
        setup_after=setup_after,
        setup_before=setup_before,
    )


def close_names(name: str, known: list[str], n: int = 5) -> list[str]:
    """Known names most like `name`: substring matches first, then difflib's ratio (case-insensitive)."""
    lower = {k.lower(): k for k in known}
    needle = name.lower()
    contains = sorted(
        (k for lk, k in lower.items() if needle in lk or lk in needle), key=lambda k: (len(k), k)
    )
    fuzzy = [lower[m] for m in difflib.get_close_matches(needle, list(lower), n=n, cutoff=0.5)]
    out: list[str] = []
    for k in contains + fuzzy:
        if k not in out:
            out.append(k)
    return out[:n]


def chemical_known(f: SearchFilter, names_and_cas: list[tuple[str, str | None]]) -> bool:
    """Whether any recorded component is the filter's chemical (by one of its spellings, or its CAS)."""
    spellings = set(f.chemical_names)
    return any(
        name.lower() in spellings or (f.chemical_cas is not None and cas == f.chemical_cas)
        for name, cas in names_and_cas
    )


def chemical_suggestions(f: SearchFilter, known: list[str]) -> list[str]:
    """Recorded names close to the term as written, then close to the vocabulary's name for it."""
    out: list[str] = []
    for term in (f.chemical_name, f.chemical_canonical):
        if term:
            out += [k for k in close_names(term, known) if k not in out]
    return out[:5]


def ligand_suggestions(ligand: str, known: list[tuple[str, str | None]]) -> list[str]:
    """Recorded CCD ids close to `ligand` (difflib); then those whose compound name contains it."""
    ids = sorted({ccd for ccd, _ in known if ccd})
    out = difflib.get_close_matches(ligand, ids, n=5, cutoff=0.5)
    out += [
        ccd
        for ccd, compound in known
        if ccd and compound and ligand.lower() in compound.lower() and ccd not in out
    ]
    return out[:5]
