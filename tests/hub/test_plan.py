"""Planning the queries the hub forwards (mx_hub.plan), without a network: each planned query is valid
against the common schema, carries only what the caller selected under `node`, and the connection's
envelope in one fixed shape."""

from __future__ import annotations

from graphql import FieldNode, OperationDefinitionNode, parse, validate

from mx_hub import plan
from mx_hub.sdl import common_schema

QUERY = """
query Q($min: Float, $unused: String, $withSample: Boolean!) {
  dataCollections(first: 5) {
    totalCount
    pageInfo { endCursor }
    edges { cursor node { id wl: wavelength ...Where sample @include(if: $withSample) { name } } }
  }
  other: samples { totalCount }
}
fragment Where on DataCollection { session { visit } processing { overall { resolutionHigh } } }
fragment Unused on Sample { id }
"""


def parts(query: str = QUERY, index: int = 0):
    doc = parse(query)
    op = next(d for d in doc.definitions if isinstance(d, OperationDefinitionNode))
    fragments = {d.name.value: d for d in doc.definitions if d.kind == "fragment_definition"}
    field = op.selection_set.selections[index]
    assert isinstance(field, FieldNode)
    return [field], fragments, op


def assert_valid(text: str) -> None:
    errors = validate(common_schema(), parse(text))
    assert errors == [], [e.message for e in errors]


def test_a_connection_forwards_the_node_selection_its_fragments_and_only_the_variables_it_uses():
    nodes, fragments, op = parts()
    q = plan.plan_connection(
        "dataCollections",
        "DataCollectionFilter",
        nodes,
        fragments,
        op,
        {"withSample": True, "unused": "x"},
        {"beamline": "i03"},
        5,
        "c1:after",
    )
    assert_valid(q.text)
    doc = parse(q.text)
    (operation,) = [d for d in doc.definitions if isinstance(d, OperationDefinitionNode)]
    assert {v.variable.name.value for v in operation.variable_definitions} == {
        "mxhub_filter",
        "mxhub_first",
        "mxhub_after",
        "withSample",
    }
    assert [d.name.value for d in doc.definitions if d.kind == "fragment_definition"] == ["Where"]
    assert q.variables == {
        "withSample": True,
        "mxhub_filter": {"beamline": "i03"},
        "mxhub_first": 5,
        "mxhub_after": "c1:after",
    }
    for selected in ("wl: wavelength", "...Where", "mxhub_typename: __typename", "@include(if: $withSample)"):
        assert selected in q.text
    # the envelope is the hub's fixed one, not the caller's (which asked for endCursor, not hasNextPage)
    assert "totalCount" in q.text and "hasNextPage" in q.text and "endCursor" not in q.text
    assert "other" not in q.text and "samples" not in q.text


def test_positions_only_asks_for_cursors_and_no_node_fields():
    nodes, fragments, op = parts()
    q = plan.plan_connection(
        "dataCollections", "DataCollectionFilter", nodes, fragments, op, {}, None, 25, None, with_nodes=False
    )
    assert_valid(q.text)
    assert "node" not in q.text and "Where" not in q.text and "$withSample" not in q.text
    assert q.variables == {"mxhub_filter": None, "mxhub_first": 25, "mxhub_after": None}


def test_selects_nodes_is_false_for_an_envelope_only_query():
    nodes, fragments, _ = parts()
    assert plan.selects_nodes(nodes, fragments) is True
    only_count, fragments, _ = parts("{ dataCollections { totalCount pageInfo { hasNextPage } } }")
    assert plan.selects_nodes(only_count, fragments) is False


def test_a_node_query_goes_to_one_id_with_the_callers_selection():
    query = (
        'query N($w: Boolean!) { node(id: "x") { id ... on DataCollection { wavelength @skip(if: $w) } } }'
    )
    nodes, fragments, op = parts(query)
    q = plan.plan_node(nodes, fragments, op, {"w": False}, "gid")
    assert_valid(q.text)
    assert q.variables == {"w": False, "mxhub_id": "gid"}
    assert "node(id: $mxhub_id)" in q.text and "... on DataCollection" in q.text
