"""What the page executor does for each field of a selection (issue 17), worked out once per request per
selection: read an attribute, call a plain method, batch a relation over the whole level, or leave the
field to graphql-core. Must not run a resolver or read a value: that is execution.py's job.

A field is compiled only when compiling cannot change its answer: a leaf read the way strawberry's basic
field reads it, a sync resolver with no `info` and no arguments, or a relation whose field names a batch
function (site_adapter/graphql/batches.py). Anything else (abstract types, introspection, directives,
field extensions, non-scalar arguments, lists of lists) stays with graphql-core, item by item.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from graphql import (
    GraphQLBoolean,
    GraphQLFloat,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLString,
    is_leaf_type,
    is_object_type,
)

from site_adapter.graphql.batches import PAGE_BATCH


class Source(Enum):
    TYPENAME = 1  # the parent type's name
    ATTRIBUTE = 2  # getattr(item, name): strawberry's basic field
    METHOD = 3  # a sync resolver of the item alone
    BATCH = 4  # a batch function over every item of the level
    GRAPHQL = 5  # graphql-core, item by item


@dataclass(slots=True)
class Step:
    """One response key of a selection over objects of one type."""

    name: str  # the response name (an alias if given)
    field_name: str
    source: Source
    details: Any  # graphql-core's FieldDetailsList: for errors and the item-by-item way
    field_type: GraphQLOutputType | None = None
    attribute: str | None = None  # ATTRIBUTE
    call: Callable[..., Any] | None = None  # METHOD: fn(item); BATCH: fn(site context, items, **args)
    args: dict[str, Any] = field(default_factory=dict)  # BATCH: Python-named arguments
    non_null: bool = False
    is_list: bool = False
    item_non_null: bool = False
    item_type: GraphQLOutputType | None = None  # a list's item type, as graphql-core names it in errors
    coerce: Callable[[Any], Any] | None = None  # a leaf's output coercion
    exact: bool = False  # the coercion of a builtin scalar: never null for a value
    leaf_type: Any = None
    sub: Plan | None = None  # an object's own selection


@dataclass(slots=True)
class Plan:
    """A selection over objects of `parent_type`, in the document's order (the response's key order)."""

    parent_type: GraphQLObjectType
    steps: list[Step]
    sync: bool  # no batch and no graphql-core step anywhere below: the plan runs without awaiting
    compiled: bool  # some step is not GRAPHQL: worth running here

    def slow_fields(self) -> dict[str, Any]:
        """The grouped field set of the GRAPHQL steps, for graphql-core."""
        return {s.name: s.details for s in self.steps if s.source is Source.GRAPHQL}


def compile_plan(
    parent_type: GraphQLObjectType,
    grouped_field_set: Any,
    sub_plan: Callable[[GraphQLObjectType, Any], Plan | None],
    variables: Any,
    argument_values: Callable[[Any, Any, Any], dict[str, Any]],
) -> Plan:
    """The plan of `grouped_field_set` over `parent_type`. `sub_plan(type, details)` is a field's
    sub-selection's plan (None when graphql-core must run it: a deferred fragment);
    `argument_values(field_def, node, variables)` is graphql-core's argument coercion."""
    steps: list[Step] = []
    for response_name, details in grouped_field_set.items():
        steps.append(_step(parent_type, response_name, details, sub_plan, variables, argument_values))
    sync = all(
        s.source not in (Source.BATCH, Source.GRAPHQL) and (s.sub is None or s.sub.sync) for s in steps
    )
    compiled = any(s.source is not Source.GRAPHQL for s in steps)
    return Plan(parent_type=parent_type, steps=steps, sync=sync, compiled=compiled)


def _step(
    parent_type: GraphQLObjectType,
    response_name: str,
    details: Any,
    sub_plan: Callable[[GraphQLObjectType, Any], Plan | None],
    variables: Any,
    argument_values: Callable[[Any, Any, Any], dict[str, Any]],
) -> Step:
    node = details[0].node
    name = node.name.value
    slow = Step(response_name, name, Source.GRAPHQL, details)
    if name == "__typename":
        return Step(response_name, name, Source.TYPENAME, details)
    field_def = parent_type.fields.get(name)
    if field_def is None or any(d.node.directives or d.fragment_variable_values for d in details):
        return slow  # introspection, an unknown field (graphql-core omits it), a directive left after @skip
    strawberry_field = (field_def.extensions or {}).get("strawberry-definition")
    if (
        strawberry_field is None
        or strawberry_field.extensions
        or getattr(strawberry_field, "permission_classes", None)
    ):
        return slow
    step = _source(slow, field_def, strawberry_field, node, variables, argument_values)
    if step is None:
        return slow
    return _shape(step, field_def.type, sub_plan)


