"""Checking a site's record against the schema (mx_hub.answers), without a network: every kind of lie is
found and nulled where GraphQL's null propagation puts it; a truthful record passes untouched. And the one
graphql-core internal the hub overrides keeps the signature it was written against."""

from __future__ import annotations

import inspect

import pytest
from graphql import FieldNode, OperationDefinitionNode, build_schema, parse
from graphql.execution import Executor

from mx_hub.answers import AnswerChecker, Lie
from mx_hub.plan import TYPENAME_KEY

SCHEMA = build_schema(
    """
    enum Status { SUCCESS FAILED }
    interface Node { id: ID! }
    type Cell { a: Float }
    type Crystal implements Node { id: ID! spaceGroup: String cell: Cell }
    type Result { status: Status! resolution: Float }
    type Collection implements Node {
      id: ID!
      wavelength: Float
      images: Int
      crystal: Crystal
      results: [Result!]
      tags: [String]
    }
    type Query { node(id: ID!): Node  one: Collection! }
    """
)

QUERY = """
query($withTags: Boolean!) {
  node(id: "x") {
    __typename
    id
    ... on Collection {
      wl: wavelength images
      crystal { __typename id spaceGroup cell { a } }
      results { status resolution }
      tags @include(if: $withTags)
    }
    ...More
  }
}
fragment More on Crystal { spaceGroup }
"""


def checker(query: str = QUERY, variables: dict | None = None) -> tuple[AnswerChecker, list[FieldNode]]:
    doc = parse(query)
    op = next(d for d in doc.definitions if isinstance(d, OperationDefinitionNode))
    fragments = {d.name.value: d for d in doc.definitions if d.kind == "fragment_definition"}
    field = op.selection_set.selections[0]
    assert isinstance(field, FieldNode)
    return AnswerChecker(SCHEMA, fragments, variables or {"withTags": True}), [field]


def record(**changes) -> dict:
    rec = {
        TYPENAME_KEY: "Collection",
        "__typename": "Collection",
        "id": "c1",
        "wl": 0.9793,
        "images": 3600,
        "crystal": {"__typename": "Crystal", "id": "x1", "spaceGroup": "P212121", "cell": {"a": 79.1}},
        "results": [{"status": "SUCCESS", "resolution": 1.4}, {"status": "FAILED", "resolution": None}],
        "tags": ["a", None],
    }
    rec.update(changes)
    return rec


def check(rec: dict, query: str = QUERY, variables: dict | None = None):
    c, nodes = checker(query, variables)
    return c.check(rec, SCHEMA.query_type.fields["node"].type, nodes)


def test_a_truthful_record_passes_with_its_nested_objects_untouched():
    rec = record()
    checked = check(rec)
    assert checked.lies == [] and checked.nulled is False
    assert checked.value == {k: v for k, v in rec.items() if k != TYPENAME_KEY}
    assert list(checked.value) == ["__typename", "id", "wl", "images", "crystal", "results", "tags"]
    assert checked.value["crystal"] is rec["crystal"] and checked.value["results"] is rec["results"]


def test_a_string_in_a_float_is_nulled_and_named():
    checked = check(record(wl="fast"))
    assert checked.value["wl"] is None and checked.value["id"] == "c1"
    assert [lie.path for lie in checked.lies] == [("wl",)]
    assert "str 'fast' where a Float belongs" in checked.lies[0].message


@pytest.mark.parametrize(
    ("value", "why"),
    [(True, "bool"), (3.5, "float"), (2**31, "out of range"), ("12", "str")],
)
def test_an_int_must_be_a_32_bit_integer(value, why):
    checked = check(record(images=value))
    assert checked.value["images"] is None and why in checked.lies[0].message


def test_an_unknown_enum_value_nulls_up_to_the_nearest_nullable_position():
    rec = record(results=[{"status": "SUCCESS", "resolution": 1.4}, {"status": "MAYBE", "resolution": 2.0}])
    checked = check(rec)
    # status is Status! inside [Result!]: the null climbs through the item to the nullable list
    assert checked.value["results"] is None
    assert checked.lies == [Lie(("results", 1, "status"), "'MAYBE' is no value of the enum Status")]


