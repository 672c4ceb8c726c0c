"""The search-api filter and unit code, without a network: LoopBack's where semantics on records,
includes parsed and refused, units converted by their definitions (1 nm = 10 Å; 1 eV =
1.602176634e-19 J, SI 2019 exact; 1 keV = 1000 eV)."""

from __future__ import annotations

import json

import pytest

from mx_hub.panosc.filters import FilterError, matches, parse_filter, parse_where
from mx_hub.panosc.model import RELATIONS
from mx_hub.panosc.provider import apply_includes, fold_techniques, in_unit, scoped_parameters
from mx_hub.panosc.units import from_canonical, to_canonical

RECORD = {
    "pid": "x",
    "title": "Thermolysin: OSC, sample tln_1 (id30b at esrf)",
    "creationDate": "2021-05-04T10:00:00+00:00",
    "techniques": [{"pid": "p1", "name": "macromolecular crystallography"}],
    "size": 1000,
}


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"title": {"ilike": "thermolysin"}}, True),
        ({"title": {"like": "thermolysin"}}, False),  # like is case-sensitive
        ({"title": {"like": "Thermo%sample"}}, True),  # SQL wildcards read as in LoopBack's SQL connectors
        ({"techniques.name": "macromolecular crystallography"}, True),
        ({"techniques.name": {"inq": ["x-ray absorption"]}}, False),
        ({"size": {"between": [1000, 2000]}}, True),
        ({"size": {"gt": 1000}}, False),
        ({"and": [{"size": {"gte": 1000}}, {"title": {"nlike": "Insulin"}}]}, True),
        ({"or": [{"size": {"lt": 1}}, {"creationDate": {"gt": "2021-01-01"}}]}, True),
        ({"size": {"gt": "a string"}}, False),  # incomparable: no match, not a crash
        ({"missing": "value"}, False),
        ({"creationDate": {"gt": "2021-05-04T09:59:59Z"}}, True),  # instants, whatever their offset
        # 11:59:59+02:00 is 09:59:59 UTC, before the record's 10:00 UTC (compared as text it would be after)
        ({"creationDate": {"lt": "2021-05-04T11:59:59+02:00"}}, False),
        ({"creationDate": {"between": ["2021-05-04", "2021-05-05"]}}, True),
        ({"creationDate": {"gt": "not a date"}}, False),
    ],
)
def test_where_on_a_record(where, expected):
    assert matches(where, RECORD) is expected


def test_units_by_definition():
    assert to_canonical(0.1, "nm", "length", "angstrom") == pytest.approx(1.0)
    assert to_canonical(1e-10, "m", "length", "angstrom") == pytest.approx(1.0)
    assert to_canonical(12.4, "keV", "energy", "eV") == pytest.approx(12400)
    assert to_canonical(1.602176634e-19, "J", "energy", "eV") == pytest.approx(1.0)
    assert to_canonical(0.3, "m", "length", "mm") == pytest.approx(300)
    assert from_canonical(9.655, "nm", "length", "angstrom") == pytest.approx(0.9655)
    with pytest.raises(FilterError, match="not a length"):
        to_canonical(1, "eV", "length", "angstrom")
    with pytest.raises(FilterError, match="unknown unit"):
        to_canonical(1, "furlong", "length", "angstrom")


def test_parameter_scope_compares_and_answers_in_the_unit_asked():
    params = [
        {"name": "wavelength", "value": 0.9655, "unit": "angstrom"},
        {"name": "photon_energy", "value": 12841.0, "unit": "eV"},
    ]
    where = {"and": [{"name": "wavelength"}, {"value": {"between": [0.096, 0.097]}}, {"unit": "nm"}]}
    (got,) = scoped_parameters(params, where)
    assert got["unit"] == "nm" and got["value"] == pytest.approx(0.09655)
    assert (
        scoped_parameters(
            params, {**where, "and": [*where["and"][:1], {"value": {"gt": 0.1}}, {"unit": "nm"}]}
        )
        == []
    )
    assert in_unit(params[1], "nm") is None  # an energy is not a length: no match
    energy = {"and": [{"name": "photon_energy"}, {"value": {"between": [12.8, 12.9]}}, {"unit": "keV"}]}
    assert scoped_parameters(params, energy)[0]["value"] == pytest.approx(12.841)


