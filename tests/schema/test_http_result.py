"""The body and status of a GraphQL result (mx_schema.http.result_body), without a network: request errors
carry no `data` entry (400 with graphql-response+json, 200 with JSON); executed requests always do."""

from __future__ import annotations

import pytest
from graphql import build_schema, execute, parse, validate

from mx_schema import http

SCHEMA = build_schema("""
type Query { ok: String! broken: String! maybe: String }
""")
ROOT = {"ok": "yes", "broken": lambda *_: (_ for _ in ()).throw(ValueError("boom")), "maybe": lambda *_: None}


def run(query: str, variables: dict | None = None, operation: str | None = None):
    try:
        doc = parse(query)
    except Exception as exc:  # noqa: BLE001 - a GraphQLSyntaxError is the case under test
        return None, [exc]
    errors = validate(SCHEMA, doc)
    if errors:
        return None, errors
    result = execute(SCHEMA, doc, root_value=ROOT, variable_values=variables, operation_name=operation)
    return result.data, result.errors or []


@pytest.mark.parametrize("case", ["parse", "validate", "unknown operation", "variables"])
@pytest.mark.parametrize("media", [http.GRAPHQL_RESPONSE, http.JSON])
def test_request_errors_have_no_data_entry(case, media):
    data, errors = {
        "parse": lambda: run("{"),
        "validate": lambda: run("{ nope }"),
        "unknown operation": lambda: run("query A { ok }", operation="B"),
        "variables": lambda: run("query V($b: Boolean!) { ok @include(if: $b) }", {"b": "no"}),
    }[case]()
    assert errors and data is None
    assert http.is_request_error(data, errors)
    body, status = http.result_body(data, errors, [http.format_error(e) for e in errors], media)
    assert "data" not in body and body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert status == (400 if media == http.GRAPHQL_RESPONSE else 200)


@pytest.mark.parametrize("media", [http.GRAPHQL_RESPONSE, http.JSON])
def test_executed_requests_keep_data_even_when_null(media):
    data, errors = run("{ broken }")  # a non-null root field failed: data is null, but execution ran
    assert data is None and errors[0].path == ["broken"]
    assert not http.is_request_error(data, errors)
    body, status = http.result_body(data, errors, [http.format_error(e) for e in errors], media)
    assert body["data"] is None and "errors" in body and status == 200
    data, errors = run("{ ok maybe }")
    body, status = http.result_body(data, errors, [], media)
    assert body == {"data": {"ok": "yes", "maybe": None}} and status == 200


def test_site_errors_without_local_errors_keep_data():
    # the hub adds site errors (dicts) to an execution whose own errors list is empty
    body, status = http.result_body(None, [], [{"message": "site esrf: down"}], http.GRAPHQL_RESPONSE)
    assert body == {"errors": [{"message": "site esrf: down"}], "data": None} and status == 200
