"""The site's fast path for plain fields (site_adapter.graphql.execution) answers exactly what strawberry's
own execution answers (the reference: the same types run without it), errors included; and the
graphql-core method it overrides keeps the signature it was written against."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import strawberry
from graphql.execution import Executor

from site_adapter.graphql.execution import PageExecutionContext


@strawberry.type
class Cell:
    a: float
    label: str


@strawberry.type
class Item:
    name: str
    size: float | None
    count: int
    cell: Cell | None
    must: str  # strawberry does not check it: a None here is the executor's to report

    @strawberry.field
    async def shout(self) -> str:
        return self.name.upper()


ITEMS = [
    Item(name="a", size=1, count=2, cell=Cell(a=3, label="x"), must="m"),
    Item(name="b", size=None, count=5, cell=None, must=None),  # type: ignore[arg-type]
    Item(name="c", size=2.5, count=-1, cell=Cell(a=1.25, label="y"), must="n"),
]


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item | None]:
        return list(ITEMS)

    @strawberry.field
    def broken(self) -> Item:
        return Item(name="z", size="not a number", count=1, cell=None, must="m")  # type: ignore[arg-type]


FAST = strawberry.Schema(query=Query, execution_context_class=PageExecutionContext)
REFERENCE = strawberry.Schema(query=Query)

QUERIES = [
    "{ items { name size count cell { a label } } }",
    "{ items { n: name shout size cell { label a } x: count } }",
    "{ items { name must } }",  # null in a non-null field: the item is nulled, with a located error
    "{ items { ...F } } fragment F on Item { count name @include(if: false) size }",
    "{ broken { name size } }",  # a value the Float scalar cannot coerce
]


def _run(schema: strawberry.Schema, query: str) -> dict[str, Any]:
    result = asyncio.run(schema.execute(query))
    errors = [(e.message, e.path) for e in result.errors or ()]
    return {"data": result.data, "errors": errors}


def test_the_fast_path_answers_what_strawberry_answers() -> None:
    for query in QUERIES:
        fast, reference = _run(FAST, query), _run(REFERENCE, query)
        assert fast == reference, query
        # key order too: JSON objects keep the selection's order (spec, "Serialization Format")
        assert repr(fast["data"]) == repr(reference["data"]), query


def test_null_in_a_non_null_field_still_errors_at_its_path() -> None:
    answer = _run(FAST, "{ items { name must } }")
    assert answer["data"]["items"][1] is None
    assert answer["errors"] and answer["errors"][0][1] == ["items", 1, "must"]


def test_graphql_cores_execute_fields_keeps_the_signature_the_site_overrides() -> None:
    params = list(inspect.signature(Executor.execute_fields).parameters)
    assert params == ["self", "parent_type", "source_value", "path", "grouped_field_set", "position_context"]
    assert list(inspect.signature(PageExecutionContext.execute_fields).parameters) == params
