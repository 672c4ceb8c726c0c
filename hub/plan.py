"""Planning: the query a site receives for one root field of a hub query. Pure; no network.

Only what the caller selected under `node` is forwarded (with the fragments and variables it
uses); the connection's envelope (cursor, pageInfo, totalCount) is always asked for in one fixed
shape, because the hub needs it to merge and page.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    NameNode,
    OperationDefinitionNode,
    SelectionNode,
    SelectionSetNode,
    VariableNode,
    print_ast,
)
from graphql.language import Visitor, visit

# The hub's own __typename, under an alias a caller cannot collide with by accident; stripped again.
TYPENAME_KEY = "mxhub_typename"
TYPENAME = FieldNode(alias=NameNode(value=TYPENAME_KEY), name=NameNode(value="__typename"))


@dataclass(frozen=True, slots=True)
class ForwardedQuery:
    text: str
    variables: dict[str, Any]


# The text a connection forwards, by the identity of the caller's nodes (issue 17): the hub's document
# cache hands every request with the same query text the same nodes, and every site of a request gets
# the same text, so printing it once saves a print_ast of the whole selection per site per request.
# The nodes are held in the entry, so their ids cannot be reused by other nodes while it is cached.
_TEXTS: OrderedDict[tuple[Any, ...], tuple[tuple[Any, ...], str, tuple[str, ...]]] = OrderedDict()
_TEXTS_MAX = 256


def _connection_text(
    root_field: str,
    filter_type: str,
    field_nodes: list[FieldNode],
    fragments: dict[str, FragmentDefinitionNode],
    operation: OperationDefinitionNode,
    with_nodes: bool,
    ordered: bool,
    count_kind: bool = False,
) -> tuple[str, tuple[str, ...]]:
    """(text, variables it uses) of plan_connection's query; values are not part of it."""
    held = (tuple(field_nodes), operation, tuple(fragments.values()))
    key = (
        root_field,
        filter_type,
        tuple(id(f) for f in field_nodes),
        id(operation),
        tuple((name, id(f)) for name, f in fragments.items()),
        with_nodes,
        ordered,
        count_kind,
    )
    hit = _TEXTS.get(key)
    if hit is not None:
        _TEXTS.move_to_end(key)
        return hit[1], hit[2]
    node_sel: list[SelectionNode] = [TYPENAME]
    if with_nodes:
        for field in field_nodes:
            node_sel.extend(_node_selections(field.selection_set, fragments, ("edges", "node")))
    frag_defs, used = _closure(node_sel, fragments)
    var_defs = [f"$mxhub_filter: {filter_type}", "$mxhub_first: Int", "$mxhub_after: String"]
    order_arg = ""
    if ordered:
        var_defs.append("$mxhub_order: DataCollectionOrder")
        order_arg = ", orderBy: $mxhub_order"
    var_defs += _variable_definitions(operation, used)
    body = print_ast(SelectionSetNode(selections=tuple(node_sel)))
    text = (
        f"query HubFanOut({', '.join(var_defs)}) {{\n"
        f"  {root_field}(filter: $mxhub_filter, first: $mxhub_first, after: $mxhub_after{order_arg}) {{\n"
        f"    totalCount{' totalCountKind' if count_kind else ''} pageInfo {{ hasNextPage }}"
        f" edges {{ cursor{' node ' + body if with_nodes else ''} }}\n"
        f"  }}\n}}\n" + "".join("\n" + print_ast(f) for f in frag_defs)
    )
    _TEXTS[key] = (held, text, tuple(used))
    if len(_TEXTS) > _TEXTS_MAX:
        _TEXTS.popitem(last=False)
    return text, tuple(used)


def _node_selections(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    path: tuple[str, ...],
) -> list[SelectionNode]:
    """Selections found at `path` (field names) below `selection_set`, through fragments."""
    if selection_set is None:
        return []
    found: list[SelectionNode] = []
    for sel in selection_set.selections:
        if isinstance(sel, FieldNode):
            if sel.name.value == path[0]:
                if len(path) == 1:
                    if sel.selection_set is not None:
                        found.extend(sel.selection_set.selections)
                else:
                    found.extend(_node_selections(sel.selection_set, fragments, path[1:]))
        elif isinstance(sel, InlineFragmentNode):
            found.extend(_node_selections(sel.selection_set, fragments, path))
        elif isinstance(sel, FragmentSpreadNode):
            frag = fragments.get(sel.name.value)
            if frag is not None:
                found.extend(_node_selections(frag.selection_set, fragments, path))
    return found


