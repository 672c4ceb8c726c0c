"""CONTRACT.md's query on every implementation: the answer has every field the contract names, with the
promised types and units' ranges, and its records are the oracle's (SQL on the implementation's data)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from graphql import FieldNode, OperationDefinitionNode, SelectionSetNode, parse

from mx_schema.examples import CONTRACT_QUERY
from mx_schema.ids import decode_id
from tests.contract.walk import keys
from tests.fixtures.contract import ADMIN, Fact, expected, most_common

CONTRACT_MD = Path(__file__).resolve().parents[3] / "shared" / "CONTRACT.md"
FLOATS = {
    "wavelength",
    "detectorDistance",
    "beamCentreX",
    "beamCentreY",
    "axisStart",
    "axisRange",
    "exposureTime",
    "transmission",
    "flux",
    "pixelSizeX",
    "pixelSizeY",
    "a",
    "b",
    "c",
    "alpha",
    "beta",
    "gamma",
    "resolutionLow",
    "resolutionHigh",
    "completeness",
    "multiplicity",
    "meanIOverSigI",
    "ccHalf",
    "rMerge",
    "rPim",
}
INTS = {"startImageNumber", "numberOfImages"}
NON_NULL = {"id", "site", "localId", "processing", "totalCount", "pageInfo", "edges", "cursor", "node"}
NON_NULL |= {"hasNextPage"}


def contract_md_query() -> str:
    if not CONTRACT_MD.exists():
        pytest.skip(f"{CONTRACT_MD} is not here")
    text = CONTRACT_MD.read_text(encoding="utf-8")
    return re.search(r"```graphql\n(.*?)```", text, re.S).group(1)  # type: ignore[union-attr]


def selection(query: str) -> SelectionSetNode:
    op = parse(query).definitions[0]
    assert isinstance(op, OperationDefinitionNode)
    return op.selection_set


def shape(sel: SelectionSetNode) -> dict[str, Any]:
    """A selection set as {field: sub-shape or None}."""
    out: dict[str, Any] = {}
    for f in sel.selections:
        assert isinstance(f, FieldNode)
        out[f.name.value] = shape(f.selection_set) if f.selection_set else None
    return out


def check_leaf(name: str, v: Any, where: str) -> None:
    """A scalar of the contract's query has the SDL's type."""
    if name in FLOATS:
        assert isinstance(v, (int, float)) and not isinstance(v, bool), where
    elif name in INTS or name == "totalCount":
        assert isinstance(v, int) and not isinstance(v, bool), where
    elif name == "hasNextPage":
        assert isinstance(v, bool), where
    elif name == "uniprotIds":
        assert isinstance(v, list) and all(isinstance(u, str) for u in v), where
    else:
        assert isinstance(v, str), where


def check_shape(value: Any, want: dict[str, Any], path: str = "") -> None:
    """Every selected field is in the answer, with the contract's type; lists checked item by item."""
    assert isinstance(value, dict), path
    assert set(value) == set(want), (path, set(want) ^ set(value))
    for name, sub in want.items():
        v, where = value[name], f"{path}.{name}"
        assert v is not None or name not in NON_NULL, where
        if v is None:
            continue
        if sub is None:
            check_leaf(name, v, where)
        elif isinstance(v, list):
            for i, item in enumerate(v):
                check_shape(item, sub, f"{where}[{i}]")
        else:
            check_shape(v, sub, where)


def test_the_suites_query_selects_what_contract_md_names():
    def node_shape(q: str) -> dict[str, Any]:
        return shape(selection(q))["dataCollections"]["edges"]["node"]

    assert node_shape(CONTRACT_QUERY) == node_shape(contract_md_query())


