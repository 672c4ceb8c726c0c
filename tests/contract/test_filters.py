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


def _exact(attr: str, arg: str) -> Callable[[list[Fact]], Case]:
    """An exact, case-sensitive match on the most common value (docs/ispyb.md)."""

    def make(facts: list[Fact]) -> Case:
        v = most_common(getattr(f, attr) for f in facts)
        return {arg: v}, lambda f: getattr(f, attr) == v

    return make


def _any_case(attr: str, arg: str) -> Callable[[list[Fact]], Case]:
    """A case-insensitive match, asked in upper case (codes: proposal, visit, beamline, crystal UUID)."""

    def make(facts: list[Fact]) -> Case:
        v = most_common(getattr(f, attr) for f in facts)
        return {arg: v.upper()}, lambda f: (getattr(f, attr) or "").lower() == v.lower()

    return make


def _other_case(facts: list[Fact]) -> Case:
    v = most_common(f.sample_name for f in facts).swapcase()
    return {"sampleName": v}, lambda f: f.sample_name == v


def _protein_name(facts: list[Fact]) -> Case:  # case-insensitive substring (SDL)
    v = most_common(f.protein_name for f in facts)[1:6].swapcase()
    return {"proteinName": v}, lambda f: v.lower() in (f.protein_name or "").lower()


def _uniprot(facts: list[Fact]) -> Case:
    v = most_common(u for f in facts for u in f.uniprot_ids) or "P00698"
    return {"uniprotId": v}, lambda f: v in f.uniprot_ids


def _start_after(facts: list[Fact]) -> Case:  # inclusive
    t = _times(facts)[len(_times(facts)) // 2]
    return {"startAfter": _iso(t)}, lambda f: f.start is not None and f.start >= t


def _start_before(facts: list[Fact]) -> Case:  # exclusive
    t = _times(facts)[len(_times(facts)) // 2]
    return {"startBefore": _iso(t)}, lambda f: f.start is not None and f.start < t


def _date_range(facts: list[Fact]) -> Case:
    times = _times(facts)
    lo, hi = times[len(times) // 4], times[(3 * len(times)) // 4]
    return {
        "startAfter": _iso(lo),
        "startBefore": _iso(hi),
    }, lambda f: f.start is not None and lo <= f.start < hi


def _date_range_offsets(facts: list[Fact]) -> Case:
    """The same instants written in other offsets (docs/time.md): +05:30 and -03:00; and one bound without
    an offset, which is read as UTC."""
    times = _times(facts)
    lo, hi = times[len(times) // 3], times[(2 * len(times)) // 3]
    east, west = dt.timezone(dt.timedelta(hours=5, minutes=30)), dt.timezone(dt.timedelta(hours=-3))
    return {
        "startAfter": lo.astimezone(east).isoformat(),
        "startBefore": hi.astimezone(west).isoformat(),
    }, lambda f: f.start is not None and lo <= f.start < hi


def _date_range_no_offset(facts: list[Fact]) -> Case:
    times = _times(facts)
    lo = times[len(times) // 3]
    return {"startAfter": lo.astimezone(dt.UTC).replace(tzinfo=None).isoformat()}, (
        lambda f: f.start is not None and f.start >= lo
    )


def _median_resolution(facts: list[Fact]) -> float:
    values = sorted({f.best_resolution for f in facts if f.best_resolution is not None})
    return values[len(values) // 2]


def _resolution(facts: list[Fact]) -> Case:  # at or below, of the best successful result
    r = _median_resolution(facts)
    return {"resolutionBetterThan": r}, lambda f: f.best_resolution is not None and f.best_resolution <= r


def _space_group(facts: list[Fact]) -> Case:
    v = most_common(_sg(f.best_space_group) for f in facts)
    return {"spaceGroup": v}, lambda f: _sg(f.best_space_group) == v


def _combined(facts: list[Fact]) -> Case:  # all given filters must hold
    a = most_common(f.protein_acronym for f in facts)
    r = _median_resolution(facts)
    return (
        {"proteinAcronym": a, "resolutionBetterThan": r},
        lambda f: f.protein_acronym == a and f.best_resolution is not None and f.best_resolution <= r,
    )


# Each filter with a value from the data, and the predicate the contract says it means.
CASES: dict[str, Callable[[list[Fact]], Case]] = {
    "sampleName": _exact("sample_name", "sampleName"),
    "sampleName-other-case": _other_case,  # exact match: another case names no sample
    "sampleBarcode": _exact("sample_barcode", "sampleBarcode"),
    "crystalUuid": _any_case("crystal_uuid", "crystalUuid"),
    "proteinAcronym": _exact("protein_acronym", "proteinAcronym"),
    "proteinName": _protein_name,
    "uniprotId": _uniprot,
    "proposal": _any_case("proposal", "proposal"),
    "visit": _any_case("visit", "visit"),
    "beamline": _any_case("beamline", "beamline"),
    "experimentType": _exact("experiment_type", "experimentType"),
    "startAfter": _start_after,
    "startBefore": _start_before,
    "dateRange": _date_range,
    "dateRange-offsets": _date_range_offsets,
    "startAfter-no-offset": _date_range_no_offset,
    "resolutionBetterThan": _resolution,
    "spaceGroup": _space_group,
    "combined": _combined,
}


def case(name: str, facts: list[Fact]) -> Case:
    return CASES[name](facts)


FILTERS = list(CASES)
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