def test_two_parameter_scopes_must_both_match():
    """search-api common/mixins/parameters.js: every parameters scope must match some parameter."""
    item = {**RECORD, "documentId": None, "instrumentId": None, "isPublic": True, "score": 0}
    item["parameters"] = [
        {"name": "wavelength", "value": 0.9655, "unit": "angstrom"},
        {"name": "exposure_time", "value": 0.01, "unit": "s"},
    ]

    def scope(where: dict) -> dict:
        return {"relation": "parameters", "scope": {"where": where}}

    both = {
        "include": [
            scope({"name": "wavelength"}),
            scope({"and": [{"name": "exposure_time"}, {"value": {"lt": 20}}, {"unit": "ms"}]}),
        ]
    }
    shown = apply_includes(item, parse_filter(json.dumps(both), RELATIONS, "Dataset").include)
    assert shown is not None and [p["name"] for p in shown["parameters"]] == ["wavelength", "exposure_time"]
    assert shown["parameters"][1]["value"] == pytest.approx(10.0) and shown["parameters"][1]["unit"] == "ms"
    one_fails = {"include": [scope({"name": "wavelength"}), scope({"name": "photon_energy"})]}
    assert apply_includes(item, parse_filter(json.dumps(one_fails), RELATIONS, "Dataset").include) is None


def test_includes_filter_parents_as_the_reference_provider():
    item = {**RECORD, "documentId": None, "instrumentId": "esrf:id30b", "isPublic": True, "score": 0}
    item["instrument"] = {"pid": "esrf:id30b", "name": "id30b", "facility": "esrf"}
    flt = parse_filter(
        '{"include": [{"relation": "instrument", "scope": {"where": {"facility": "esrf"}}}]}',
        RELATIONS,
        "Dataset",
    )
    shown = apply_includes(item, flt.include)
    assert shown is not None and shown["instrument"]["facility"] == "esrf" and "techniques" not in shown
    flt = parse_filter(
        '{"include": [{"relation": "instrument", "scope": {"where": {"facility": "ill"}}}]}',
        RELATIONS,
        "Dataset",
    )
    assert apply_includes(item, flt.include) is None


def test_a_techniques_scope_is_decided_once():
    yes = parse_filter(
        '{"include": [{"relation": "techniques", "scope": {"where": {"name": "macromolecular crystallography"}}}]}',
        RELATIONS,
        "Dataset",
    )
    folded = fold_techniques(yes)
    assert folded is not None and folded.include[0].where is None
    no = parse_filter(
        '{"include": [{"relation": "techniques", "scope": {"where": {"name": "x-ray absorption"}}}]}',
        RELATIONS,
        "Dataset",
    )
    assert fold_techniques(no) is None


@pytest.mark.parametrize(
    ("raw", "model", "reason"),
    [
        ('{"include": "members"}', "Dataset", "unknown relation 'members' of Dataset"),
        (
            '{"include": [{"relation": "datasets", "scope": {"include": ["nope"]}}]}',
            "Document",
            "unknown relation 'nope' of Dataset",
        ),
        ('{"include": [{"relation": "parameters", "scope": []}]}', "Dataset", "scope of relation"),
        ('{"where": {"size": {"between": [1]}}}', "Dataset", "list of two values"),
        ('{"where": {"size": {"gt": 1, "lt": 2}}}', "Dataset", "exactly one operator"),
        ('{"skip": 1.5}', "Dataset", "non-negative integer"),
        ('{"limit": 100000}', "Dataset", "at most 1000"),
        ('{"sort": "title"}', "Dataset", "unknown filter key"),
    ],
)
def test_malformed_filters(raw, model, reason):
    with pytest.raises(FilterError, match=reason.replace("(", r"\(")):
        parse_filter(raw, RELATIONS, model)


def test_where_parameter_of_count():
    assert parse_where('{"title": {"ilike": "x"}}') == {"title": {"ilike": "x"}}
    assert parse_where(None) == {}
    with pytest.raises(FilterError, match="where is not JSON"):
        parse_where("{")