def check_node(node: dict[str, Any], fact: Fact) -> None:
    """A record as served against the same record read by SQL."""
    assert (node["site"], node["localId"]) == fact.key
    gid = decode_id(node["id"])
    assert (gid.site, gid.type, gid.local_id) == (fact.site, "DataCollection", fact.local_id)
    assert node["experimentType"] == fact.experiment_type
    assert node["session"]["visit"].lower() == (fact.visit or "").lower()
    assert node["session"]["proposal"].lower() == (fact.proposal or "").lower()
    assert (node["session"]["beamline"] or "").lower() == (fact.beamline or "").lower()
    assert (node["sample"] or {}).get("name") == fact.sample_name
    assert (node["sample"] or {}).get("barcode") == fact.sample_barcode
    protein = (node["sample"] or {}).get("protein") or {}
    assert protein.get("acronym") == fact.protein_acronym
    assert set(protein.get("uniprotIds") or ()) == set(fact.uniprot_ids)
    best = node["bestProcessing"]
    if fact.best_resolution is None:
        assert best is None
    else:
        assert best["overall"]["resolutionHigh"] == pytest.approx(fact.best_resolution, rel=1e-6)
        ok = [
            p["overall"]["resolutionHigh"]
            for p in node["processing"]
            if p["status"] == "SUCCESS" and p["overall"] and p["overall"]["resolutionHigh"] is not None
        ]
        assert best["overall"]["resolutionHigh"] == pytest.approx(min(ok))
    for p in node["processing"]:
        for shell in (p["overall"], p["outer"]):
            if shell and shell["ccHalf"] is not None:
                assert 0 <= shell["ccHalf"] <= 1  # CONTRACT.md: ccHalf a fraction 0–1
            if shell and shell["completeness"] is not None:
                assert 0 <= shell["completeness"] <= 100  # %
    if node["transmission"] is not None:
        assert 0 <= node["transmission"] <= 100  # %
    if node["wavelength"] is not None:
        assert 0.1 < node["wavelength"] < 10  # Å, not m or nm
    if node["detectorDistance"] is not None:
        assert 10 < node["detectorDistance"] < 10_000  # mm
    detector = node["detector"]
    if detector and detector["pixelSizeX"] is not None:
        assert 0.005 < detector["pixelSizeX"] < 1  # mm, not µm


async def answer(impl, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    body = await impl.query(query, variables, ADMIN)
    assert "errors" not in body, body["errors"]
    return body


@pytest.mark.parametrize("pick", ["sampleName", "proteinAcronym"])
async def test_contract_query_answers_with_the_promised_shape_and_records(impl, pick):
    attr = {"sampleName": "sample_name", "proteinAcronym": "protein_acronym"}[pick]
    value = most_common(getattr(f, attr) for f in impl.facts)
    want = expected(impl.facts, ADMIN, lambda f: getattr(f, attr) == value)
    body = await answer(impl, CONTRACT_QUERY, {"filter": {pick: value}, "first": 20})
    check_shape(body["data"], shape(selection(CONTRACT_QUERY)))
    conn = body["data"]["dataCollections"]
    assert conn["totalCount"] == len(want)
    assert conn["pageInfo"]["hasNextPage"] is (len(want) > 20)
    nodes = [e["node"] for e in conn["edges"]]
    assert [(n["site"], n["localId"]) for n in nodes] == keys(want[:20])
    for node, fact in zip(nodes, want, strict=False):
        check_node(node, fact)


async def test_contract_md_query_as_written(impl):
    """The literal query of CONTRACT.md (sample tlys_jan_4: Diamond's, so empty on a site without it)."""
    query = contract_md_query()
    want = expected(impl.facts, ADMIN, lambda f: f.sample_name == "tlys_jan_4")
    body = await answer(impl, query)
    check_shape(body["data"], shape(selection(query)))
    conn = body["data"]["dataCollections"]
    assert conn["totalCount"] == len(want)
    nodes = [e["node"] for e in conn["edges"]]
    assert [(n["site"], n["localId"]) for n in nodes] == keys(want)
    for node, fact in zip(nodes, want, strict=True):
        check_node(node, fact)
