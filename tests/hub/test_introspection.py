"""Introspection: the standard queries of graphql-core, GraphiQL and Apollo load the schema at the hub, a
site and the LIMS; introspection has its own bounds, and mixing it into a data query evades nothing."""

from __future__ import annotations

import threading

import httpx
import pytest
from graphql import get_introspection_query, parse, specified_rules, validate

from mx_hub.limits import (
    HUB_RULES,
    MAX_DEPTH,
    MAX_INTROSPECTION_ALIASES,
    MAX_INTROSPECTION_DEPTH,
    MAX_INTROSPECTION_FIELDS,
)
from mx_hub.resolvers import bind_resolvers
from mx_hub.sdl import hub_schema
from site_adapter.lims.app import create_lims_app
from site_adapter.lims.store import LimsStore

# graphql-core 3.3 with every option on (`ofType` 9 deep): what graphql-codegen-style Python tools send.
GRAPHQL_CORE = get_introspection_query(
    descriptions=True,
    specified_by_url=True,
    directive_is_repeatable=True,
    schema_description=True,
    input_value_deprecation=True,
    experimental_directive_deprecation=True,
    one_of=True,
)
# GraphiQL 3 and 4 bundle graphql-js 16: getIntrospectionQuery({inputValueDeprecation, schemaDescription}),
# whose TypeRef nests `ofType` 7 deep (graphql-js 16 src/utilities/getIntrospectionQuery.ts).
GRAPHIQL = get_introspection_query(
    descriptions=True, schema_description=True, input_value_deprecation=True, type_depth=7
)


def _type_ref(levels: int) -> str:
    inner = "kind name __typename"
    for _ in range(levels):
        inner = f"kind name __typename ofType {{ {inner} }}"
    return f"fragment TypeRef on __Type {{ {inner} }}"


# Apollo Sandbox / Studio Explorer: `__typename` on every object (Apollo Client adds it) and `ofType`
# 8 deep; written out here so no Apollo package is needed.
APOLLO = """
query IntrospectionQuery {
  __schema {
    __typename
    queryType { name __typename } mutationType { name __typename } subscriptionType { name __typename }
    types { ...FullType }
    directives { name description locations isRepeatable __typename args(includeDeprecated: true) { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description specifiedByURL __typename
  fields(includeDeprecated: true) {
    name description __typename args(includeDeprecated: true) { ...InputValue } type { ...TypeRef }
    isDeprecated deprecationReason
  }
  inputFields(includeDeprecated: true) { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason __typename }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue {
  name description __typename type { ...TypeRef } defaultValue isDeprecated deprecationReason
}
""" + _type_ref(8)

STANDARD = {"graphql-core": GRAPHQL_CORE, "graphiql": GRAPHIQL, "apollo": APOLLO}


@pytest.fixture(scope="module")
def schema():
    return bind_resolvers(hub_schema())


def codes(schema, query: str) -> list[str | None]:
    errors = validate(schema, parse(query), rules=[*specified_rules, *HUB_RULES])
    return [(e.extensions or {}).get("code") for e in errors]


def of_type_chain(levels: int) -> str:
    inner = "name"
    for _ in range(levels):
        inner = f"name ofType {{ {inner} }}"
    return inner


def deep_type_query(levels: int) -> str:
    """`__type` with `ofType` nested `levels` deep: linear, so only the depth bound stops it."""
    return f'{{ __type(name: "DataCollection") {{ fields {{ type {{ {of_type_chain(levels)} }} }} }} }}'


@pytest.mark.parametrize("tool", sorted(STANDARD))
def test_standard_introspection_queries_are_valid_at_the_hub(schema, tool):
    assert codes(schema, STANDARD[tool]) == []


def test_the_standard_queries_are_deeper_than_the_data_limit(schema):
    # why introspection needs its own bound: each standard query is past MAX_DEPTH
    from mx_hub.limits import Measure

    for query in STANDARD.values():
        doc = parse(query)
        fragments = {d.name.value: d for d in doc.definitions if hasattr(d, "type_condition")}
        assert Measure(fragments).selection_set(doc.definitions[0].selection_set).depth > MAX_DEPTH


def test_introspection_has_its_own_depth_bound(schema):
    # 4 levels beside the ofType chain: __type, fields, type and the innermost name
    assert codes(schema, deep_type_query(MAX_INTROSPECTION_DEPTH - 4)) == []
    assert codes(schema, deep_type_query(MAX_INTROSPECTION_DEPTH - 3)) == ["QUERY_TOO_DEEP"]