def _source(
    slow: Step,
    field_def: Any,
    strawberry_field: Any,
    node: Any,
    variables: Any,
    argument_values: Callable[[Any, Any, Any], dict[str, Any]],
) -> Step | None:
    batch = (strawberry_field.metadata or {}).get(PAGE_BATCH)
    resolver = strawberry_field.base_resolver
    if batch is not None:
        if not all(_scalar(a.type) for a in field_def.args.values()):
            return None  # strawberry converts input objects and enums: leave them to it
        try:
            given = argument_values(field_def, node, variables)
        except Exception:  # noqa: BLE001 - graphql-core reports a bad argument itself, in place
            return None
        python_names = {a.graphql_name or a.python_name: a.python_name for a in strawberry_field.arguments}
        args = {python_names.get(k, k): v for k, v in given.items()}
        return Step(slow.name, slow.field_name, Source.BATCH, slow.details, call=batch, args=args)
    if field_def.args or node.arguments:
        return None
    resolve = field_def.resolve
    if resolver is None:
        if resolve is None or not getattr(resolve, "_is_default", False):
            return None
        attribute = strawberry_field.python_name
        return Step(slow.name, slow.field_name, Source.ATTRIBUTE, slow.details, attribute=attribute)
    if (
        resolver.is_async
        or resolver.arguments
        or resolver.self_parameter is None  # strawberry passes the item as `self`, and nothing else
        or resolver.info_parameter is not None
        or resolver.root_parameter is not None
        or resolver.parent_parameter is not None
    ):
        return None
    return Step(slow.name, slow.field_name, Source.METHOD, slow.details, call=resolver.wrapped_func)


_MAX_INT, _MIN_INT = 2**31 - 1, -(2**31)  # GraphQL Int: a signed 32-bit integer (spec 3.5.1)


def _coercion(leaf: Any) -> Callable[[Any], Any]:
    """The leaf's output coercion, with the common case answered first: a value already of the scalar's
    own Python type is what graphql-core's coercion returns unchanged (graphql/type/scalars.py)."""
    coerce = leaf.coerce_output_value
    if leaf is GraphQLFloat:

        def float_(v: Any) -> Any:
            return v if type(v) is float and -_INF < v < _INF else coerce(v)

        return float_
    if leaf is GraphQLInt:

        def int_(v: Any) -> Any:
            return v if type(v) is int and _MIN_INT <= v <= _MAX_INT else coerce(v)

        return int_
    if leaf in (GraphQLString, GraphQLID):

        def str_(v: Any) -> Any:
            return v if type(v) is str else coerce(v)

        return str_
    if leaf is GraphQLBoolean:

        def bool_(v: Any) -> Any:
            return v if type(v) is bool else coerce(v)

        return bool_
    return coerce


_INF = float("inf")


def _scalar(t: Any) -> bool:
    while isinstance(t, GraphQLNonNull):
        t = t.of_type
    return isinstance(t, GraphQLScalarType)


def _shape(step: Step, field_type: Any, sub_plan: Callable[[GraphQLObjectType, Any], Plan | None]) -> Step:
    """Fill in how `step`'s value is completed; GRAPHQL when graphql-core must complete it."""
    slow = Step(step.name, step.field_name, Source.GRAPHQL, step.details)
    step.field_type = field_type
    t = field_type
    if isinstance(t, GraphQLNonNull):
        step.non_null, t = True, t.of_type
    if isinstance(t, GraphQLList):
        step.is_list, t = True, t.of_type
        step.item_type = t
        if isinstance(t, GraphQLNonNull):
            step.item_non_null, t = True, t.of_type
        if isinstance(t, GraphQLList):
            return slow
    if is_leaf_type(t):
        step.leaf_type = t
        step.coerce = _coercion(t)
        step.exact = t in (GraphQLFloat, GraphQLInt, GraphQLString, GraphQLID, GraphQLBoolean)
        return step
    if not is_object_type(t):
        return slow  # interfaces and unions: graphql-core resolves the runtime type
    found = sub_plan(t, step.details)
    if found is None:
        return slow
    step.sub = found
    return step
