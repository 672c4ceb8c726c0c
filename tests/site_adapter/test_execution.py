"""The site's page executor (site_adapter.graphql.execution) answers exactly what strawberry's own
execution answers (the reference: the same types run without it), errors and null propagation included,
for plain fields, plain methods, batched relations (site_adapter.graphql.batches) and fields it leaves to
graphql-core; and the graphql-core methods it uses keep the signatures it was written against."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import strawberry
from graphql.execution import Executor
from strawberry.extensions import ParserCache

from site_adapter.graphql.batches import batched
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


def _run(schema: strawberry.Schema, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    result = asyncio.run(schema.execute(query, variable_values=variables))
    # graphql-core records concurrent errors in completion order: compare them as a set
    errors = sorted(((e.message, e.path) for e in result.errors or ()), key=repr)
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


# -- relations: a batch function per relation, called once per level by the page executor --------------

CALLS: list[tuple[str, int]] = []  # (relation, number of parents) per batch call


@strawberry.interface
class Named:  # an interface gives Owner graphql-core's runtime type check (is_type_of)
    name: str


@strawberry.type
class Owner(Named):
    name: str
    rank: int | None

    @strawberry.field
    def label(self) -> str:  # a plain method: no info, no arguments
        return f"<{self.name}>"


async def _owners(context: Any, shelves: Any) -> list[Owner | None]:
    CALLS.append(("owner", len(shelves)))
    await asyncio.sleep(0)
    if any(s.key == "boom" for s in shelves):  # the whole batch fails, as a store that is down does
        raise RuntimeError("the owner store is down")
    return [
        None
        if s.key == "nobody"
        else Book(title="not an owner", pages=1)  # type: ignore[misc]  # the wrong type: an error
        if s.key == "odd"
        else Owner(name=s.key.upper(), rank=len(s.key))
        for s in shelves
    ]


async def _books(context: Any, shelves: Any, prefix: str | None = None) -> list[list[Book | None]]:
    CALLS.append(("books", len(shelves)))
    out = []
    for s in shelves:
        books: list[Book | None] = [Book(title=f"{s.key}-{i}", pages=i or None) for i in range(3)]
        if s.key == "gap":
            books.insert(1, None)
        out.append([b for b in books if b is None or prefix is None or b.title.startswith(prefix)])
    return out


def _as_site(fn: Any) -> Any:
    """batched() hands the batch function the request's SiteContext (context["site"])."""
    return fn


@strawberry.type
class Book:
    title: str
    pages: int | None

    @strawberry.field
    def must_pages(self) -> int:  # null when pages is: an error in a non-null field of a list item
        return self.pages  # type: ignore[return-value]


@strawberry.type
class Shelf:
    key: str

    @strawberry.field(metadata=batched(_owners))
    async def owner(self, info: strawberry.Info) -> Owner | None:
        return (await _owners(info.context["site"], [self]))[0]

    @strawberry.field(metadata=batched(_owners))
    async def strict_owner(self, info: strawberry.Info) -> Owner:
        return (await _owners(info.context["site"], [self]))[0]  # type: ignore[return-value]

    @strawberry.field(metadata=batched(_books))
    async def books(self, info: strawberry.Info, prefix: str | None = None) -> list[Book | None]:
        return (await _books(info.context["site"], [self], prefix))[0]

    @strawberry.field(metadata=batched(_books))
    async def strict_books(self, info: strawberry.Info, prefix: str | None = None) -> list[Book]:
        return (await _books(info.context["site"], [self], prefix))[0]  # type: ignore[return-value]

    @strawberry.field
    async def unplanned(self, info: strawberry.Info) -> str | None:  # no batch form: graphql-core's
        if self.key == "bad":
            raise ValueError("unplanned failure")
        return self.key * 2

    @strawberry.field
    def with_info(self, info: strawberry.Info) -> str:  # a sync resolver that needs info: graphql-core's
        return f"{self.key}:{info.field_name}"


SHELVES = ["a", "nobody", "gap", "bb", "bad", "c"]


@strawberry.type
class ShelfQuery:
    @strawberry.field
    def shelves(self, keys: list[str] | None = None) -> list[Shelf]:
        return [Shelf(key=k) for k in (keys or SHELVES)]

    @strawberry.field
    def shelf(self, key: str) -> Shelf | None:
        return Shelf(key=key)


class _Context(dict):  # what the site's view gives strawberry: a dict holding the SiteContext
    pass


SHELF_FAST = strawberry.Schema(query=ShelfQuery, execution_context_class=PageExecutionContext)
SHELF_REFERENCE = strawberry.Schema(query=ShelfQuery)

SHELF_QUERIES = [
    "{ shelves { key owner { name rank label } books { title pages } } }",
    "{ shelves { key __typename o: owner { __typename label } } }",
    "{ shelves { key strictOwner { name } } }",  # null and error in a non-null relation: shelf nulled
    "{ shelves { key strictBooks { title mustPages } } }",  # a non-null item fails: the list is null
    "{ shelves { key books { title mustPages } } }",
    "{ shelves { key unplanned withInfo owner { label } } }",  # planned and unplanned side by side
    '{ shelves { books(prefix: "b") { title } all: books { title } } }',
    "query ($p: String) { shelves { books(prefix: $p) { title } } }",
    "{ shelves { ...S } } fragment S on Shelf { key owner { ... on Owner { name } } }",
    "{ shelves { key owner @include(if: false) { name } books @skip(if: true) { title } } }",
    '{ shelf(key: "boom") { key owner { name } unplanned } }',
    '{ shelves(keys: ["boom"]) { key owner { name } strictBooks { title } } }',
    '{ shelves(keys: ["boom", "boom"]) { key strictOwner { name } } }',
    '{ shelves(keys: ["a", "odd", "c"]) { key owner { name } } }',  # an object of another type
    '{ shelves(keys: ["a", "odd"]) { key strictOwner { name } } }',
    '{ shelves(keys: ["nobody", "a"]) { strictOwner { label } } }',
]


