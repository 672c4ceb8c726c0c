"""Page plans kept between requests (issue 17): the same query text makes the same plans, so a hub that
asks the same page with new cursors compiles them once. Must not hold anything of a request but the
parsed document (strawberry's ParserCache hands every request of one text the same document).

A plan depends on the document and on the variables that reach past the root fields: `@skip`/`@include`
conditions and the arguments of relations. Variables only root fields read (filter, first, after) don't
change a plan, so they are not part of the key.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
)

PlansOf = dict[tuple[str, tuple[int, ...]], Any]  # (type name, field nodes' ids) -> Plan

_MAX_DOCUMENTS = 256
_cache: OrderedDict[tuple[Any, ...], tuple[Any, OperationDefinitionNode, PlansOf]] = OrderedDict()
_relevant: OrderedDict[int, tuple[OperationDefinitionNode, tuple[str, ...]]] = OrderedDict()


def plans_for(
    schema: Any, operation: OperationDefinitionNode, fragments: dict[str, Any], variables: Any
) -> PlansOf:
    """The plans made so far for this operation (as parsed) under these plan-relevant variable values;
    the caller adds to it. Least recently used documents are forgotten past a bound."""
    relevant = _relevant_variables(operation, fragments)
    coerced = getattr(variables, "coerced", variables) or {}
    values = tuple((name, repr(coerced.get(name))) for name in relevant)
    key = (id(schema), id(operation), values)
    found = _cache.get(key)
    if found is not None and found[0] is schema and found[1] is operation:
        _cache.move_to_end(key)
        return found[2]
    plans: PlansOf = {}
    _cache[key] = (schema, operation, plans)  # both kept alive: their ids stay their own
    while len(_cache) > _MAX_DOCUMENTS:
        _cache.popitem(last=False)
    return plans


def _relevant_variables(operation: OperationDefinitionNode, fragments: dict[str, Any]) -> tuple[str, ...]:
    found = _relevant.get(id(operation))
    if found is not None and found[0] is operation:
        return found[1]
    names: set[str] = set()
    _walk(operation.selection_set, True, fragments, names, set())
    relevant = tuple(sorted(names))
    _relevant[id(operation)] = (operation, relevant)
    while len(_relevant) > _MAX_DOCUMENTS:
        _relevant.popitem(last=False)
    return relevant


def _walk(
    selection_set: SelectionSetNode | None,
    at_root: bool,
    fragments: dict[str, Any],
    names: set[str],
    seen: set[tuple[str, bool]],
) -> None:
    """Add to `names` each variable a directive or a non-root field's argument reads."""
    if selection_set is None:
        return
    for selection in selection_set.selections:
        for directive in selection.directives or ():
            for argument in directive.arguments or ():
                _variables(argument.value, names)
        if isinstance(selection, FieldNode):
            if not at_root:
                for argument in selection.arguments or ():
                    _variables(argument.value, names)
            _walk(selection.selection_set, False, fragments, names, seen)
        elif isinstance(selection, InlineFragmentNode):
            _walk(selection.selection_set, at_root, fragments, names, seen)
        elif isinstance(selection, FragmentSpreadNode):
            _spread(selection, at_root, fragments, names, seen)


def _spread(
    spread: FragmentSpreadNode,
    at_root: bool,
    fragments: dict[str, Any],
    names: set[str],
    seen: set[tuple[str, bool]],
) -> None:
    name = spread.name.value
    if (name, at_root) in seen:
        return
    seen.add((name, at_root))
    fragment = fragments.get(name)
    definition = getattr(fragment, "definition", fragment)  # graphql-core 3.3: FragmentDetails
    for argument in getattr(spread, "arguments", None) or ():  # fragment arguments: plan-relevant
        _variables(argument.value, names)
    _walk(getattr(definition, "selection_set", None), at_root, fragments, names, seen)


def _variables(value: Any, names: set[str]) -> None:
    if isinstance(value, VariableNode):
        names.add(value.name.value)
    elif isinstance(value, ListValueNode):
        for item in value.values:
            _variables(item, names)
    elif isinstance(value, ObjectValueNode):
        for field in value.fields:
            _variables(field.value, names)