class _Usage(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.fragments: set[str] = set()
        self.variables: set[str] = set()

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_: Any) -> None:
        self.fragments.add(node.name.value)

    def enter_variable(self, node: VariableNode, *_: Any) -> None:
        self.variables.add(node.name.value)


def _closure(
    selections: Iterable[SelectionNode], fragments: dict[str, FragmentDefinitionNode]
) -> tuple[list[FragmentDefinitionNode], set[str]]:
    """Fragment definitions and variable names used by `selections`, transitively."""
    usage = _Usage()
    visit(SelectionSetNode(selections=tuple(selections)), usage)
    names: list[str] = []
    pending = list(usage.fragments)
    while pending:
        name = pending.pop()
        if name in names or name not in fragments:
            continue
        names.append(name)
        inner = _Usage()
        visit(fragments[name], inner)
        usage.variables |= inner.variables
        pending.extend(inner.fragments)
    return [fragments[n] for n in sorted(names)], usage.variables


def _variable_definitions(operation: OperationDefinitionNode, used: set[str]) -> list[str]:
    return [print_ast(v) for v in operation.variable_definitions or () if v.variable.name.value in used]


def plan_connection(
    root_field: str,
    filter_type: str,
    field_nodes: list[FieldNode],
    fragments: dict[str, FragmentDefinitionNode],
    operation: OperationDefinitionNode,
    variable_values: dict[str, Any],
    site_filter: dict[str, Any] | None,
    first: int,
    after: str | None,
    with_nodes: bool = True,
    order_by: dict[str, Any] | None = None,
    count_kind: bool = False,
) -> ForwardedQuery:
    """The site query for one root connection; `with_nodes=False` asks only for positions (cursors).
    `order_by` (dataCollections(orderBy:), since 1.2.0) is forwarded only when given, so a site that
    predates it is asked the query it knows for the default order; `count_kind` asks whether the site's
    totalCount is exact (totalCountKind, since 1.2.0; a site that predates it counts exactly)."""
    text, used = _connection_text(
        root_field,
        filter_type,
        field_nodes,
        fragments,
        operation,
        with_nodes,
        order_by is not None,
        count_kind,
    )
    variables = {k: variable_values.get(k) for k in used if k in variable_values}
    variables.update({"mxhub_filter": site_filter, "mxhub_first": first, "mxhub_after": after})
    if order_by is not None:
        variables["mxhub_order"] = order_by
    return ForwardedQuery(text=text, variables=variables)


def selects_nodes(field_nodes: list[FieldNode], fragments: dict[str, FragmentDefinitionNode]) -> bool:
    return any(_node_selections(f.selection_set, fragments, ("edges", "node")) for f in field_nodes)


def plan_node(
    field_nodes: list[FieldNode],
    fragments: dict[str, FragmentDefinitionNode],
    operation: OperationDefinitionNode,
    variable_values: dict[str, Any],
    global_id: str,
) -> ForwardedQuery:
    sel: list[SelectionNode] = [TYPENAME]
    for field in field_nodes:
        if field.selection_set is not None:
            sel.extend(field.selection_set.selections)
    frag_defs, used = _closure(sel, fragments)
    var_defs = ["$mxhub_id: ID!"] + _variable_definitions(operation, used)
    body = print_ast(SelectionSetNode(selections=tuple(sel)))
    text = f"query HubNode({', '.join(var_defs)}) {{\n  node(id: $mxhub_id) {body}\n}}\n" + "".join(
        "\n" + print_ast(f) for f in frag_defs
    )
    variables = {k: variable_values.get(k) for k in used if k in variable_values}
    variables["mxhub_id"] = global_id
    return ForwardedQuery(text=text, variables=variables)