def test_planned_relations_answer_what_strawberry_answers() -> None:
    for query in SHELF_QUERIES:
        variables = {"p": "gap"} if "$p" in query else None
        fast = asyncio.run(SHELF_FAST.execute(query, variable_values=variables, context_value={"site": None}))
        reference = asyncio.run(
            SHELF_REFERENCE.execute(query, variable_values=variables, context_value={"site": None})
        )
        assert fast.data == reference.data, query
        assert repr(fast.data) == repr(reference.data), query  # key order too
        errors = sorted((e.message, [str(p) for p in e.path or ()]) for e in fast.errors or ())
        expected = sorted((e.message, [str(p) for p in e.path or ()]) for e in reference.errors or ())
        assert errors == expected, query


def test_a_relation_is_one_batch_call_per_level() -> None:
    CALLS.clear()
    result = asyncio.run(
        SHELF_FAST.execute("{ shelves { owner { name } books { title } } }", context_value={"site": None})
    )
    assert not result.errors and result.data is not None
    assert sorted(CALLS) == [("books", len(SHELVES)), ("owner", len(SHELVES))]
    CALLS.clear()
    asyncio.run(SHELF_REFERENCE.execute("{ shelves { owner { name } } }", context_value={"site": None}))
    assert CALLS == [("owner", 1)] * len(SHELVES)  # the reference: one call per shelf


def test_graphql_core_methods_the_executor_calls_keep_their_signatures() -> None:
    from graphql.execution.values import get_argument_values

    assert list(inspect.signature(Executor.handle_field_error).parameters) == [
        "self",
        "raw_error",
        "return_type",
        "field_details_list",
        "path",
    ]
    assert list(inspect.signature(Executor.collect_subfields).parameters) == [
        "self",
        "return_type",
        "field_details_list",
    ]
    assert list(inspect.signature(get_argument_values).parameters)[:3] == [
        "type_def",
        "node",
        "variable_values",
    ]


def test_builtin_leaf_coercion_answers_what_graphql_core_answers() -> None:
    """The shortcut for values already of the scalar's type (page_plan._coercion) against graphql-core's
    own coercion, on ordinary values and on the edges graphql-core refuses or converts."""
    from graphql import GraphQLBoolean, GraphQLFloat, GraphQLID, GraphQLInt, GraphQLString

    from site_adapter.graphql.page_plan import _coercion

    cases = {
        GraphQLFloat: [0.0, -1.5, 1e300, 3, True, "2.5", float("nan"), float("inf"), -float("inf")],
        GraphQLInt: [0, -7, 2**31 - 1, -(2**31), 2**31, -(2**31) - 1, False, 2.0, 2.5, "12"],
        GraphQLString: ["", "tlys", 5, 1.5, True],
        GraphQLID: ["abc", 12],
        GraphQLBoolean: [True, False, 0, 1, 2],
    }
    for scalar, values in cases.items():
        fast = _coercion(scalar)
        for value in values:
            try:
                expected: Any = scalar.coerce_output_value(value)
            except Exception as error:  # noqa: BLE001 - the shortcut must raise the same way
                expected = type(error)
            try:
                got: Any = fast(value)
            except Exception as error:  # noqa: BLE001
                got = type(error)
            assert got == expected and type(got) is type(expected), (scalar, value)


SHELF_CACHED = strawberry.Schema(
    query=ShelfQuery,
    execution_context_class=PageExecutionContext,
    extensions=[lambda: ParserCache(maxsize=16)],  # as the site's schema: one document per query text
)


def test_plans_kept_between_requests_follow_the_variables_that_shape_them(monkeypatch) -> None:
    """site_adapter/graphql/plan_cache.py: the same text with other values of a variable that reaches a
    relation or a directive answers for those values; a variable only the root field reads reuses the
    plans (compiled once)."""
    import site_adapter.graphql.execution as execution

    compiled: list[str] = []
    compile_plan = execution.compile_plan

    def counting(parent_type: Any, *args: Any) -> Any:
        compiled.append(parent_type.name)
        return compile_plan(parent_type, *args)

    monkeypatch.setattr(execution, "compile_plan", counting)
    query = """query ($keys: [String!], $p: String, $withOwner: Boolean!) {
      shelves(keys: $keys) { key books(prefix: $p) { title } owner @include(if: $withOwner) { name } } }"""
    runs = [
        {"keys": ["a", "gap"], "p": "a", "withOwner": True},
        {"keys": ["a", "gap"], "p": "gap", "withOwner": True},
        {"keys": ["bb"], "p": "gap", "withOwner": False},
        {"keys": ["gap", "c"], "p": "a", "withOwner": True},  # the first run's plans, other root keys
    ]
    counts = []
    for variables in runs:
        fast = asyncio.run(
            SHELF_CACHED.execute(query, variable_values=variables, context_value={"site": None})
        )
        reference = asyncio.run(
            SHELF_REFERENCE.execute(query, variable_values=variables, context_value={"site": None})
        )
        assert fast.errors is None and fast.data == reference.data, variables
        assert repr(fast.data) == repr(reference.data), variables
        counts.append(len(compiled))
    assert counts[0] > 0
    assert counts[1] > counts[0] and counts[2] > counts[1]  # new p, new withOwner: new plans
    assert counts[3] == counts[2]  # only the root field's keys changed: nothing compiled