def test_introspection_aliases_and_size_are_bounded(schema):
    many = (
        "{ "
        + " ".join(f"a{i}: __schema {{ queryType {{ name }} }}" for i in range(MAX_INTROSPECTION_ALIASES + 1))
        + " }"
    )
    assert codes(schema, many) == ["TOO_MANY_ALIASES"]
    # each spread doubles the selection: 2**11 fields once expanded, in a document of a few hundred bytes
    chain = " ".join(f"fragment D{i} on __Type {{ ...D{i + 1} ...D{i + 1} }}" for i in range(10))
    bomb = "{ __schema { types { ...D0 } } } " + chain + " fragment D10 on __Type { name kind }"
    assert 2**11 > MAX_INTROSPECTION_FIELDS
    assert codes(schema, bomb) == ["QUERY_TOO_LARGE"]


def test_introspection_cycles_are_refused(schema):
    # fields -> type -> fields -> type -> fields: the classic introspection amplification
    cyclic = "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }"
    errors = validate(schema, parse(cyclic), rules=[*specified_rules, *HUB_RULES])
    assert [e.message for e in errors] == ["Maximum introspection depth exceeded"]


@pytest.mark.parametrize(
    "query",
    [
        # a data field beside an introspection as deep as a standard query's
        f'{{ sites {{ name }} __type(name: "Query") {{ fields {{ type {{ {of_type_chain(10)} }} }} }} }}',
        # the data field hidden in a root fragment
        f"{{ ...Data __schema {{ types {{ fields {{ type {{ {of_type_chain(10)} }} }} }} }} }}"
        " fragment Data on Query { sites { name } }",
        # or in an inline fragment, with `__typename` at the root
        "{ __typename ... on Query { dataCollections { edges { node { "
        + "sample { " * 10
        + "id"
        + " }" * 10
        + " } } } } }",
    ],
)
def test_mixing_introspection_into_a_data_query_evades_nothing(schema, query):
    assert "QUERY_TOO_DEEP" in codes(schema, query)


def test_each_operation_is_measured_alone(schema):
    deep_data = "{ dataCollections { edges { node { " + "sample { " * 10 + "id" + " }" * 10 + " } } } }"
    doc = "query Intro " + GRAPHIQL.split("query IntrospectionQuery", 1)[1] + " query Data " + deep_data
    # (the schema has no cycles, so the deep data query is also invalid otherwise: code None)
    errors = validate(schema, parse(doc), rules=[*specified_rules, *HUB_RULES])
    deep = [e for e in errors if (e.extensions or {}).get("code") == "QUERY_TOO_DEEP"]
    assert [e.message for e in deep] == [f"query depth 14 exceeds the limit of {MAX_DEPTH}"]
    assert codes(schema, "{ __typename sites { name } }") == []


def test_measuring_fragment_chains_is_linear(schema):
    # `...A ...A` chains: 2**120 fields once expanded; measuring each fragment once keeps it instant
    # (measured without memo, 22 links took 10 s). The deadline is for a hung test, not a benchmark.
    chain = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(120))
    doc = parse("{ ...F0 } " + chain + " fragment F120 on Query { siteInfo { name } }")
    result: list = []
    worker = threading.Thread(
        target=lambda: result.append(validate(schema, doc, rules=list(HUB_RULES))), daemon=True
    )
    worker.start()
    worker.join(timeout=120)
    assert result == [[]]


async def introspect(client: httpx.AsyncClient, query: str, **headers: str) -> httpx.Response:
    return await client.post(
        "/graphql",
        json={"query": query, "operationName": "IntrospectionQuery"},
        headers={"accept": "application/graphql-response+json, application/json", **headers},
    )


def assert_schema_loaded(response: httpx.Response, type_name: str) -> None:
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body["errors"]
    names = {t["name"] for t in body["data"]["__schema"]["types"]}
    assert type_name in names and "__Schema" in names


@pytest.mark.parametrize("tool", sorted(STANDARD))
async def test_hub_answers_the_standard_introspection_queries(running_hub, tool):
    assert_schema_loaded(await introspect(running_hub.http, STANDARD[tool]), "DataCollection")


@pytest.mark.parametrize("tool", sorted(STANDARD))
async def test_site_answers_the_standard_introspection_queries(esrf_gql, tool):
    assert_schema_loaded(await introspect(esrf_gql.client, STANDARD[tool]), "DataCollection")


@pytest.mark.parametrize("tool", sorted(STANDARD))
async def test_lims_answers_the_standard_introspection_queries(tool):
    # introspection reads no record: a store that was never started is enough
    app = create_lims_app(LimsStore("postgresql://127.0.0.1:9/unused"), name="lims")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://lims.test"
    ) as client:
        assert_schema_loaded(await introspect(client, STANDARD[tool]), "Crystallisation")


async def test_hub_refuses_abuse_dressed_as_introspection(running_hub):
    r = await running_hub.http.post("/graphql", json={"query": deep_type_query(MAX_INTROSPECTION_DEPTH)})
    assert r.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_DEEP"
