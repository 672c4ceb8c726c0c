"""Every DataCollectionFilter the implementation's data can exercise, against the oracle (SQL facts and
the SDL / docs/ispyb.md semantics): the same records, in the same order, with the same totalCount.
Values are picked from the data so each filter matches something where the data allows it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from tests.contract.walk import keys, walk
from tests.fixtures.contract import ADMIN, Fact, expected, most_common

Case = tuple[dict[str, Any], Callable[[Fact], bool]]


def _sg(value: str | None) -> str | None:
    """Space groups compare without spaces or case (SDL: `spaceGroup`, "spaces ignored")."""
    return None if value is None else value.replace(" ", "").upper()


def _iso(value: dt.datetime) -> str:
    return value.isoformat()


def _times(facts: list[Fact]) -> list[dt.datetime]:
    return sorted({f.start for f in facts if f.start is not None})


def case(name: str, facts: list[Fact]) -> Case:
    """The filter `name` with a value from `facts`, and the predicate the contract says it means."""
    if name == "sampleName":
        v = most_common(f.sample_name for f in facts)
        return {"sampleName": v}, lambda f: f.sample_name == v
    if name == "sampleName-other-case":  # exact match (docs/ispyb.md: case-sensitive)
        v = most_common(f.sample_name for f in facts).swapcase()
        return {"sampleName": v}, lambda f: f.sample_name == v
    if name == "sampleBarcode":
        v = most_common(f.sample_barcode for f in facts)
        return {"sampleBarcode": v}, lambda f: f.sample_barcode == v
    if name == "crystalUuid":  # case-insensitive
        v = most_common(f.crystal_uuid for f in facts)
        return {"crystalUuid": v.upper()}, lambda f: (f.crystal_uuid or "").lower() == v.lower()
    if name == "proteinAcronym":
        v = most_common(f.protein_acronym for f in facts)
        return {"proteinAcronym": v}, lambda f: f.protein_acronym == v
    if name == "proteinName":  # case-insensitive substring (SDL)
        v = most_common(f.protein_name for f in facts)[1:6].swapcase()
        return {"proteinName": v}, lambda f: v.lower() in (f.protein_name or "").lower()
    if name == "uniprotId":
        v = most_common(u for f in facts for u in f.uniprot_ids) or "P00698"
        return {"uniprotId": v}, lambda f: v in f.uniprot_ids
    if name == "proposal":  # case-insensitive (docs/ispyb.md)
        v = most_common(f.proposal for f in facts)
        return {"proposal": v.upper()}, lambda f: (f.proposal or "").lower() == v.lower()
    if name == "visit":
        v = most_common(f.visit for f in facts)
        return {"visit": v.upper()}, lambda f: (f.visit or "").lower() == v.lower()
    if name == "beamline":
        v = most_common(f.beamline for f in facts)
        return {"beamline": v.upper()}, lambda f: (f.beamline or "").lower() == v.lower()
    if name == "experimentType":
        v = most_common(f.experiment_type for f in facts)
        return {"experimentType": v}, lambda f: f.experiment_type == v
    if name == "startAfter":  # inclusive
        t = _times(facts)[len(_times(facts)) // 2]
        return {"startAfter": _iso(t)}, lambda f: f.start is not None and f.start >= t
    if name == "startBefore":  # exclusive
        t = _times(facts)[len(_times(facts)) // 2]
        return {"startBefore": _iso(t)}, lambda f: f.start is not None and f.start < t
    if name == "dateRange":
        times = _times(facts)
        lo, hi = times[len(times) // 4], times[(3 * len(times)) // 4]
        return (
            {"startAfter": _iso(lo), "startBefore": _iso(hi)},
            lambda f: f.start is not None and lo <= f.start < hi,
        )
    if name == "resolutionBetterThan":  # at or below, of the best successful result
        values = sorted({f.best_resolution for f in facts if f.best_resolution is not None})
        r = values[len(values) // 2]
        return {"resolutionBetterThan": r}, lambda f: f.best_resolution is not None and f.best_resolution <= r
    if name == "spaceGroup":
        v = most_common(_sg(f.best_space_group) for f in facts)
        return {"spaceGroup": v}, lambda f: _sg(f.best_space_group) == v
    if name == "combined":  # all given filters must hold
        a = most_common(f.protein_acronym for f in facts)
        values = sorted({f.best_resolution for f in facts if f.best_resolution is not None})
        r = values[-1] if len(values) < 2 else values[len(values) // 2]
        return (
            {"proteinAcronym": a, "resolutionBetterThan": r},
            lambda f: f.protein_acronym == a and f.best_resolution is not None and f.best_resolution <= r,
        )
    raise ValueError(name)


FILTERS = [
    "sampleName",
    "sampleName-other-case",
    "sampleBarcode",
    "crystalUuid",
    "proteinAcronym",
    "proteinName",
    "uniprotId",
    "proposal",
    "visit",
    "beamline",
    "experimentType",
    "startAfter",
    "startBefore",
    "dateRange",
    "resolutionBetterThan",
    "spaceGroup",
    "combined",
]
# Filters every implementation's data exercises (a non-empty answer); the others may rightly be empty
# (ISPyB has no UniProt column; a sample name in another case names no sample).
NON_EMPTY = set(FILTERS) - {"uniprotId", "sampleName-other-case"}


@pytest.mark.parametrize("name", FILTERS)
async def test_filter_matches_the_oracle(impl, name):
    flt, keep = case(name, impl.facts)
    want = keys(expected(impl.facts, ADMIN, keep))
    if name in NON_EMPTY:
        assert want, f"{name}: the data has no match for {flt}"
    size = max(2, len(want) // 4)  # a few pages each: paging under every filter, too
    seen, totals, _ = await walk(impl, flt, size, ADMIN)
    assert seen == want, flt
    assert totals == {len(want)}, flt


async def test_site_filter_at_the_hub(impl):
    if impl.kind != "hub":
        pytest.skip("`site` is a filter of the hub only (CONTRACT.md)")
    for site in sorted(impl.sites):
        want = keys(expected(impl.facts, ADMIN, lambda f, s=site: f.site == s))
        seen, totals, _ = await walk(impl, {"site": site}, 100, ADMIN)
        assert seen == want and totals == {len(want)} and want
