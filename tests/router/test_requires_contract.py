"""One contract, not two: the representation our hub sends the LIMS is the one the LIMS's SDL asks any
Federation v2 router for (`Sample.crystallisation @requires(fields: ...)`)."""

from __future__ import annotations

from pathlib import Path

from graphql import FieldNode, ObjectTypeDefinitionNode, StringValueNode, parse, print_ast

from mx_hub import stitch
from mx_hub.registry import SiteRecord
from site_adapter.lims import schema as lims_schema

SDL = Path(__file__).resolve().parents[2] / "schema" / "lims.graphql"


def _sdl_requires() -> str:
    doc = parse(SDL.read_text(encoding="utf-8"))
    sample = next(
        d for d in doc.definitions if isinstance(d, ObjectTypeDefinitionNode) and d.name.value == "Sample"
    )
    field = next(f for f in sample.fields or () if f.name.value == "crystallisation")
    requires = next(d for d in field.directives or () if d.name.value == "requires")
    value = requires.arguments[0].value
    assert isinstance(value, StringValueNode)
    return value.value


def _unaliased(node: FieldNode) -> str:
    inner = " ".join(_unaliased(s) for s in node.selection_set.selections) if node.selection_set else ""
    return f"{node.name.value} {{ {inner} }}" if inner else node.name.value


def _normal(selection: str) -> str:
    return print_ast(parse("{" + selection + "}"))


def test_the_hub_and_the_lims_state_the_same_requires():
    assert _sdl_requires() == lims_schema.REQUIRES == stitch.REQUIRES


def test_the_hub_asks_the_site_for_exactly_the_key_and_the_required_fields():
    asked = " ".join(_unaliased(f) for f in stitch.KEY_SELECTIONS)
    assert _normal(asked) == _normal("id " + _sdl_requires())


def test_the_representation_is_the_sites_values_of_the_required_fields():
    served = {
        "id": "diamond:Sample:7",
        "crystal": {"uuid": "5b1f7a52-3c1e-4c8e-9a55-1b7d2f0e8c11"},
        "barcode": "DLSPIN0007",
        "externalIds": [
            {"system": "lims", "kind": "crystal-uuid", "value": "5b1f7a52-3c1e-4c8e-9a55-1b7d2f0e8c11"},
            {"system": "lims", "kind": "plate-well-drop", "value": "DLSPL01/B7/2"},
        ],
    }
    aliased = {
        stitch.SID: served["id"],
        stitch.UUID: served["crystal"],
        stitch.PIN: served["barcode"],
        stitch.EXT: served["externalIds"],
    }
    assert stitch.representation(aliased) == {"__typename": "Sample", **served}
    assert stitch.representation({stitch.SID: "s", stitch.UUID: None, stitch.PIN: None, stitch.EXT: []}) == {
        "__typename": "Sample",
        "id": "s",
        "crystal": None,
        "barcode": None,
        "externalIds": [],
    }


def _lims(sdl: str | None) -> SiteRecord:
    return SiteRecord("lims", "http://lims.test/graphql", "lims", None, "lims", "up", None, None, None, sdl)


def test_a_lims_registered_before_it_stated_requires_gets_the_keys_it_reads():
    # A LIMS deployed before issue 20 reads crystalUuid, pinBarcode and plateWellDrop (its SDL, kept in
    # tests/router/subgraphs/lims-hub-keys.graphql, has no @requires); a newer hub must not leave it blind.
    before = (Path(__file__).resolve().parent / "subgraphs" / "lims-hub-keys.graphql").read_text()
    assert not stitch.states_requires(_lims(before))
    assert not stitch.states_requires(_lims(None))
    assert stitch.states_requires(_lims(SDL.read_text(encoding="utf-8")))
    rep = {
        "__typename": "Sample",
        "id": "esrf:Sample:3",
        "crystal": {"uuid": "5B1F7A52-3C1E-4C8E-9A55-1B7D2F0E8C11"},
        "barcode": "ESPIN0003",
        "externalIds": [{"system": "lims", "kind": "plate-well-drop", "value": "ESPL01/C4/1"}],
    }
    assert stitch.legacy_representation(rep) == {
        "__typename": "Sample",
        "id": "esrf:Sample:3",
        "crystalUuid": "5b1f7a52-3c1e-4c8e-9a55-1b7d2f0e8c11",
        "pinBarcode": "ESPIN0003",
        "plateWellDrop": "ESPL01/C4/1",
    }
