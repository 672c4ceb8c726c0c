"""Planning for a site of another minor version (issue 21): the forwarded document without the fields the
site lacks, and whether the caller's arguments and filter need something it lacks. Pure; no network.

A nullable field the site lacks is removed (the hub answers it null). A non-null one cannot be null, so
the nearest nullable field above it is removed instead (GraphQL's null propagation, done before asking);
when that would be the record itself, the site cannot answer and is left out (docs/facility.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from graphql import (
    DefinitionNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    NameNode,
    OperationDefinitionNode,
    SelectionNode,
    SelectionSetNode,
    VariableNode,
    Visitor,
    get_named_type,
    is_input_object_type,
    is_list_type,
    is_non_null_type,
    parse,
    print_ast,
    visit,
)

from mx_hub.capabilities import Capabilities

# Input fields whose value restricts nothing, as null does (the SDL's descriptions say so).
NEUTRAL: Mapping[str, Any] = {"DataCollectionFilter.mine": False}
PLACEHOLDER = FieldNode(name=NameNode(value="__typename"))  # keeps a selection set that lost every field


class Unanswerable(Exception):  # noqa: N818 - a planning outcome, not a failure
    """The site cannot answer this query: `needs` names what it lacks (Type.field, Input.field, Type.field(arg))."""

    def __init__(self, needs: list[str]) -> None:
        super().__init__(", ".join(needs))
        self.needs = needs


@dataclass
class Pruned:
    """The document to send, and the fields removed (Type.field) with where they were (response paths)."""

    text: str
    fields: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)


class _NullParent(Exception):  # noqa: N818 - propagation, not a failure
    def __init__(self, lacked: str) -> None:
        self.lacked = lacked


def filter_needs(
    schema: GraphQLSchema, input_type: str, value: Any, caps: Capabilities
) -> tuple[list[str], Any]:
    """(input fields the site lacks that `value` gives a restricting value, `value` without the lacking
    fields that do not restrict): null means "no restriction", and so does each field's NEUTRAL value
    (`mine: false`), so leaving such a field out asks the same."""
    type_ = schema.type_map.get(input_type)
    if not isinstance(value, Mapping) or type_ is None or not is_input_object_type(type_):
        return [], value
    needs: list[str] = []
    kept: dict[str, Any] = {}
    fields: Mapping[str, Any] = getattr(type_, "fields", {})
    for key, item in value.items():
        name = f"{input_type}.{key}"
        if name in caps.missing_inputs:
            if item is not None and item != NEUTRAL.get(name):
                needs.append(name)
            continue
        inner = fields.get(key)
        if inner is None:
            kept[key] = item
            continue
        named = get_named_type(inner.type)
        items = item if is_list_type(inner.type) or isinstance(item, list) else [item]
        sub_needs = [filter_needs(schema, named.name, i, caps) for i in items] if item is not None else []
        for found, _ in sub_needs:
            needs.extend(n for n in found if n not in needs)
        if isinstance(item, list):
            kept[key] = [pruned for _, pruned in sub_needs]
        else:
            kept[key] = sub_needs[0][1] if sub_needs else item
    return needs, kept


@lru_cache(maxsize=256)
def prune_document(
    text: str, schema: GraphQLSchema, caps: Capabilities, root_path: tuple[str, ...], root_type: str
) -> Pruned:
    """`text` (a forwarded query) without what the site lacks below the selection at `root_path` (field
    names from the operation, e.g. dataCollections.edges.node), whose type is `root_type`.

    Cached (issue 17): the same forwarded text and the same site capabilities give the same document, and
    the hub asked it once per older site per request; the Pruned answered is shared: read it only."""
    document = parse(text, no_location=True)
    walker = _Walker(schema, caps, document)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    new_op = walker.descend(operation, operation.selection_set, root_path, root_type)
    definitions = [
        new_op
        if d is operation
        else walker.fragments.get(d.name.value, d)
        if isinstance(d, FragmentDefinitionNode)
        else d
        for d in document.definitions
    ]
    if not walker.fields:
        return Pruned(text)
    trimmed = _without_unused(new_op, [d for d in definitions if isinstance(d, FragmentDefinitionNode)])
    return Pruned(print_ast(DocumentNode(definitions=trimmed)), walker.fields, walker.paths)


def _without_unused(
    operation: OperationDefinitionNode, fragments: list[FragmentDefinitionNode]
) -> tuple[DefinitionNode, ...]:
    """The operation and the fragments it still spreads, declaring only the variables still used: a
    removed field may have been the only user of a fragment or a variable, and GraphQL's validation
    (NoUnusedFragments, NoUnusedVariables) would refuse the whole document at the site."""
    by_name = {f.name.value: f for f in fragments}
    spreads, variables = _uses(operation.selection_set)
    kept: dict[str, FragmentDefinitionNode] = {}
    todo = list(spreads)
    while todo:
        name = todo.pop()
        if name in kept or name not in by_name:
            continue
        kept[name] = by_name[name]
        inner_spreads, inner_variables = _uses(by_name[name].selection_set)
        todo.extend(inner_spreads)
        variables |= inner_variables
    declared = tuple(v for v in operation.variable_definitions or () if v.variable.name.value in variables)
    new_op = OperationDefinitionNode(
        operation=operation.operation,
        name=operation.name,
        variable_definitions=declared,
        directives=operation.directives,
        selection_set=operation.selection_set,
    )
    return (new_op, *(f for f in fragments if f.name.value in kept))


def _uses(selection_set: SelectionSetNode) -> tuple[set[str], set[str]]:
    """Fragment names spread and variable names used in `selection_set` (not following spreads)."""
    spreads: set[str] = set()
    variables: set[str] = set()

    class Collect(Visitor):
        def enter_fragment_spread(self, node: FragmentSpreadNode, *_: Any) -> None:
            spreads.add(node.name.value)

        def enter_variable(self, node: VariableNode, *_: Any) -> None:
            variables.add(node.name.value)

    visit(selection_set, Collect())
    return spreads, variables


class _Walker:
    def __init__(self, schema: GraphQLSchema, caps: Capabilities, document: DocumentNode) -> None:
        self.schema = schema
        self.caps = caps
        self.source = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self.fragments: dict[str, FragmentDefinitionNode] = {}
        self.fields: list[str] = []
        self.paths: list[str] = []

    def descend(
        self, op: OperationDefinitionNode, sel: SelectionSetNode, path: tuple[str, ...], root_type: str
    ) -> OperationDefinitionNode:
        """The operation with the selection set at `path` pruned (every step is a plain field)."""

        def rebuild(selection_set: SelectionSetNode, rest: tuple[str, ...], at: str) -> SelectionSetNode:
            out: list[SelectionNode] = []
            for s in selection_set.selections:
                if isinstance(s, FieldNode) and s.name.value == rest[0] and s.selection_set is not None:
                    key = _key(s)
                    here = f"{at}.{key}" if at else key
                    if len(rest) == 1:
                        try:
                            inner = self.selection_set(s.selection_set, self._type(root_type), here)
                        except _NullParent as null:
                            raise Unanswerable([null.lacked]) from None
                    else:
                        inner = rebuild(s.selection_set, rest[1:], here)
                    out.append(_with_selection(s, inner))
                else:
                    out.append(s)
            return SelectionSetNode(selections=tuple(out))

        return OperationDefinitionNode(
            operation=op.operation,
            name=op.name,
            variable_definitions=op.variable_definitions,
            directives=op.directives,
            selection_set=rebuild(sel, path, ""),
        )

    def _type(self, name: str) -> GraphQLNamedType:
        found = self.schema.type_map.get(name)
        if found is None:
            raise KeyError(name)
        return found

    def selection_set(self, sel: SelectionSetNode, parent: GraphQLNamedType, at: str) -> SelectionSetNode:
        """`sel` at type `parent` without what the site lacks; _NullParent when a non-null field is lacking."""
        out: list[SelectionNode] = []
        for s in sel.selections:
            kept = self._selection(s, parent, at)
            if kept is not None:
                out.append(kept)
        if not out:
            out.append(PLACEHOLDER)
        return SelectionSetNode(selections=tuple(out))

    def _selection(self, s: SelectionNode, parent: GraphQLNamedType, at: str) -> SelectionNode | None:
        if isinstance(s, InlineFragmentNode):
            cond = self._type(s.type_condition.name.value) if s.type_condition else parent
            inner = self.selection_set(s.selection_set, cond, at)
            return InlineFragmentNode(
                type_condition=s.type_condition, directives=s.directives, selection_set=inner
            )
        if isinstance(s, FragmentSpreadNode):
            self._fragment(s.name.value, at)
            return s
        if not isinstance(s, FieldNode) or s.name.value.startswith("__"):
            return s
        return self._field(s, parent, at)

    def _field(self, s: FieldNode, parent: GraphQLNamedType, at: str) -> FieldNode | None:
        name = f"{parent.name}.{s.name.value}"
        here = f"{at}.{_key(s)}"
        definition = getattr(parent, "fields", {}).get(s.name.value)
        if name in self.caps.missing_fields:
            if definition is not None and is_non_null_type(definition.type):
                raise _NullParent(name)
            self._removed(name, here)
            return None
        lacking = [
            f"{name}({a.name.value})"
            for a in s.arguments or ()
            if f"{name}({a.name.value})" in self.caps.missing_inputs
        ]
        if lacking:
            raise Unanswerable(lacking)
        if s.selection_set is None or definition is None:
            return s
        try:
            inner = self.selection_set(s.selection_set, get_named_type(definition.type), here)
        except _NullParent as null:
            if is_non_null_type(definition.type):
                raise
            self._removed(null.lacked, here)
            return None
        return _with_selection(s, inner)

    def _fragment(self, name: str, at: str) -> None:
        frag = self.source.get(name)
        if frag is None or name in self.fragments:
            return
        inner = self.selection_set(frag.selection_set, self._type(frag.type_condition.name.value), at)
        self.fragments[name] = FragmentDefinitionNode(
            name=frag.name,
            variable_definitions=frag.variable_definitions,
            type_condition=frag.type_condition,
            directives=frag.directives,
            selection_set=inner,
        )

    def _removed(self, name: str, path: str) -> None:
        if name not in self.fields:
            self.fields.append(name)
        self.paths.append(path)


def _key(s: FieldNode) -> str:
    return s.alias.value if s.alias is not None else s.name.value


def _with_selection(s: FieldNode, inner: SelectionSetNode) -> FieldNode:
    return FieldNode(
        alias=s.alias, name=s.name, arguments=s.arguments, directives=s.directives, selection_set=inner
    )
