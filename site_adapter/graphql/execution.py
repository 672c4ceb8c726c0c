"""A page's plain fields completed in one loop (issue 17): graphql-core's executor, through strawberry's
execution context, with a fast path for leaf fields that have no resolver, arguments or middleware.

A page of 100 collections asks ~6,000 such fields; graphql-core runs each through execute_field (a
ResolveInfo, a Path, strawberry's basic-field wrapper, complete_value), which was most of the site's time.
Here such a field is `getattr` plus its type's output coercion, exactly what the slow path computes; a
value the fast path cannot complete (null for a non-null field, a coercion error) goes the slow way, so
errors keep their paths and messages. Everything else (relations, arguments, lists, abstract types)
is untouched. It must not change what any field answers: the contract suite runs through it.

graphql-core's `execute_fields` is an overridable method of ExecutionContext (the class strawberry lets a
schema choose: `execution_context_class`); tests/site_adapter/test_execution.py pins its signature.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    Undefined,
    is_leaf_type,
)
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

# (response name, attribute, coerce, non-null) for a plain field; None for a field that runs the slow way
_Step = tuple[str, str | None, Any, bool]


def _plain_attribute(field_def: Any) -> str | None:
    """The attribute a field reads when strawberry resolves it as a basic field (no resolver, no field
    extensions: strawberry marks that wrapper `_is_default`), else None."""
    resolve = field_def.resolve
    if resolve is None or not getattr(resolve, "_is_default", False) or field_def.args:
        return None
    strawberry_field = field_def.extensions.get("strawberry-definition") if field_def.extensions else None
    return getattr(strawberry_field, "python_name", None)


class PageExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context with plain leaf fields completed without per-field machinery."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # By the grouped field set's identity: graphql-core memoises collect_subfields per request, so the
        # 100 items of a page share one set and one plan. The set is kept to pin its id.
        self._plans: dict[tuple[str, int], tuple[Any, list[_Step]]] = {}

    def _plan(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> list[_Step]:
        key = (parent_type.name, id(grouped_field_set))
        found = self._plans.get(key)
        if found is not None:
            return found[1]
        steps: list[_Step] = []
        fields = parent_type.fields
        for response_name, details in grouped_field_set.items():
            node = details[0].node
            field_def = fields.get(node.name.value)
            attribute = None
            if field_def is not None and not node.arguments and not node.directives:
                attribute = _plain_attribute(field_def)
            field_type = field_def.type if field_def is not None else None
            non_null = isinstance(field_type, GraphQLNonNull)
            named = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
            if attribute is not None and is_leaf_type(named):
                leaf: GraphQLLeafType = named
                steps.append((response_name, attribute, leaf.coerce_output_value, non_null))
            else:
                steps.append((response_name, None, None, non_null))
        self._plans[key] = (grouped_field_set, steps)
        return steps

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any = None,
    ) -> Any:
        if self.middleware_manager is not None and self.middleware_manager.middlewares:
            # A resolve-hook extension must see every field: no fast path.
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        steps = self._plan(parent_type, grouped_field_set)
        results, slow = _complete_plain(steps, source_value, grouped_field_set)
        if not slow:
            return results
        if len(slow) == len(steps):
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        rest = super().execute_fields(parent_type, source_value, path, slow, position_context)
        if self.is_awaitable(rest):

            async def merged() -> dict[str, Any]:
                done = await rest
                return _in_order(steps, results, done)

            return merged()
        done: dict[str, Any] = rest  # type: ignore[assignment]  # not awaitable: a dict
        return _in_order(steps, results, done)


def _complete_plain(
    steps: list[_Step], source_value: Any, grouped_field_set: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the plain fields completed, the field set of those left for graphql-core's own execution)."""
    results: dict[str, Any] = {}
    slow: dict[str, Any] = {}
    for response_name, attribute, coerce, non_null in steps:
        if attribute is None:
            slow[response_name] = grouped_field_set[response_name]
            continue
        value = getattr(source_value, attribute, Undefined)
        if value is None and not non_null:
            results[response_name] = None
            continue
        try:
            coerced = Undefined if value is None or value is Undefined else coerce(value)
        except Exception:  # the slow path raises it again, as a located GraphQL error
            coerced = Undefined
        if coerced is Undefined or coerced is None:
            slow[response_name] = grouped_field_set[response_name]
        else:
            results[response_name] = coerced
    return results, slow


def _in_order(steps: list[_Step], fast: dict[str, Any], slow: dict[str, Any]) -> dict[str, Any]:
    """Both halves in the document's order (the response's key order is the selection's: spec 7.2.2)."""
    merged: dict[str, Any] = {}
    for response_name, *_ in steps:
        if response_name in fast:
            merged[response_name] = fast[response_name]
        elif response_name in slow:
            merged[response_name] = slow[response_name]
    return merged