def test_a_null_in_a_non_null_field_of_a_nested_object_nulls_that_object():
    crystal = {"__typename": "Crystal", "id": None, "spaceGroup": "P1", "cell": None}
    checked = check(record(crystal=crystal))
    assert checked.value["crystal"] is None and checked.value["wl"] == 0.9793
    assert checked.lies[0].path == ("crystal", "id")


def test_a_null_in_the_records_own_non_null_field_nulls_the_record():
    checked = check(record(id=None))
    assert checked.nulled is True and checked.value is None
    assert checked.lies[0].path == ("id",)


def test_a_wrong_typename_is_a_lie_whether_the_hubs_or_the_callers():
    checked = check(record(**{TYPENAME_KEY: "Cell"}))  # Cell is no Node
    assert checked.nulled is True and "'Cell' is no type of Node" in checked.lies[0].message
    checked = check(record(**{TYPENAME_KEY: "Banana"}))  # no type at all
    assert checked.nulled is True
    crystal = {"__typename": "Cell", "id": "x1", "spaceGroup": "P1", "cell": None}
    checked = check(record(crystal=crystal))
    assert checked.value["crystal"] is None
    assert checked.lies == [Lie(("crystal", "__typename"), "__typename 'Cell' for a record of type Crystal")]


def test_the_runtime_type_picks_the_fragments_that_apply():
    rec = {TYPENAME_KEY: "Crystal", "__typename": "Crystal", "id": "x1", "spaceGroup": 7}
    checked = check(rec)  # `...More` applies to a Crystal, the Collection fields do not
    assert checked.value == {"__typename": "Crystal", "id": "x1", "spaceGroup": None}
    assert checked.lies[0].path == ("spaceGroup",)


def test_keys_nobody_asked_for_are_dropped_and_skipped_fields_are_not_sent():
    rec = record(crystal={"__typename": "Crystal", "id": "x1", "spaceGroup": "P1", "cell": None, "secret": 1})
    rec.pop("tags")
    checked = check(rec, variables={"withTags": False})
    assert "secret" not in checked.value["crystal"] and "tags" not in checked.value
    assert checked.lies == []


def test_a_list_where_an_object_belongs_and_an_object_where_a_list_belongs():
    checked = check(record(crystal=["x"], tags={"a": 1}))
    assert checked.value["crystal"] is None and checked.value["tags"] is None
    assert sorted(lie.path for lie in checked.lies) == [("crystal",), ("tags",)]


def test_a_nullable_list_item_is_nulled_alone():
    checked = check(record(tags=["a", 5]))
    assert checked.value["tags"] == ["a", None]
    assert checked.lies[0].path == ("tags", 1)


def test_graphql_cores_complete_value_keeps_the_signature_the_hub_overrides():
    """mx_hub.execution.HubExecutor overrides this graphql-core internal: an upgrade that changes it must
    fail here, not silently skip the check of site answers."""
    params = list(inspect.signature(Executor.complete_value).parameters)
    assert params == [
        "self",
        "return_type",
        "field_details_list",
        "info",
        "path",
        "result",
        "position_context",
    ]
    from graphql.execution.collect_fields import FieldDetails

    from mx_hub.execution import HubExecutor

    assert list(inspect.signature(HubExecutor.complete_value).parameters) == params
    assert FieldDetails._fields[0] == "node"  # HubExecutor reads each field detail's `.node`


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"wl": 1},  # an int is a Float on the wire
        {"wl": "1.5"},
        {"images": 7.0},
        {"tags": None},
        {"tags": []},
        {"results": []},
        {"results": [{"status": "FAILED", "resolution": 2}]},
        {"results": [{"status": "failed", "resolution": 2.0}]},
        {"crystal": None},
        {"crystal": {"__typename": "Crystal", "id": "x", "spaceGroup": None, "cell": {"a": None}}},
        {"crystal": {"__typename": "Crystal", "id": "x", "spaceGroup": None}},  # a key missing
        {"extra": 1},
    ],
)
def test_the_fast_path_accepts_exactly_what_the_slow_path_finds_no_lie_in(changes):
    from mx_hub.answers import _Selection

    rec = record(**changes)
    c, nodes = checker()
    node_type = SCHEMA.query_type.fields["node"].type
    fast = c._fast_record(rec, node_type, _Selection(nodes, nodes))
    slow = c._value(rec, node_type, _Selection(nodes, nodes), lies := [], None, top=True)
    assert fast == (lies == [] and slow == {k: v for k, v in rec.items() if k != TYPENAME_KEY})
